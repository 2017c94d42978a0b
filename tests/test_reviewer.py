"""The reviewer's appendix (notebook 07): ledger verdicts and the check of the paper's reporting."""
from __future__ import annotations

import math

import pandas as pd

from helpers.results.ledger import verdict_counts, verdict_summary, verdicts


def _comparison(rows):
    keys = ["quantity", "cohort", "arm", "endpoint", "variable", "level", "months"]
    df = pd.DataFrame([dict(zip([*keys, "published", "reproduced"], r)) for r in rows])
    df["difference"] = df["reproduced"] - df["published"]
    return df


COMPARISON = _comparison([
    ("table1_n", "before", "SBRT", "", "sex_group", "Male", "", 90, 90),        # exact: within
    ("table1_n", "before", "SBRT", "", "sex_group", "Female", "", 19, 20),      # exact: outside
    ("km_survival", "before", "SBRT", "OS", "", "", "60", 0.60, 0.629),         # 3 points: within
    ("km_survival", "before", "SBRT", "OS", "", "", "36", 0.70, 0.74),          # 3 points: outside
    ("km_survival", "after", "SBRT", "OS", "", "", "60", 0.618, 0.69),          # near (8 points): within
    ("treatment_hr", "after", "SBRT+TACE", "OS", "", "", "", 0.429, 0.519),     # re-derived: no bound
    ("tace_interval_days_median", "before", "", "", "", "", "", 30, math.nan),  # not in the results
])


def test_verdicts_use_the_calibration_bounds_of_the_synthetic_cohort():
    v = verdicts(COMPARISON)
    assert list(v["verdict"]) == ["within", "outside", "within", "outside", "within", "no bound", "not reproduced"]
    assert list(v["tolerance"][:5]) == [0.0, 0.0, 0.03, 0.03, 0.08]
    assert v.loc[5, "check"] == "re-derived, no bound"
    assert verdict_counts(v) == {"within": 3, "outside": 2, "no bound": 1, "not reproduced": 1, "judged": 5}
    s = verdict_summary(v).set_index(["quantity", "cohort"])
    assert s.loc[("km_survival", "before"), ["within", "outside"]].tolist() == [1, 1]


def test_verdicts_against_an_expectations_file_use_its_tolerances():
    v = verdicts(COMPARISON, pd.Series([0, 0.5, "", 0.05, 0.01, 0.2, 1]))
    assert list(v["verdict"]) == ["within", "outside", "no bound", "within", "outside", "within", "not reproduced"]
    assert set(v["check"]) == {"expectations file", "no bound"}


def test_the_synthetic_check_and_the_verdicts_share_their_bounds():
    from helpers.data.published import CALIBRATION_BOUNDS, calibration_bound

    assert calibration_bound("km_survival", "before") == (0.03, "within 3 points")
    assert calibration_bound("logrank_p", "after") is None
    assert all(cohort in ("before", "after") for _, cohort in CALIBRATION_BOUNDS)


def test_verdict_rows_say_why_the_ledger_was_not_judged(tmp_path):
    from helpers.report.manuscript import ResultNumbers
    from helpers.results import write_numbers
    from helpers.results.numbers import NumberTable
    from helpers.results.rows import verdict_rows

    r = ResultNumbers.__new__(ResultNumbers)
    write_numbers(verdict_rows(verdict_counts(verdicts(COMPARISON))), tmp_path / "a", cell="c", notebook="07")
    r.numbers = NumberTable.read(tmp_path / "a")
    assert str(r.ledger_verdict()).startswith("3 of 5 published numbers with a stated tolerance were within it "
                                              "(2 outside); 1 have no stated bound")
    write_numbers(verdict_rows({}, note="not judged: no expectations file"), tmp_path / "b", cell="c", notebook="07")
    r.numbers = NumberTable.read(tmp_path / "b")
    assert str(r.ledger_verdict()) == "not judged: no expectations file"
    assert math.isnan(r.numbers.get("ledger_within").value)

