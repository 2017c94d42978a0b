"""Every published number beside the one this run reproduced: a join of two long tables.

The ledger ``data/published.csv`` and ``results/numbers.csv`` share their key
columns (quantity, cohort, arm, endpoint, variable, level, months). A
published row joins the number with the same key, except for three
spellings of the paper's that the join translates (and nothing else):

- ``<quantity>_ci_lower`` / ``_ci_upper``: the CI bound of ``<quantity>``
  (the ledger types each published number on its own row);
- ``n_progression``, ``n_death``, ``n_infield_recurrence``: rows of Table 2
  the text quotes by name;
- the ledger's short Table 2 and toxicity row names (``TABLE2_KEYS``,
  ``TOXICITY_KEYS``), which name the results' rows.

Nothing is recomputed: a reproduced value is always a row of the numbers
table, with the notebook and cell that computed it.
"""
from __future__ import annotations

import os

import numpy as np
import pandas as pd

from helpers.data.published import calibration_bound, load_published
from helpers.results.numbers import KEY_COLUMNS, NumberTable, months_key

#: Table 2 rows of the ledger -> the ``level`` of the ``table2_n`` numbers (keys of progression_patterns.csv).
TABLE2_KEYS = {"progression": "progressed", "single_organ": "single_organ", "liver": "single_liver",
               "in_field": "single_liver_in_field", "bone": "single_bone", "lung": "single_lung",
               "lymph_node": "single_lymph_node", "pelvis": "single_pelvis", "multiple_organ": "multiple_organ",
               "two_organs": "two_organs", "three_organs": "three_plus_organs", "therapy_single": "therapy_single",
               "therapy_multiple": "therapy_multiple", "therapy_conservative": "therapy_conservative",
               "death": "died"}
#: Toxicity rows of the ledger -> the ``level`` of the ``tox_patients`` numbers (keys of toxicity.csv).
TOXICITY_KEYS = {"acute_grade_1_2": "acute_grade_1_2", "acute_grade_3_plus": "acute_grade_3_plus", "rild": "rild_any",
                 "post_tace_epigastric_pain": "post_tace_term:Abdominal pain (epigastric)",
                 "post_tace_fever": "post_tace_term:Fever"}
#: Table 2 rows the text quotes by name -> their ``table2_n`` level.
NAMED_TABLE2_ROWS = {"n_progression": "progressed", "n_death": "died", "n_infield_recurrence": "single_liver_in_field"}
#: Published quantities that are the CI bound of another quantity.
BOUND_SUFFIXES = {"_ci_lower": "ci_lower", "_ci_upper": "ci_upper"}


def numbers_key(row: pd.Series) -> tuple[str, dict[str, str], str]:
    """The numbers-table quantity, keys and statistic column of one ledger row."""
    keys = {c: row[c] for c in KEY_COLUMNS[1:] if row[c] != ""}
    quantity, statistic = row["quantity"], "value"
    for suffix, stat in BOUND_SUFFIXES.items():
        if quantity.endswith(suffix):
            quantity, statistic = quantity[: -len(suffix)], stat
    if quantity in NAMED_TABLE2_ROWS:
        quantity, keys["level"] = "table2_n", NAMED_TABLE2_ROWS[quantity]
    elif quantity == "table2_n":
        keys["level"] = TABLE2_KEYS[keys["level"]]
    elif quantity == "tox_patients":
        keys["level"] = TOXICITY_KEYS[keys["level"]]
    return quantity, keys, statistic


def published_vs_reproduced(build: str | os.PathLike | None = None, ledger: pd.DataFrame | None = None) -> pd.DataFrame:
    """The ledger with ``reproduced``, ``difference``, ``results_file`` and the origin (notebook, cell) added.

    Published quantities the results have no number for (e.g. the TACE
    interval, a property of the input data) have NaN and empty origins.
    ``ledger``: another table with the columns of ``data/published.csv``
    (e.g. a user's expectations file); default the published numbers.
    """
    ledger = load_published() if ledger is None else ledger
    table = NumberTable.read(build)
    reproduced, files, notebooks, cells = [], [], [], []
    for _, row in ledger.iterrows():
        quantity, keys, statistic = numbers_key(row)
        if "months" in keys:
            keys["months"] = months_key(float(keys["months"]))
        try:
            n = table.get(quantity, **keys)
        except KeyError:
            reproduced.append(np.nan)
            files.append("")
            notebooks.append("")
            cells.append("")
            continue
        reproduced.append(getattr(n, statistic))
        files.append(n.results_file)
        notebooks.append(n.origin.notebook)
        cells.append(n.origin.cell)
    out = ledger.copy()
    out["reproduced"] = reproduced
    out["difference"] = out["reproduced"] - out["value"]
    out["results_file"] = files
    out["notebook"] = notebooks
    out["cell"] = cells
    return out.rename(columns={"value": "published"})


def agreement(comparison: pd.DataFrame, exact: float = 1e-9) -> tuple[int, int]:
    """(reproduced exactly, compared): how many published numbers were compared and how many agree to ``exact``."""
    compared = comparison[comparison["reproduced"].notna()]
    return int((compared["difference"].abs() < exact).sum()), len(compared)


#: The verdict of a ledger row (:func:`verdicts`).
WITHIN, OUTSIDE, NO_BOUND, NOT_REPRODUCED = "within", "outside", "no bound", "not reproduced"


def verdicts(comparison: pd.DataFrame, tolerances: pd.Series | None = None) -> pd.DataFrame:
    """Each row of the ledger (:func:`published_vs_reproduced`) with its ``tolerance``, ``check`` and ``verdict``.

    ``tolerances``: an absolute tolerance per row (NaN: no bound), e.g. the
    ``tolerance`` column of a user's expectations file; default the
    calibration bounds of the synthetic cohort
    (:data:`helpers.data.published.CALIBRATION_BOUNDS`), under which numbers
    the analysis re-derives (p-values, SMDs, hazard ratios and their CIs)
    have no bound. A row is ``within`` when ``|reproduced - published| <=
    tolerance`` (to 1e-9), ``outside`` otherwise, ``no bound`` without a
    tolerance and ``not reproduced`` when the run has no such number.
    """
    out = comparison.copy()
    if tolerances is None:
        bounds = [calibration_bound(q, c) for q, c in zip(out["quantity"], out["cohort"])]
        out["tolerance"] = [b[0] if b else np.nan for b in bounds]
        out["check"] = [b[1] if b else "re-derived, no bound" for b in bounds]
    else:
        out["tolerance"] = pd.to_numeric(pd.Series(tolerances, index=out.index), errors="coerce")
        out["check"] = np.where(out["tolerance"].notna(), "expectations file", "no bound")
    diff = out["difference"].abs()
    out["verdict"] = np.select(
        [out["reproduced"].isna(), out["tolerance"].isna(), diff <= out["tolerance"] + 1e-9],
        [NOT_REPRODUCED, NO_BOUND, WITHIN], OUTSIDE)
    return out


def verdict_counts(judged: pd.DataFrame) -> dict[str, int]:
    """How many rows of :func:`verdicts` have each verdict, and ``judged`` (within + outside)."""
    counts = {v: int((judged["verdict"] == v).sum()) for v in (WITHIN, OUTSIDE, NO_BOUND, NOT_REPRODUCED)}
    counts["judged"] = counts[WITHIN] + counts[OUTSIDE]
    return counts


def verdict_summary(judged: pd.DataFrame) -> pd.DataFrame:
    """The verdicts per quantity and cohort: the check and tolerance, and how many rows have each verdict."""
    if not len(judged):
        return pd.DataFrame(columns=["quantity", "cohort", "check", "tolerance", WITHIN, OUTSIDE, NO_BOUND,
                                     NOT_REPRODUCED])
    counts = pd.crosstab([judged["quantity"], judged["cohort"]], judged["verdict"]).reindex(
        columns=[WITHIN, OUTSIDE, NO_BOUND, NOT_REPRODUCED], fill_value=0)
    first = judged.groupby(["quantity", "cohort"])[["check", "tolerance"]].first()
    order = judged[["quantity", "cohort"]].drop_duplicates().set_index(["quantity", "cohort"]).index
    return first.join(counts).reindex(order).reset_index()
