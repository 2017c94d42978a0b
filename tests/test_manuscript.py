"""The article's words and numbers (helpers.report.manuscript) on hand-made results, degenerate ones included."""
from __future__ import annotations

import pandas as pd
import pytest

from helpers.parameters import write_parameters
from helpers.report import fmt
from helpers.report.manuscript import ResultNumbers
from helpers.results import number, write_numbers, write_result
from helpers.stats.survival import logrank_reason, not_estimable_reason

NAN = float("nan")


def _results(build, *, hr_after_os=(0.519, 0.252, 1.066, 0.074, ""), tox3=(0, 0), synthetic=True,
             km_after_treated=(1.0, 0.861, 0.778), logrank_after_pfs=(0.154, 74), default_input=True,
             smd_after=0.0412):
    """A minimal but complete results folder, as the notebooks would write it: numbers.csv and the inputs."""
    write_parameters("01_eligibility", build, data_cutoff="2025-09-30", study_start="2011-12-01", max_diameter_cm=7.0)
    write_parameters("02_matching", build, ratio=2, caliper_sd=0.02,
                     covariates=["sex_group", "age_group", "hepatitis_type", "child_pugh_class", "diameter_group",
                                 "bed_group", "afp_group", "pvtt_group", "prior_treatment_group", "ecog_group"])
    write_parameters("03_survival", build, time_points_months=[12, 36, 60], entry_p=0.1)
    rows = [number("n_screened", 190), number("n_eligible", 152)]
    rows += [number("n_patients", n, cohort=c, arm=a) for (c, a), n in
             {("before", "SBRT"): 109, ("after", "SBRT"): 68, ("before", "SBRT+TACE"): 43,
              ("after", "SBRT+TACE"): 36}.items()]
    rows += [number("km_survival", s, cohort="after", endpoint="OS", arm="SBRT", months=m)
             for m, s in zip((12, 36, 60), (0.9118, 0.7647, 0.6176))]
    rows += [number("km_survival", s, cohort="after", endpoint="OS", arm="SBRT+TACE", months=m)
             for m, s in zip((12, 36, 60), km_after_treated)]
    p, events = logrank_after_pfs[:2]
    n_pfs = logrank_after_pfs[2] if len(logrank_after_pfs) > 2 else 104
    rows += [number("logrank_p", 0.0691, cohort="after", endpoint="OS"),
             number("logrank_p", p, cohort="after", endpoint="PFS",
                    note="" if p == p else logrank_reason(n_pfs, events))]
    h, lo, hi, hp, note = hr_after_os
    rows += [number("treatment_hr", h, ci_lower=lo, ci_upper=hi, p_value=hp, note=not_estimable_reason(note),
                    cohort="after", endpoint="OS", arm="SBRT+TACE")]
    rows += [number("followup_median_months", 76.3, cohort="before")]
    rows += [number("tox_patients", n, cohort="before", arm=a, level=k) for k, ns in
             {"acute_grade_1_2": (42, 14), "acute_grade_3_plus": tox3}.items() for a, n in zip(("SBRT", "SBRT+TACE"), ns)]
    rows += [number("tox_p", 0.2907, cohort="before", level="acute_grade_1_2"),
             number("tox_p", 0.3 if sum(tox3) else 1.0, cohort="before", level="acute_grade_3_plus")]
    rows += [number("table2_n", 45, cohort="before", arm="SBRT", level="died")]
    rows += [number("ledger_exact", 1), number("ledger_compared", 2)]
    rows += [number("table1_smd_max", smd_after, cohort="after",
                    note="" if smd_after == smd_after else "no matched patients"),
             number("n_smd_above", int(smd_after > 0.1), cohort="after", level=0.1)]
    rows += [number("input_rows", 190, variable="cohort"), number("input_rows", 111, variable="adverse_events")]
    write_numbers(rows, build, cell="test-cell", notebook="03_survival")
    write_result(pd.DataFrame({"input": ["cohort", "adverse_events"], "file": ["cohort.csv", "ae.csv"],
                               "n_rows": [190, 111], "sha256": ["a", "b"], "synthetic": [synthetic] * 2,
                               "default_input": [default_input] * 2}),
                 "input_summary", build)
    return ResultNumbers(build)


def test_formatting_of_values_and_missing_values():
    assert fmt.pct(0.9118) == "91.2%" and fmt.pct(NAN) == "not estimable"
    assert fmt.p_text(0.0004) == "p < 0.001" and fmt.p_text(0.0691) == "p = 0.069"
    assert fmt.p_text(NAN) == "p not estimable"


def test_numbers_of_a_complete_analysis(tmp_path):
    r = _results(tmp_path)
    assert (r.n_screened(), r.n_eligible(), r.n_arm("SBRT"), r.n_arm("SBRT+TACE", "after")) == ("190", "152", "109", "36")
    assert r.km_text("after", "OS", "SBRT") == "91.2%, 76.5% and 61.8%"
    assert r.logrank("after", "OS") == "p = 0.069"
    assert r.hr("after", "OS") == "HR 0.52, 95% CI 0.25\u20131.07"
    assert r.effect_statement("after", "OS") == (
        "a lower hazard with SBRT+TACE than with SBRT alone (HR 0.52, 95% CI 0.25\u20131.07, p = 0.074), "
        "not statistically significant at the 5% level")
    assert r.severe_toxicity_statement() == "no acute toxicity of grade 3 or more"
    assert r.max_smd_after() == "0.041" and r.n_smd_above() == "0"
    assert r.followup() == "76" and r.events("died", "SBRT") == "45"
    assert r.n_reproduced_exactly() == (1, 2)
    assert r.data_source() == ("the default synthetic cohort, calibrated to the published aggregates "
                               "(cohort.csv, 190 screened patients; ae.csv, 111 adverse events)")


def test_words_follow_the_data(tmp_path):
    r = _results(tmp_path, hr_after_os=(1.8, 1.2, 2.7, 0.004, ""), tox3=(2, 1), synthetic=False)
    assert r.effect_statement("after", "OS") == (
        "a higher hazard with SBRT+TACE than with SBRT alone (HR 1.80, 95% CI 1.20\u20132.70, p = 0.004), "
        "statistically significant at the 5% level")
    assert r.severe_toxicity_statement() == ("acute toxicity of grade 3 or more in 2 SBRT and 1 SBRT+TACE "
                                             "patients (p = 0.300)")
    assert r.data_source().startswith("user-supplied data (cohort.csv")
    r = _results(tmp_path, default_input=False)
    assert r.data_source().startswith("an edited copy of the synthetic cohort (not the calibrated default) (")


def test_degenerate_results_read_as_not_estimable_with_the_reason(tmp_path):
    r = _results(tmp_path, hr_after_os=(NAN, NAN, NAN, NAN, "no events"), km_after_treated=(1.0, NAN, NAN),
                 logrank_after_pfs=(NAN, 0))
    assert r.hr("after", "OS") == "HR not estimable (no events)"
    assert r.effect_statement("after", "OS") == "no estimable treatment effect (HR not estimable (no events))"
    assert r.km_text("after", "OS", "SBRT+TACE") == "100.0%, not estimable and not estimable"
    assert r.km_text("after", "PFS", "SBRT") == "not estimable (no patients)"  # no rows at all
    assert r.logrank("after", "PFS") == "log-rank test not estimable (no events)"
    r = _results(tmp_path, logrank_after_pfs=(NAN, 0, 0))
    assert r.logrank("after", "PFS") == "log-rank test not estimable (no patients)"
    assert r.hr("before", "LC") == "HR not estimable"  # no row: no reason to give
    note = "HR tends to zero (monotone likelihood / separation, e.g. no events in a group): not estimable"
    r = _results(tmp_path, hr_after_os=(NAN, NAN, NAN, NAN, note))
    assert r.hr("after", "OS") == ("HR not estimable (HR tends to zero (monotone likelihood / separation, "
                                   "e.g. no events in a group))")


def test_empty_matched_cohort_has_no_smd(tmp_path):
    assert _results(tmp_path, smd_after=NAN).max_smd_after() == "not estimable (no matched patients)"


def test_parameters_of_the_run_reach_the_text(tmp_path):
    r = _results(tmp_path)
    assert (r.ratio(), r.number("caliper_sd"), r.number("max_diameter_cm"), r.number("entry_p")) == \
        ("2:1", "0.02", "7", "0.1")
    assert r.date("data_cutoff") == "30 September 2025" and r.date("study_start", "month") == "December 2011"
    assert r.time_points_phrase() == "1-, 3- and 5-year"
    assert r.covariates() == ("sex, age, hepatitis, Child-Pugh class, tumour diameter, BED, alpha-fetoprotein, "
                              "portal vein tumour thrombus, previous treatment and ECOG performance status")
    write_parameters("02_matching", tmp_path, ratio=3, caliper_sd=0.1, covariates=["age_group", "pvtt_group"])
    write_parameters("03_survival", tmp_path, time_points_months=[12], entry_p=0.05)
    r = ResultNumbers(tmp_path)
    assert (r.ratio(), r.number("caliper_sd"), r.time_points_phrase()) == ("3:1", "0.1", "1-year")
    assert r.covariates() == "age and portal vein tumour thrombus"
    assert r.km_text("after", "OS", "SBRT") == "91.2%"
    with pytest.raises(KeyError, match="'alpha_beta' was not recorded"):
        r.param("alpha_beta")


def test_each_number_links_to_its_row_and_cell(tmp_path):
    """The markdown of a number names its results row, notebook and cell; plain words stay plain."""
    r = _results(tmp_path)
    md = r.km("after", "OS", "SBRT", 60)._repr_markdown_()
    assert md == ('[61.8%]{.result-number result="results/numbers.csv: quantity=km_survival, cohort=after, arm=SBRT, '
                  'endpoint=OS, months=60 (notebook 03_survival, cell test-cell)" notebook="03_survival" '
                  'cell="test-cell"}')
    statement = r.effect_statement("after", "OS")._repr_markdown_()
    assert statement.startswith("a lower hazard with SBRT+TACE than with SBRT alone ([HR 0.52, 95% CI 0.25–1.07]"
                                "{.result-number result=\"results/numbers.csv: quantity=treatment_hr")
    assert statement.count(".result-number") == 2  # the HR with its CI, and its p-value
    assert r.km_text("after", "OS", "SBRT")._repr_markdown_().count(".result-number") == 3
    # outside a notebook run a parameter has no recorded cell: its text is plain
    assert r.number("caliper_sd")._repr_markdown_() == "0.02"
    # plain parts and linked numbers compose into one sentence
    assert "(cohort.csv, [190]{.result-number" in r.data_source()._repr_markdown_()
