"""Competing risks (local failure with death as a competing event) against R on R's ``survival::mgus2``.

The data are exported once to ``tests/data/mgus2.csv`` by ``Rscript tests/r/competing_reference.R export``
(progression to a plasma cell malignancy, status 1, with death as the competing event, status 2; months); the
reference values were printed by ``Rscript tests/r/competing_reference.R`` (R 4.2.2, survival 3.5-3,
cmprsk 2.2-11) and are quoted beside each call.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers.stats.survival.competing import cif_at, cumulative_incidence, fine_gray, fine_gray_arm, gray_test

RTOL = 1e-9
DATA = Path(__file__).parent / "data"


def close(actual, expected, rtol: float = RTOL) -> None:
    np.testing.assert_allclose(np.asarray(actual, dtype=float), np.asarray(expected, dtype=float),
                               rtol=rtol, atol=1e-14, equal_nan=True)


@pytest.fixture(scope="module")
def mgus2() -> pd.DataFrame:
    return pd.read_csv(DATA / "mgus2.csv")


# R: fit <- survfit(Surv(time, factor(status, 0:2, c("censor", "pcm", "death"))) ~ sex, data = d)
#    s <- summary(fit, times = c(60, 120, 240, 360))
#    s$pstate[, 2], s$std.err[, 2], s$lower[, 2], s$upper[, 2], s$pstate[, 3]   (F then M)
R_CIF = {
    "F": dict(cif=[0.0397896215044053, 0.0738856643759262, 0.1049406741861370, 0.1573903869344327],
              se=[0.00779833408808593, 0.01076979737648810, 0.01426295743449663, 0.03174283782725398],
              lower=[0.0270983932691198, 0.0555247328325098, 0.0803994786634599, 0.1060000358648130],
              upper=[0.0584246439905350, 0.0983181930247075, 0.1369728421341861, 0.2336955237540018],
              death=[0.263965145457701, 0.480490045774695, 0.695307803031983, 0.760281744788321]),
    "M": dict(cif=[0.0293462844583663, 0.0553102406481571, 0.0956507550309775, 0.1044602299766516],
              se=[0.00616458366286076, 0.00864431655219645, 0.01352583094918720, 0.01581561967732948],
              lower=[0.0194422594729007, 0.0407167513976059, 0.0724972042274418, 0.0776383481150016],
              upper=[0.0442954900746864, 0.0751342534841059, 0.1261988932606720, 0.1405483232411342],
              death=[0.367626985608863, 0.575178488879491, 0.748127889265735, 0.799436406979631]),
}


@pytest.mark.parametrize("sex", ["F", "M"])
def test_aalen_johansen_incidence_and_its_se_match_r_survfit(mgus2, sex):
    g = mgus2[mgus2["sex"] == sex]
    at = cif_at(g["time"], g["status"], [60, 120, 240, 360])
    ref = R_CIF[sex]
    close(at["cif"], ref["cif"])
    close(at["se"], ref["se"])
    close(at["ci_lower"], ref["lower"])
    close(at["ci_upper"], ref["upper"])
    close(at["cif_competing"], ref["death"])
    assert (at["note"] == "").all()


def test_incidence_never_exceeds_one_minus_km_that_censors_deaths(mgus2):
    # R: 1 - summary(survfit(Surv(time, status == 1) ~ sex, data = d), times = c(60, 120, 240, 360))$surv
    #    F: 0.0468233643171637 0.1030109109653485 0.1903357406897940 0.4804293523143063
    from helpers.stats.survival import km_rates_at
    g = mgus2[mgus2["sex"] == "F"]
    km = km_rates_at(g["time"], (g["status"] == 1).astype(int), [60, 120, 240, 360])
    close(1 - km["survival"], [0.0468233643171637, 0.1030109109653485, 0.1903357406897940, 0.4804293523143063])
    assert np.all(cif_at(g["time"], g["status"], [60, 120, 240, 360])["cif"].to_numpy() < 1 - km["survival"])


def test_incidences_and_event_free_survival_add_up(mgus2):
    cif = cumulative_incidence(mgus2["time"], (mgus2["status"]))
    from helpers.stats.survival import kaplan_meier
    km = kaplan_meier(mgus2["time"], (mgus2["status"] > 0).astype(int))
    close(cif["cif"] + cif["cif_competing"] + km["survival"], np.ones(len(km)), rtol=1e-12)


def test_gray_test_matches_r_cuminc(mgus2):
    # R: cuminc(d$time, d$status, d$sex)$Tests
    #      stat               pv                    df
    #    1  1.19450782507551  0.274422156788004190  1
    #    2 11.65125901212774  0.000641590976407924  1
    r = gray_test(mgus2["time"], mgus2["status"], mgus2["sex"])
    close([r.stat, r.p_value], [1.19450782507551, 0.274422156788004190])
    assert r.df == 1 and r.note == ""
    death = mgus2["status"].map({0: 0, 1: 2, 2: 1})
    close([gray_test(mgus2["time"], death, mgus2["sex"]).stat], [11.65125901212774])
    # the same statistic whichever group comes first
    close([gray_test(mgus2["time"], mgus2["status"], mgus2["sex"], group_order=["M", "F"]).stat], [r.stat])


def test_gray_test_of_three_groups_matches_r(mgus2):
    # R: d$age_group <- cut(d$age, c(0, 60, 75, Inf), right = FALSE); cuminc(d$time, d$status, d$age_group)$Tests
    #    1   3.95319336913516 0.138539930982174  2
    #    2 262.36371890397197 0.000000000000000  2
    groups = pd.cut(mgus2["age"], [0, 60, 75, np.inf], right=False).astype(str)
    r = gray_test(mgus2["time"], mgus2["status"], groups)
    close([r.stat, r.p_value], [3.95319336913516, 0.138539930982174])
    assert r.df == 2
    close([gray_test(mgus2["time"], mgus2["status"].map({0: 0, 1: 2, 2: 1}), groups).stat], [262.36371890397197])


def test_fine_gray_matches_r_crr(mgus2):
    # R: f <- crr(d$time, d$status, cov1 = as.numeric(d$sex == "M"))
    #    f$coef -0.229237113326474; sqrt(f$var) 0.185778351435714; 2 * pnorm(-abs(coef / se)) 0.217229727379526
    #    summary(f)$conf.int: exp(coef) 0.795139972866878, 2.5% 0.55247008533413, 97.5% 1.14440146758057
    r = fine_gray_arm(mgus2["time"], mgus2["status"], mgus2["sex"], ["F", "M"])
    close([r["coef"], r["se"], r["p_value"]], [-0.229237113326474, 0.185778351435714, 0.217229727379526])
    close([r["shr"], r["ci_lower"], r["ci_upper"]], [0.795139972866878, 0.55247008533413, 1.14440146758057])
    assert r["n"] == 1384 and r["n_events"] == 115 and r["note"] == ""


def test_fine_gray_with_two_covariates_matches_r_crr(mgus2):
    # R: f <- crr(d$time, d$status, cov1 = cbind(male = as.numeric(d$sex == "M"), age = d$age))
    #    f$coef  -0.2600382378841301 -0.0173381534946795
    #    f$var   3.44774466814895e-02 8.68180977719179e-05 / 8.68180977719179e-05 3.29143534743970e-05
    r = fine_gray(mgus2["time"], mgus2["status"], np.column_stack([mgus2["sex"] == "M", mgus2["age"]]))
    assert r.converged
    close(r.coef, [-0.2600382378841301, -0.0173381534946795])
    close(r.var, [[3.44774466814895e-02, 8.68180977719179e-05], [8.68180977719179e-05, 3.29143534743970e-05]])


def test_degenerate_competing_risk_data_say_why_instead_of_raising():
    t = [1.0, 2, 3, 4, 5, 6]
    no_lf = [2, 0, 2, 0, 0, 2]
    arm = ["A", "A", "A", "B", "B", "B"]
    assert "no events of interest" in gray_test(t, no_lf, arm).note
    assert np.isnan(fine_gray(t, no_lf, [0, 0, 0, 1, 1, 1]).coef).all()
    r = fine_gray_arm(t, [1, 0, 2, 0, 0, 2], arm, ["A", "B"])
    assert np.isnan(r["shr"]) and r["note"] == "no events in B"
    r = fine_gray_arm(t[:3], [1, 0, 2], arm[:3], ["A", "B"])
    assert np.isnan(r["shr"]) and r["note"] == "no patients in B"
    assert "fewer than two groups" in gray_test(t[:3], [1, 0, 2], arm[:3]).note
    # no deaths: the incidence is 1 - KM and the test still runs
    from helpers.stats.survival import kaplan_meier
    lf_only = [1, 0, 1, 0, 1, 0]
    close(cumulative_incidence(t, lf_only)["cif"], 1 - kaplan_meier(t, lf_only)["survival"], rtol=1e-12)
    assert np.isfinite(gray_test(t, lf_only, arm).stat)
    assert cif_at([], [], [12])["note"].tolist() == ["no patients"]
    with pytest.raises(ValueError, match="status must be coded"):
        cumulative_incidence([1.0, 2], [1, 3])


ARMS = ["SBRT", "SBRT+TACE"]


@pytest.fixture(scope="module")
def mgus2_cohort(mgus2) -> pd.DataFrame:
    """mgus2 in the cohort's columns: women as the control arm, men as the treated arm."""
    return pd.DataFrame({"arm": mgus2["sex"].map({"F": ARMS[0], "M": ARMS[1]}), "lc_months": mgus2["time"],
                         "lc_status": mgus2["status"]})


def test_notebook_tables_are_the_r_values_per_cohort_and_arm(mgus2_cohort):
    from helpers.stats.competing_risks import competing_risk_counts, competing_risk_rates, competing_risk_tests

    cohorts = {"before": mgus2_cohort, "after": mgus2_cohort.iloc[::2]}
    counts = competing_risk_counts(cohorts, ARMS).set_index(["cohort", "arm"])
    # R: table(d$sex, d$status)   F: 0 = 202 (censored), 1 = 59, 2 = 370;  M: 0 = 207, 1 = 56, 2 = 490
    assert counts.loc[("before", "SBRT"), ["n", "n_local_failure", "n_death", "n_censored"]].tolist() == [631, 59, 370, 202]
    assert counts.loc[("before", "SBRT+TACE"), ["n_local_failure", "n_death"]].tolist() == [56, 490]
    rates = competing_risk_rates(cohorts, ARMS, [60, 120, 240, 360]).set_index(["cohort", "arm"]).sort_index()
    close(rates.loc[("before", "SBRT"), "cif"], R_CIF["F"]["cif"])
    close(rates.loc[("before", "SBRT+TACE"), "cif_upper"], R_CIF["M"]["upper"])
    # one minus the KM that censors deaths (see test_incidence_never_exceeds_one_minus_km_that_censors_deaths)
    close(rates.loc[("before", "SBRT"), "km_failure"],
          [0.0468233643171637, 0.1030109109653485, 0.1903357406897940, 0.4804293523143063])
    tests = competing_risk_tests(cohorts, ARMS).set_index("cohort")
    close(tests.loc["before", ["gray_chi2", "gray_p"]], [1.19450782507551, 0.274422156788004190])
    close(tests.loc["before", ["shr", "ci_lower", "ci_upper", "shr_p"]],
          [0.795139972866878, 0.55247008533413, 1.14440146758057, 0.217229727379526])


def test_notebook_tables_of_degenerate_cohorts_say_why(mgus2_cohort):
    from helpers.stats.competing_risks import competing_risk_curves, competing_risk_rates, competing_risk_tests

    nobody = mgus2_cohort.iloc[:0]
    no_lf_treated = mgus2_cohort[~((mgus2_cohort["arm"] == ARMS[1]) & (mgus2_cohort["lc_status"] == 1))]
    no_deaths = mgus2_cohort[mgus2_cohort["lc_status"] != 2]
    cohorts = {"nobody": nobody, "no_lf_treated": no_lf_treated, "no_deaths": no_deaths}
    tests = competing_risk_tests(cohorts, ARMS).set_index("cohort")
    assert np.isnan(tests.loc["nobody", ["gray_p", "shr"]].astype(float)).all()
    assert tests.loc["nobody", "gray_note"] == "fewer than two groups"
    assert "no patients in SBRT" in tests.loc["nobody", "shr_note"]
    assert np.isfinite(tests.loc["no_lf_treated", "gray_p"])
    assert np.isnan(tests.loc["no_lf_treated", "shr"]) and tests.loc["no_lf_treated", "shr_note"] == "no events in SBRT+TACE"
    assert np.isfinite(tests.loc["no_deaths", ["gray_p", "shr"]].astype(float)).all()
    rates = competing_risk_rates(cohorts, ARMS, [60]).set_index("cohort")
    assert rates.loc["nobody", "cif"].isna().all() and (rates.loc["nobody", "note"] == "no patients").all()
    no_deaths_rates = rates.loc["no_deaths"]
    close(no_deaths_rates["cif"], no_deaths_rates["km_failure"], rtol=1e-12)  # no competing event: CIF = 1 - KM
    assert competing_risk_curves({"nobody": nobody}, ARMS)[("nobody", "SBRT")].empty


def test_manuscript_text_reads_the_competing_risk_numbers_by_key(tmp_path, mgus2_cohort):
    from helpers.parameters import write_parameters
    from helpers.report.competing_text import CompetingRiskNumbers
    from helpers.results import write_numbers, write_result
    from helpers.results.rows import competing_count_rows, competing_rate_rows, competing_test_rows
    from helpers.stats.competing_risks import competing_risk_counts, competing_risk_rates, competing_risk_tests

    cohorts = {"before": mgus2_cohort, "after": mgus2_cohort[mgus2_cohort["arm"] == ARMS[0]]}
    write_parameters("03_survival", tmp_path, time_points_months=[60, 120])
    counts, rates = competing_risk_counts(cohorts, ARMS), competing_risk_rates(cohorts, ARMS, [60, 120])
    tests = competing_risk_tests(cohorts, ARMS)
    write_numbers(competing_count_rows(counts) + competing_rate_rows(rates) + competing_test_rows(tests, ARMS[1]),
                  tmp_path, cell="competing-risks", notebook="06_robustness")
    write_result(pd.DataFrame({"input": ["cohort"], "file": ["cohort.csv"], "n_rows": [1], "sha256": ["a"],
                               "synthetic": [True], "default_input": [True]}), "input_summary", tmp_path)
    cr = CompetingRiskNumbers(tmp_path)
    assert str(cr.n_local_failure("before", "SBRT")) == "59" and str(cr.n_death_first("before", "SBRT+TACE")) == "490"
    assert str(cr.cif_text("before", "SBRT")) == "4.0% and 7.4%"
    assert str(cr.km_failure_text("before", "SBRT")) == "4.7% and 10.3%"
    assert str(cr.gray("before")) == "p = 0.274"
    assert str(cr.shr("before")) == "subdistribution HR 0.80, 95% CI 0.55\u20131.14, p = 0.217"
    # the 'after' cohort has one arm only: nothing estimable, and the text says why
    assert str(cr.gray("after")) == "p not estimable (fewer than two groups)"
    assert str(cr.shr("after")) == "subdistribution HR not estimable (no patients in SBRT+TACE)"
    assert str(cr.cif_text("after", "SBRT+TACE")) == "not estimable (no patients) and not estimable (no patients)"
    assert "competing-risks" in cr.shr("before").markdown


@pytest.mark.r_crosscheck
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_crosscheck_random_tied_data_against_r(tmp_path, seed):
    """Random cohorts with whole-month times (many ties of events, deaths and censoring) against R, live:
    ``Rscript tests/r/competing_reference.R crosscheck input.csv out_dir``."""
    import shutil
    import subprocess

    assert shutil.which("Rscript"), "Rscript not found"
    rng = np.random.default_rng(seed)
    n = 120
    d = pd.DataFrame({"arm": rng.choice(ARMS, n, p=[0.65, 0.35]), "time": rng.integers(1, 40, n).astype(float),
                      "status": rng.choice([0, 1, 2], n, p=[0.4, 0.2, 0.4])})
    d.to_csv(tmp_path / "input.csv", index=False)
    subprocess.run(["Rscript", str(Path(__file__).parent / "r" / "competing_reference.R"), "crosscheck",
                    str(tmp_path / "input.csv"), str(tmp_path)], check=True, capture_output=True, text=True)
    ref = pd.read_csv(tmp_path / "cif.csv")
    for arm in ARMS:
        g, r = d[d["arm"] == arm], ref[ref["arm"] == arm]
        mine = cumulative_incidence(g["time"], g["status"])
        for col in ("time", "cif", "se", "cif_competing", "se_competing"):
            close(mine[col], r[col])
    t = pd.read_csv(tmp_path / "tests.csv").iloc[0]
    close([gray_test(d["time"], d["status"], d["arm"]).stat,
           gray_test(d["time"], d["status"].map({0: 0, 1: 2, 2: 1}), d["arm"]).stat], [t["gray_lf"], t["gray_death"]])
    fg = fine_gray_arm(d["time"], d["status"], d["arm"], ARMS)
    close([fg["coef"], fg["se"]], [t["coef"], t["se"]])
