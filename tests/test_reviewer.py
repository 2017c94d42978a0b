"""The reviewer's appendix (notebook 07): ledger verdicts and the check of the paper's reporting."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

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



# The reporting check, on the paper's own numbers (data/published*.csv). R 4.2:
#   se <- (log(0.894) - log(0.206)) / (2 * qnorm(0.975)); 2 * pnorm(-abs(log(0.429) / se))   # 0.0238155982
#   se <- (log(1.018) - log(0.378)) / (2 * qnorm(0.975)); 2 * pnorm(-abs(log(0.62) / se))    # 0.0585636940
#   x <- matrix(c(102, 41, 7, 2), 2)     # Child-Pugh A/B by arm, before matching
#   chisq.test(x, correct = FALSE)$p.value; chisq.test(x)$p.value; fisher.test(x)$p.value
#                                        # 0.6769402215 0.9719693105 1.0000000000
#   x <- matrix(c(100, 37, 9, 6), 2)     # hepatitis B/C by arm, before matching
#                                        # 0.2888405866 0.4479989145 0.3648160863
@pytest.fixture(scope="module")
def findings():
    from helpers.data.published import load_published, read_published_table
    from helpers.paths import PUBLISHED_PERCENTAGES_CSV, PUBLISHED_REPORTING_CSV
    from helpers.stats.reporting import reporting_findings

    f = reporting_findings(load_published(), read_published_table(PUBLISHED_PERCENTAGES_CSV),
                           read_published_table(PUBLISHED_REPORTING_CSV))
    return f.set_index("item")


def test_implied_wald_p_of_the_published_hazard_ratios_against_r():
    from helpers.stats.reporting import wald_from_ci

    assert wald_from_ci(0.429, 0.206, 0.894)["p"] == pytest.approx(0.0238155982, rel=1e-8)
    assert wald_from_ci(0.62, 0.378, 1.018)["p"] == pytest.approx(0.0585636940, rel=1e-8)
    assert wald_from_ci(0.429, 0.206, 0.894)["midpoint"] == pytest.approx(0.429, abs=5e-4)  # a Wald CI


def test_the_os_hazard_ratio_is_significant_by_its_own_ci_contrary_to_the_claim(findings):
    os_, pfs = findings.loc["treatment HR, OS, after matching"], findings.loc["treatment HR, PFS, after matching"]
    assert not os_["consistent"] and "p = 2 Phi(-|z|) = 0.0238" in os_["arithmetic"]
    assert pfs["consistent"] and "0.0586" in pfs["arithmetic"]
    assert "did not lead to statistically significant improvements" in os_["quote"]


def test_table1_tests_against_r_and_the_rule_the_methods_name(findings):
    from helpers.stats.reporting import FISHER, PEARSON, YATES, table1_tests

    cp = table1_tests(np.array([[102, 41], [7, 2]]))["p"]
    assert [cp[PEARSON], cp[YATES], cp[FISHER]] == pytest.approx([0.6769402215, 0.9719693105, 1.0], rel=1e-8)
    hep = table1_tests(np.array([[100, 37], [9, 6]]))["p"]
    assert [hep[PEARSON], hep[YATES], hep[FISHER]] == pytest.approx([0.2888405866, 0.4479989145, 0.3648160863],
                                                                     rel=1e-8)
    # the printed 0.972 and 0.448 are Yates-corrected chi-squared, where the rule calls for Fisher's exact test
    assert "reproduced by Yates-corrected chi-squared; the rule gives Fisher's exact" in \
        findings.loc["child_pugh_class, before matching", "finding"]
    assert not findings.loc["hepatitis_type, before matching", "consistent"]
    assert findings.loc["bed_group, before matching", "consistent"]  # 0.018 is Pearson's, as the rule says


def test_percentages_against_counts_and_denominators(findings):
    from helpers.stats.reporting import decimals_of, percentage_check

    assert findings.loc["Table 1: all percentages", "finding"] == "88 of 88 match their stated denominator"
    died = findings.loc["Table 2, Number of patients who died (% of Total)"]
    assert "60 / 152 = 39.474%, printed 54.55%" in died["arithmetic"]  # 54.55% is 60 / 110
    assert "patients with metastases" in died["finding"]
    # "% of recurrent cases" rows use the column's n: 69 / 109 = 63.30%, not 69 / 80
    assert "69 / 80 = 86.250%, printed 63.30%" in findings.loc["Table 2, Single organ metastasis", "arithmetic"]
    # 110 / 152 = 72.368...%: printed 72.36 (truncated, not rounded)
    c = percentage_check(110, 72.36, decimals_of("72.36"), 152, {})
    assert not c["matches"] and c["recomputed"] == pytest.approx(72.368421, rel=1e-6)
    assert percentage_check(36, 33.028, 3, 109, {})["matches"]


def test_smd_bed_and_caliper_findings(findings):
    from helpers.stats.reporting import bed, fractions_for_bed

    smd = findings.loc["Table 1, SMD column (after matching)"]
    assert not smd["consistent"] and "sex_group 0.103" in smd["arithmetic"]
    assert bed(48, 8, 10) == pytest.approx(76.8) and bed(55, 5, 10) == pytest.approx(115.5)
    assert fractions_for_bed(48, 105.6, 10) == pytest.approx(4.0)  # 105.6 Gy is 48 Gy in 4 fractions
    assert findings.loc["lower end of the BED range", "consistent"]
    assert "give 115.5 Gy" in findings.loc["upper end of the BED range", "finding"]
    cal = findings.loc["caliper (SD of the logit of the propensity score)"]
    assert "0.2 / 0.02 = 10" == cal["arithmetic"] and not cal["consistent"]


def test_the_strobe_checklist_has_the_22_items_answered_for_the_paper_and_the_report():
    from helpers.report.strobe import read_strobe
    from helpers.results.rows import strobe_rows

    s = read_strobe()
    assert list(s["item"]) == list(range(1, 23))
    assert s.loc[s["item"] == 10, "paper_status"].item() == "no"  # study size is not explained
    counts = {(r["quantity"], r["level"]): r["value"] for r in strobe_rows(s)}
    assert counts[("strobe_items", "")] == 22
    assert sum(counts[("strobe_paper", k)] for k in ("yes", "partly", "no")) == 22


def test_a_strobe_file_that_breaks_a_rule_is_named(tmp_path):
    from helpers.paths import STROBE_CSV
    from helpers.report.strobe import read_strobe

    df = pd.read_csv(STROBE_CSV, dtype=str, keep_default_na=False)
    df.loc[4, "paper_status"] = "maybe"
    df.loc[6, "report"] = ""
    df.to_csv(tmp_path / "strobe.csv", index=False)
    with pytest.raises(ValueError, match=r"column 'paper_status', rows 6: must be one of yes, partly, no; "
                                         r"column 'report', rows 8: empty"):
        read_strobe(tmp_path / "strobe.csv")


def test_notebook_07_on_the_default_cohort_writes_its_numbers(default_build):
    from helpers.results.numbers import NumberTable

    t = NumberTable.read(default_build)
    # rpact: getSampleSizeSurvival(alpha=0.05, beta=0.2, sided=2, hazardRatio=0.429, lambda2=-log(0.618)/60,
    #        accrualTime=c(0, 36), followUpTime=24) -> 43.83 events, 209.97 subjects
    assert t.get("trial_events", variable="published", endpoint="OS").value == 44
    assert t.get("trial_patients", variable="published", endpoint="OS").value == 210
    assert t.get("ledger_judged").value == t.get("ledger_within").value + t.get("ledger_outside").value > 200
    assert t.get("strobe_items").value == 22
    assert t.get("reporting_checked", level="all").value > t.get("reporting_consistent", level="all").value > 0
