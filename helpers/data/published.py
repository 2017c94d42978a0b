"""The ledger of published numbers (``data/published.csv``).

The paper's numbers are typed once, into that file, with the table or
section they come from; everything else (the synthetic-cohort check, the
published-vs-reproduced tables, the manuscript) reads them from here. A
number is keyed by ``quantity, cohort, arm, endpoint, variable, level,
months`` (empty where not applicable); ``value`` is the number and
``source`` where the paper gives it.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from helpers.paths import PUBLISHED_CSV


def load_published(path: Path = PUBLISHED_CSV) -> pd.DataFrame:
    """Read the ledger; empty key cells become empty strings, ``months`` an integer or ``""``."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df["value"] = df["value"].astype(float)
    return df


def published_value(ledger: pd.DataFrame, quantity: str, **keys: object) -> float:
    """The one published value matching ``quantity`` and the given keys.

    >>> ledger = load_published()
    >>> published_value(ledger, "km_survival", cohort="after", arm="SBRT", endpoint="OS", months=60)
    0.618
    """
    mask = ledger["quantity"] == quantity
    for key, val in keys.items():
        mask &= ledger[key] == str(val)
    hits = ledger.loc[mask, "value"]
    if len(hits) != 1:
        raise KeyError(f"{len(hits)} published values match {quantity} {keys}")
    return float(hits.iloc[0])
