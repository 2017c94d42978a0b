"""Robustness of the treatment effect (notebook 06): each statistic against R on R's own data sets.

The data are R's ``survival::lung`` and ``survival::veteran``, exported once to ``tests/data/`` by
``Rscript tests/r/robustness_reference.R export`` (lung's status recoded 1 = death, 0 = censored, and a fixed,
non-integer case weight ``w = 1 + (row %% 3) / 2``); the reference values were printed by
``Rscript tests/r/robustness_reference.R`` (R 4.2.2, survival 3.5-3) and are quoted beside each call.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers.stats.survival import cox_fit, cox_zph, logrank_test, rmst_difference

RTOL = 1e-6
DATA = Path(__file__).parent / "data"


def close(actual, expected, rtol: float = RTOL) -> None:
    np.testing.assert_allclose(np.asarray(actual, dtype=float), np.asarray(expected, dtype=float),
                               rtol=rtol, atol=1e-12, equal_nan=True)


def r_data(name: str, factor: str) -> pd.DataFrame:
    """``tests/data/<name>.csv`` with the column ``factor`` as strings (R's factor of the reference calls)."""
    d = pd.read_csv(DATA / f"{name}.csv")
    d[factor] = d[factor].astype(str)
    return d


@pytest.fixture(scope="module")
def lung() -> pd.DataFrame:
    return r_data("lung", "sex")


def test_stratified_logrank_matches_r_survdiff_strata(lung):
    # R: survdiff(Surv(time, status) ~ sex + strata(inst), data = lung)$chisq   -> 8.52446736332317
    res = logrank_test(lung["time"], lung["status"], lung["sex"], strata=lung["inst"])
    close(res.chi2, 8.52446736332317)
    assert res.df == 1
    # one stratum is the unstratified test
    close(logrank_test(lung["time"], lung["status"], lung["sex"], strata=np.ones(len(lung))).chi2,
          logrank_test(lung["time"], lung["status"], lung["sex"]).chi2, rtol=1e-12)


def test_weighted_cox_with_cluster_robust_variance_matches_r(lung):
    # R: f <- coxph(Surv(time, status) ~ age + sex, data = lung, weights = w, cluster = inst)
    #    coef(f)                  ->  0.0191230450733481  -0.6132475883956954
    #    sqrt(diag(f$naive.var))  ->  0.00763262149686517  0.13962636086425079
    #    sqrt(diag(f$var))        ->  0.00787540090786498  0.14714239244599941   (robust se)
    res = cox_fit(lung, "time", "status", ["age", "sex"], weights="w", cluster="inst")
    assert res.estimable and res.robust and res.n == 227  # the row without inst is dropped, as R drops it
    close(res.table["coef"], [0.0191230450733481, -0.6132475883956954])
    close(np.sqrt(np.diag(res.naive_vcov)), [0.00763262149686517, 0.13962636086425079])
    close(res.table["se"], [0.00787540090786498, 0.14714239244599941])
    z = res.table["coef"] / res.table["se"]
    close(res.table["ci_lower"], np.exp(res.table["coef"] - 1.959963984540054 * res.table["se"]))
    assert np.all(np.abs(z) > 2)


def test_stratified_cox_matches_r(lung):
    # R: f <- coxph(Surv(time, status) ~ age + sex + strata(inst), data = lung)
    #    coef(f)            ->  0.0192048983408915  -0.4923515186516150
    #    sqrt(diag(f$var))  ->  0.00987322480987376  0.18156342931018626
    res = cox_fit(lung, "time", "status", ["age", "sex"], strata="inst")
    close(res.table["coef"], [0.0192048983408915, -0.4923515186516150])
    close(res.table["se"], [0.00987322480987376, 0.18156342931018626])


def test_unit_weights_leave_the_cox_fit_unchanged(lung):
    plain = cox_fit(lung, "time", "status", ["age", "sex"])
    weighted = cox_fit(lung.assign(one=1.0), "time", "status", ["age", "sex"], weights="one")
    close(weighted.table["coef"], plain.table["coef"], rtol=1e-12)
    close(weighted.table["se"], plain.table["se"], rtol=1e-12)


# R: f <- survfit(Surv(time, status) ~ sex, data = lung, weights = w, conf.type = "log-log")   (robust: non-integer w)
#    s <- summary(f, times = c(100, 300, 500)); cbind(s$n.risk, s$surv, s$std.err, s$lower, s$upper)
R_WEIGHTED_KM = {
    "robust": {"1": [(173.0, 0.823809523809524, 0.0338369676504859, 0.745563879136935, 0.879907422063928),
                     (69.5, 0.422334170108873, 0.0453487434725615, 0.332761428543397, 0.509040798670078),
                     (28.0, 0.211957918845456, 0.0403354942171448, 0.139038595599384, 0.295278555929137)],
               "2": [(121.5, 0.931679600886918, 0.0255564808706790, 0.859610244605223, 0.967437800712620),
                     (65.5, 0.688955136593913, 0.0528965826380124, 0.572357929215175, 0.779753918771628),
                     (34.5, 0.444723774824579, 0.0653451783446803, 0.314709309749057, 0.566696317012997)]},
    # the same with robust = FALSE (Greenwood on the weighted counts)
    "greenwood": {"1": [(173.0, 0.823809523809524, 0.0262902654707973, 0.765185902039103, 0.869048041122360),
                        (69.5, 0.422334170108873, 0.0357373549330246, 0.351748785945474, 0.491109341880103),
                        (28.0, 0.211957918845456, 0.0323394891562358, 0.152410852945717, 0.278209298188048)],
                  "2": [(121.5, 0.931679600886918, 0.0219833412306394, 0.872815005411358, 0.963855396748164),
                        (65.5, 0.688955136593913, 0.0424529150947198, 0.597367458172593, 0.763816654347725),
                        (34.5, 0.444723774824579, 0.0513020755280464, 0.342634273016031, 0.541718194186455)]},
    # the same with cluster = inst (a grouped infinitesimal jackknife; the row without inst dropped)
    "cluster": {"1": [(172.0, 0.822966507177033, 0.0315006819031147, 0.750998675121774, 0.875838766213065),
                      (68.5, 0.419292848234178, 0.0429681799041910, 0.334492515126676, 0.501650905985753),
                      (28.0, 0.213702783838587, 0.0368993275623102, 0.146377610774183, 0.289590690849689)],
                "2": [(121.5, 0.931679600886918, 0.0235887454659965, 0.867030544260818, 0.965510461250706),
                      (65.5, 0.688955136593913, 0.0446346178297186, 0.592219734231204, 0.767224028583068),
                      (34.5, 0.444723774824579, 0.0595566605348540, 0.326190071803867, 0.556495364436100)]},
}


@pytest.mark.parametrize("variance", list(R_WEIGHTED_KM))
def test_weighted_kaplan_meier_matches_r_survfit_weights(lung, variance):
    from helpers.stats.survival import km_rates_at

    data = lung.dropna(subset=["inst"]) if variance == "cluster" else lung
    for sex, expected in R_WEIGHTED_KM[variance].items():
        g = data[data["sex"] == sex]
        r = km_rates_at(g["time"], g["status"], [100, 300, 500], weights=g["w"],
                        robust=False if variance == "greenwood" else None,
                        cluster=g["inst"] if variance == "cluster" else None)
        close(r[["n_at_risk", "survival", "std_err", "ci_lower", "ci_upper"]], expected)


def test_unit_weights_leave_the_kaplan_meier_curve_unchanged(lung):
    from helpers.stats.survival import kaplan_meier

    plain = kaplan_meier(lung["time"], lung["status"])
    weighted = kaplan_meier(lung["time"], lung["status"], weights=np.ones(len(lung)))
    close(weighted.drop(columns="time"), plain.drop(columns="time"), rtol=1e-12)
    assert plain["n_at_risk"].dtype.kind == "i"


@pytest.fixture(scope="module")
def veteran() -> pd.DataFrame:
    return r_data("veteran", "trt")


def test_cox_zph_matches_r_per_term_and_global(lung):
    # R: z <- cox.zph(coxph(Surv(time, status) ~ age + sex + ph.ecog, data = lung)); z$table
    #            chisq             df  p
    #    age     0.187987673652291  1  0.664596763116370
    #    sex     2.305437227404980  1  0.128921998810963
    #    ph.ecog 2.054248774054411  1  0.151782098908101
    #    GLOBAL  4.463657588758625  3  0.215554945341795
    z = cox_zph(lung, "time", "status", ["age", "sex", "ph.ecog"])
    assert z.table["variable"].tolist() == ["age", "sex", "ph.ecog", "GLOBAL"]
    close(z.table["chisq"], [0.187987673652291, 2.305437227404980, 2.054248774054411, 4.463657588758625])
    close(z.table["p_value"], [0.664596763116370, 0.128921998810963, 0.151782098908101, 0.215554945341795])
    assert z.table["df"].tolist() == [1, 1, 1, 3]
    # R: head(cbind(z$time, z$x, z$y), 3)   (time, 1 - KM(t-), scaled Schoenfeld residuals)
    #    5   0.000000000000  0.05965525154  3.005895004 -2.229264572
    #    11  0.004405286344  0.12684908764 -1.908142917  1.879953588
    #    11  0.004405286344  0.28519769776 -1.598126226 -2.560313879
    close(z.residuals.iloc[:3, :2], [[5, 0.0], [11, 0.004405286344], [11, 0.004405286344]], rtol=1e-9)
    close(z.residuals.iloc[:3, 2:], [[0.05965525154, 3.005895004, -2.229264572],
                                     [0.12684908764, -1.908142917, 1.879953588],
                                     [0.28519769776, -1.598126226, -2.560313879]], rtol=1e-8)


def test_cox_zph_multilevel_factor_matches_r(veteran):
    # R: cox.zph(coxph(Surv(time, status) ~ trt + karno + celltype, data = veteran))$table
    #    trt       0.206307412064431  1  0.649677141169155981
    #    karno    12.813325591115472  1  0.000344159278028016
    #    celltype 14.531710396470377  3  0.002263890317298083
    #    GLOBAL   22.859685274987335  5  0.000359064543553456
    z = cox_zph(veteran, "time", "status", ["trt", "karno", "celltype"])
    close(z.table["chisq"], [0.206307412064431, 12.813325591115472, 14.531710396470377, 22.859685274987335])
    close(z.table["p_value"], [0.649677141169155981, 0.000344159278028016, 0.002263890317298083,
                               0.000359064543553456])
    assert z.table["df"].tolist() == [1, 1, 3, 5]


def test_cox_zph_of_a_model_that_cannot_be_fitted_says_why():
    d = pd.DataFrame({"t": [1.0, 2, 3, 4], "e": [0, 0, 0, 0], "arm": ["A", "B", "A", "B"]})
    z = cox_zph(d, "t", "e", ["arm"])
    assert z.table["chisq"].isna().all() and "no events" in z.reason


@pytest.mark.parametrize("tau, expected", [
    # R: f <- survfit(Surv(time, status) ~ trt, data = veteran)
    #    summary(f, rmean = 100)$table[, c("rmean", "se(rmean)")]
    (100, [(68.0315430520034, 4.56209405085121), (60.1419537815126, 4.45097072351351)]),
    #    summary(f, rmean = 500)$table[, c("rmean", "se(rmean)")]
    (500, [(122.989948342402, 14.4128305710261), (122.356933193277, 17.8880891977445)]),
])
def test_rmst_per_arm_and_difference_match_r(veteran, tau, expected):
    res = rmst_difference(veteran["time"], veteran["status"], veteran["trt"], tau, ["1", "2"])
    close(res[["rmst", "se"]].iloc[:2], expected)
    (r1, s1), (r2, s2) = expected
    diff, se = res.iloc[2][["rmst", "se"]]
    close([diff, se], [r2 - r1, np.hypot(s1, s2)])
    close(res.iloc[2][["ci_lower", "ci_upper"]], [diff - 1.959963984540054 * se, diff + 1.959963984540054 * se])


def test_rmst_beyond_the_last_follow_up_or_of_an_empty_arm_is_not_estimable():
    res = rmst_difference([1.0, 2, 3, 10], [1, 0, 1, 0], ["A", "A", "B", "B"], 5, ["A", "B"])
    assert np.isnan(res.loc[0, "rmst"]) and "beyond the last follow-up" in res.loc[0, "note"]
    assert np.isfinite(res.loc[1, "rmst"]) and np.isnan(res.loc[2, "rmst"]) and res.loc[2, "note"].startswith("A:")
    assert "no patients" in rmst_difference([1.0, 2], [1, 0], ["A", "A"], 1, ["A", "B"]).loc[1, "note"]


@pytest.fixture(scope="module")
def default_matched(default_cohorts):
    """The default cohort before matching and the matched patients with MatchIt's weights and sets (notebook 06)."""
    from helpers.data.schema import CONTROL_ARM, TREATED_ARM
    from helpers.parameters import notebook_parameters
    from helpers.stats.matching import propensity_match

    p = {q.name: q.default for q in notebook_parameters()}
    before = default_cohorts["before"]
    m = propensity_match(before, p["covariates"], treated_arm=TREATED_ARM, control_arm=CONTROL_ARM,
                         ratio=p["ratio"], caliper_sd=p["caliper_sd"]).matched_cohort
    sets = m.loc[m["matched"] == 1, ["patient_id", "match_id", "weights"]]
    return {"before": before, "after": before.merge(sets, on="patient_id")}


ARMS2 = ["SBRT", "SBRT+TACE"]
ENDPOINTS2 = {"OS": ("os_months", "os_event"), "PFS": ("pfs_months", "pfs_event")}

# R (tests/r/robustness_reference.R default build/results), d the matched patients with weights and match_id:
#   survdiff(Surv(time, status) ~ arm + strata(match_id), data = d)$chisq
#   summary(coxph(Surv(time, status) ~ arm, data = d, weights = weights, cluster = match_id))$coefficients
#   summary(coxph(Surv(time, status) ~ arm + strata(match_id), data = d))$coefficients
#   endpoint: (stratified log-rank chisq, (weighted coef, robust se, p), (stratified coef, se, p))
R_DEFAULT_MATCHED = {
    "OS": (2.35849056603773, (-0.722880163105699, 0.320587434449759, 0.0241420431885321),
           (-0.623931383444344, 0.412478909566453, 0.130371568023704)),
    "PFS": (3.11206896551724, (-0.362059941123908, 0.219038085764373, 0.098340169016729),
            (-0.524688649846935, 0.30059545448278, 0.0808982866884569)),
}
# R: cox.zph(coxph(Surv(time, status) ~ arm, data = x))$table["arm", ]   and
#    summary(survfit(Surv(time, status) ~ arm, data = x), rmean = 60)$table[, c("rmean", "se(rmean)")]
#   (cohort, endpoint): (zph chisq, zph p, ((SBRT rmean, se), (SBRT+TACE rmean, se)))
R_DEFAULT_PH_RMST = {
    ("before", "OS"): (0.184879970734594, 0.667212583400236,
                       ((49.0937820196745, 1.66937086042318), (50.3131655605349, 2.46167606020007))),
    ("after", "OS"): (0.0948041040570895, 0.758156332449727,
                      ((48.3629131706488, 2.16720595869228), (53.6326716861111, 2.15242277373084))),
    ("before", "PFS"): (0.0717156603416156, 0.788854966172746,
                        ((36.4620922215461, 1.98213394824621), (39.3440618879767, 3.21073927519719))),
    ("after", "PFS"): (0.15828527815268, 0.690740150863191,
                       ((36.7156713953945, 2.59261948121121), (42.3105179101389, 3.38042674354608))),
}


def test_default_cohort_matched_analyses_match_r(default_matched):
    from helpers.stats.robustness import matched_analyses

    t = matched_analyses(default_matched["after"], ENDPOINTS2, ARMS2).set_index(["endpoint", "analysis"])
    for ep, (chisq, weighted, stratified) in R_DEFAULT_MATCHED.items():
        close(t.loc[(ep, "stratified log-rank"), "chi2"], chisq)
        for analysis, (coef, se, p) in (("weighted cluster-robust", weighted), ("stratified on matched sets", stratified)):
            row = t.loc[(ep, analysis)]
            close([np.log(row["hr"]), row["p_value"]], [coef, p])
            close(row["ci_upper"], np.exp(coef + 1.959963984540054 * se))


def test_default_cohort_ph_tests_and_rmst_match_r(default_matched):
    from helpers.stats.robustness import ph_tests, rmst_table

    ph, residuals = ph_tests(default_matched, ENDPOINTS2, ARMS2)
    rm = rmst_table(default_matched, ENDPOINTS2, ARMS2, 60).set_index(["cohort", "endpoint", "arm"])
    ph = ph.set_index(["cohort", "endpoint"])
    for (cohort, ep), (chisq, p, per_arm) in R_DEFAULT_PH_RMST.items():
        close(ph.loc[(cohort, ep), ["chisq", "p_value"]], [chisq, p])
        for arm, (mean, se) in zip(ARMS2, per_arm):
            close(rm.loc[(cohort, ep, arm), ["rmst", "se"]], [mean, se])
        assert len(residuals[(cohort, ep)]) == int(default_matched[cohort][ENDPOINTS2[ep][1]].sum())


def test_robustness_tables_of_degenerate_data_say_why_instead_of_raising():
    from helpers.stats.robustness import matched_analyses, ph_tests, rmst_table

    nobody = pd.DataFrame({"os_months": pd.Series(dtype=float), "os_event": pd.Series(dtype=float),
                           "arm": pd.Series(dtype=str), "weights": pd.Series(dtype=float),
                           "match_id": pd.Series(dtype=str)})
    eps = {"OS": ("os_months", "os_event")}
    t = matched_analyses(nobody, eps, ARMS2)
    assert t["hr"].isna().all() and t["p_value"].isna().all() and (t["note"] != "").all()
    no_events = pd.DataFrame({"os_months": [1.0, 2, 3, 4], "os_event": [0, 0, 0, 0], "arm": ARMS2 * 2,
                              "weights": 1.0, "match_id": ["a", "a", "b", "b"]})
    ph, _ = ph_tests({"after": no_events}, eps, ARMS2)
    assert ph["p_value"].isna().all() and "no events" in ph.loc[0, "note"]
    rm = rmst_table({"after": nobody}, eps, ARMS2, 60)
    assert rm["rmst"].isna().all() and (rm["note"] != "").all()
