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


def read_published_table(path: Path) -> pd.DataFrame:
    """One of the files of the paper's reporting (``data/published_percentages.csv``,
    ``data/published_reporting.csv``), every cell as text (empty cells as "")."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)


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


#: The calibration bounds of the default synthetic cohort: (quantity, cohort) -> (absolute bound, check). The
#: generator was built so that the synthetic cohort meets them (``helpers.synthetic.check``); the published-vs-
#: reproduced verdicts (``helpers.results.ledger.verdicts``) use the same bounds. Counts before matching are
#: exact; Kaplan-Meier rates before matching within 3 percentage points; follow-up within 3 months; after
#: matching, which the analysis re-derives, a looser "near" bound.
CALIBRATION_BOUNDS: dict[tuple[str, str], tuple[float, str]] = {
    **{(q, "before"): (0.0, "exact") for q in ("n_patients", "table1_n", "table2_n", "n_progression", "n_death",
                                               "n_infield_recurrence", "tox_patients")},
    ("km_survival", "before"): (0.03, "within 3 points"),
    **{(f"followup_{m}_months", "before"): (3.0, "within 3 months") for m in ("median", "min", "max")},
    ("n_patients", "after"): (5.0, "near"),
    ("table1_n", "after"): (5.0, "near"),
    ("n_matched", "after"): (5.0, "near"),
    ("km_survival", "after"): (0.08, "near"),
    ("table2_n", "after"): (3.0, "near"),
}


def calibration_bound(quantity: str, cohort: str) -> tuple[float, str] | None:
    """The (bound, check) of ``quantity`` in ``cohort`` from :data:`CALIBRATION_BOUNDS`, or None: re-derived by
    the analysis (p-values, SMDs, hazard ratios), no bound."""
    return CALIBRATION_BOUNDS.get((quantity, cohort))
