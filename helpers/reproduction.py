"""Every published number beside the one this run reproduced.

``published_vs_reproduced`` walks the ledger (``data/published.csv``) and,
for each published number, looks up the same quantity in ``build/results/``.
Nothing is recomputed here: a reproduced value is always a cell of a results
file, so each one can be traced to the notebook cell that wrote it.
"""
from __future__ import annotations

import os

import numpy as np
import pandas as pd

from helpers.balance import arm_slug
from helpers.published import load_published
from helpers.results import read_result

# Table 2 rows of the ledger -> keys of progression_patterns.csv
TABLE2_KEYS = {"progression": "progressed", "single_organ": "single_organ", "liver": "single_liver",
               "in_field": "single_liver_in_field", "bone": "single_bone", "lung": "single_lung",
               "lymph_node": "single_lymph_node", "pelvis": "single_pelvis", "multiple_organ": "multiple_organ",
               "two_organs": "two_organs", "three_organs": "three_plus_organs", "therapy_single": "therapy_single",
               "therapy_multiple": "therapy_multiple", "therapy_conservative": "therapy_conservative",
               "death": "died"}
TOXICITY_KEYS = {"acute_grade_1_2": "acute_grade_1_2", "acute_grade_3_plus": "acute_grade_3_plus", "rild": "rild_any",
                 "post_tace_epigastric_pain": "post_tace_term:Abdominal pain (epigastric)",
                 "post_tace_fever": "post_tace_term:Fever"}
RESULT_FILE = {"n_patients": "balance", "table1_n": "balance", "table1_p": "balance", "table1_smd": "balance",
               "km_survival": "km_rates", "logrank_p": "logrank", "n_progression": "progression_patterns",
               "n_death": "progression_patterns", "n_infield_recurrence": "progression_patterns",
               "table2_n": "progression_patterns", "followup_median_months": "followup",
               "followup_min_months": "followup", "followup_max_months": "followup", "n_matched": "matching_summary",
               "treatment_hr": "treatment_hr", "treatment_hr_ci_lower": "treatment_hr",
               "treatment_hr_ci_upper": "treatment_hr", "tox_patients": "toxicity"}


def _one(values: pd.Series) -> float:
    return float(values.iloc[0]) if len(values) else np.nan


def reproduced_value(row: pd.Series, r: dict[str, pd.DataFrame]) -> float:
    """The reproduced counterpart of one ledger row (NaN when the results have none)."""
    q, cohort, arm = row["quantity"], row["cohort"], row["arm"]
    if q in ("n_patients", "table1_n", "table1_p", "table1_smd"):
        b = r["balance"][r["balance"]["cohort"] == cohort]
        if q == "n_patients":
            return _one(b[f"n_arm_{arm_slug(arm)}"])
        b = b[b["variable"] == row["variable"]]
        if q == "table1_n":
            return _one(b.loc[b["level"].astype(str) == row["level"], f"n_{arm_slug(arm)}"])
        return _one(b["p_value"] if q == "table1_p" else b["smd"])
    if q == "km_survival":
        k = r["km_rates"]
        k = k[(k["cohort"] == cohort) & (k["endpoint"] == row["endpoint"]) & (k["arm"] == arm)
              & (k["months"] == float(row["months"]))]
        return _one(k["survival"])
    if q == "logrank_p":
        lr = r["logrank"]
        return _one(lr.loc[(lr["cohort"] == cohort) & (lr["endpoint"] == row["endpoint"]), "p_value"])
    if q in ("n_progression", "n_death", "n_infield_recurrence", "table2_n"):
        key = {"n_progression": "progressed", "n_death": "died", "n_infield_recurrence": "single_liver_in_field"}.get(q)
        key = key or TABLE2_KEYS[row["level"]]
        t = r["progression_patterns"]
        return _one(t.loc[(t["cohort"] == cohort) & (t["group"] == arm) & (t["key"] == key), "n"])
    if q.startswith("followup_"):
        measure = {"followup_median_months": "median of observed times", "followup_min_months": "minimum observed time",
                   "followup_max_months": "maximum observed time"}[q]
        f = r["followup"]
        return _one(f.loc[f["measure"] == measure, "months"])
    if q == "n_matched":
        s = r["matching_summary"]
        return _one(s.loc[s["quantity"] == f"n {arm} after", "value"])
    if q.startswith("treatment_hr"):
        h = r["treatment_hr"]
        col = {"treatment_hr": "hr", "treatment_hr_ci_lower": "ci_lower", "treatment_hr_ci_upper": "ci_upper"}[q]
        return _one(h.loc[(h["cohort"] == cohort) & (h["endpoint"] == row["endpoint"]), col])
    if q == "tox_patients":
        t = r["toxicity"]
        t = t[(t["cohort"] == cohort) & (t["key"] == TOXICITY_KEYS[row["level"]])]
        return _one(t[f"n_{arm_slug(arm)}"])
    return np.nan


def published_vs_reproduced(build: str | os.PathLike | None = None) -> pd.DataFrame:
    """The ledger with ``reproduced``, ``difference`` and ``results_file`` columns added.

    Quantities without a counterpart in the results (e.g. the TACE interval,
    which is a property of the input data) have NaN.
    """
    ledger = load_published()
    names = sorted(set(RESULT_FILE.values()))
    results = {n: read_result(n, build, keep_default_na=True) for n in names}
    out = ledger.copy()
    out["reproduced"] = [reproduced_value(row, results) for _, row in ledger.iterrows()]
    out["difference"] = out["reproduced"] - out["value"]
    out["results_file"] = [f"results/{RESULT_FILE[q]}.csv" if q in RESULT_FILE else "" for q in out["quantity"]]
    return out.rename(columns={"value": "published"})
