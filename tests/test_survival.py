"""Tests of helpers.stats.survival and helpers.report.plots_survival against R's survival package.

Reference values were produced once with R 4.2.2 / survival 3.5-3 by
``tests/r/survival_reference.R`` (the R calls are quoted next to each value).
The data are R's ``aml`` and ``ovarian`` data sets, typed in below.
``test_crosscheck_random_data_against_r`` re-runs R on random data (``--run-r``).
"""
from __future__ import annotations

import math
import shutil
import subprocess
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from helpers.report import fmt  # noqa: E402
from helpers.report.plots_survival import (  # noqa: E402
    km_ticks,
    number_at_risk,
    plot_forest,
    plot_km,
    plot_km_grid,
    risk_counts,
)
from helpers.stats.survival import (  # noqa: E402
    cox_fit,
    fix_near_ties,
    kaplan_meier,
    km_median,
    km_rates_at,
    logrank_test,
    median_followup,
    univariate_then_multivariate_cox,
)

RTOL = 1e-6
R_DIR = Path(__file__).parent / "r"


def close(actual, expected, rtol: float = RTOL) -> None:
    """Relative agreement with R; NaN (R's NA) must match NaN."""
    np.testing.assert_allclose(np.asarray(actual, dtype=float), np.asarray(expected, dtype=float),
                               rtol=rtol, atol=1e-12, equal_nan=True)


# R: survival::aml
AML = pd.DataFrame({
    "time": [9, 13, 13, 18, 23, 28, 31, 34, 45, 48, 161, 5, 5, 8, 8, 12, 16, 23, 27, 30, 33, 43, 45],
    "status": [1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1],
    "x": ["Maintained"] * 11 + ["Nonmaintained"] * 12,
})
MAINTAINED = AML[AML.x == "Maintained"]
NONMAINTAINED = AML[AML.x == "Nonmaintained"]
AML_LEVELS = {"x": ["Maintained", "Nonmaintained"]}


def ovarian() -> pd.DataFrame:
    """R: survival::ovarian, with rx as "A"/"B", ecog.ps as a string, and derived columns
    as in survival_reference.R: months = floor(futime / 30.4375) (ties), agegrp and age60 via
    cut(age, c(0, 50, 65, Inf)) and cut(age, c(0, 50, 60, Inf)), right = FALSE."""
    d = pd.DataFrame({
        "futime": [59, 115, 156, 421, 431, 448, 464, 475, 477, 563, 638, 744, 769, 770, 803, 855, 1040,
                   1106, 1129, 1206, 1227, 268, 329, 353, 365, 377],
        "fustat": [1, 1, 1, 0, 1, 0, 1, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 0],
        "age": [72.3315, 74.4932, 66.4658, 53.3644, 50.3397, 56.4301, 56.937, 59.8548, 64.1753, 55.1781,
                56.7562, 50.1096, 59.6301, 57.0521, 39.2712, 43.1233, 38.8932, 44.6, 53.9068, 44.2055,
                59.589, 74.5041, 43.137, 63.2192, 64.4247, 58.3096],
        "rx": list("AAABAABBABABBBAAAABBBAABBB"),
        "ecog": [str(v) for v in [1, 1, 2, 1, 1, 2, 2, 2, 1, 2, 2, 1, 2, 1, 1, 2, 2, 1, 1, 1, 2, 2, 1, 2, 1, 1]],
    })
    d["months"] = np.floor(d["futime"] / 30.4375)
    d["agegrp"] = np.select([d.age < 50, d.age < 65], ["<50", "50-64"], ">=65")
    d["age60"] = np.select([d.age < 50, d.age < 60], ["<50", "50-59"], ">=60")
    return d


OV_LEVELS = {"rx": ["A", "B"], "ecog": ["1", "2"], "agegrp": ["<50", "50-64", ">=65"],
             "age60": ["<50", "50-59", ">=60"]}


# ---------------------------------------------------------------------------
# Kaplan-Meier
# ---------------------------------------------------------------------------

def test_km_maintained_loglog_matches_r():
    # survfit(Surv(time, status) ~ 1, data = subset(aml, x == "Maintained"), conf.type = "log-log")
    km = kaplan_meier(MAINTAINED.time, MAINTAINED.status)
    assert km["time"].tolist() == [9, 13, 18, 23, 28, 31, 34, 45, 48, 161]
    assert km["n_at_risk"].tolist() == [11, 10, 8, 7, 6, 5, 4, 3, 2, 1]
    assert km["n_event"].tolist() == [1, 1, 1, 1, 0, 1, 1, 0, 1, 0]
    assert km["n_censor"].tolist() == [0, 1, 0, 0, 1, 0, 0, 1, 0, 1]
    close(km["survival"], [0.909090909090909, 0.818181818181818, 0.715909090909091, 0.613636363636364,
                           0.613636363636364, 0.490909090909091, 0.368181818181818, 0.368181818181818,
                           0.184090909090909, 0.184090909090909])
    # summary()'s std.err (of S, Greenwood)
    close(km["std_err"], [0.0866784172041448, 0.1162912998303329, 0.1396649705572278, 0.1526323310273120,
                          0.1526323310273120, 0.1641932672211358, 0.1626688858270948, 0.1626688858270948,
                          0.1534927457862937, 0.1534927457862937])
    close(km["ci_lower"], [0.5080802057699297, 0.4474286146821814, 0.3501903859079384, 0.2657520400012861,
                           0.2657520400012861, 0.1673309097768508, 0.0928295749369852, 0.0928295749369852,
                           0.0117384801231896, 0.0117384801231896])
    close(km["ci_upper"], [0.986673822667823, 0.951162228582492, 0.899023974191053, 0.835299243250221,
                           0.835299243250221, 0.753399790370811, 0.657040832398164, 0.657040832398164,
                           0.525014842726641, 0.525014842726641])


def test_km_log_ci_and_curve_reaching_zero_match_r():
    # survfit(Surv(time, status) ~ 1, data = subset(aml, x == "Nonmaintained"))  # conf.type "log"
    km = kaplan_meier(NONMAINTAINED.time, NONMAINTAINED.status, conf_type="log")
    close(km["survival"], [0.8333333333333334, 0.6666666666666667, 0.5833333333333334, 0.5833333333333334,
                           0.4861111111111112, 0.3888888888888890, 0.2916666666666667, 0.1944444444444445,
                           0.0972222222222222, 0.0])
    close(km["ci_lower"], [0.6470369870133617, 0.4468460811502639, 0.3616137052103847, 0.3616137052103847,
                           0.2675182488582666, 0.1853965260955568, 0.1148311501524704, 0.0569215525716042,
                           0.0152565271708652, np.nan])
    # log CI: upper capped at 1, as R's default
    close(km["ci_upper"], [1.0, 0.994625360259092, 0.940998012173809, 0.940998012173809, 0.883319225339558,
                           0.815735715691272, 0.740822018515804, 0.664223659882563, 0.619548629119056, np.nan])
    # last subject has the event: S = 0, std.err NaN, limits NA in R
    assert np.isnan(km["std_err"].iloc[-1])
    # log-log limits of the same curve, conf.type = "log-log"
    close(kaplan_meier(NONMAINTAINED.time, NONMAINTAINED.status)["ci_lower"].iloc[:3],
          [0.48171494219537886, 0.33701893254140197, 0.27013892408549733])


def test_km_conf_level_changes_the_interval():
    # hand computation for the first row of the maintained arm: S = 10/11, se(log S)^2 = 1/(11*10)
    km90 = kaplan_meier(MAINTAINED.time, MAINTAINED.status, conf_level=0.90, conf_type="log")
    s, se = 10 / 11, math.sqrt(1 / 110)
    close(km90["ci_lower"].iloc[0], s * math.exp(-1.6448536269514722 * se))


def test_km_rates_at_matches_r_summary_times():
    # summary(survfit(..., conf.type = "log-log"), times = c(12, 36, 60, 200)): 200 is beyond the
    # last observation (161) and is dropped, as R does
    rates = km_rates_at(MAINTAINED.time, MAINTAINED.status, [12, 36, 60, 200])
    assert rates["months"].tolist() == [12, 36, 60]
    assert rates["n_at_risk"].tolist() == [10, 3, 1]
    close(rates["survival"], [0.909090909090909, 0.368181818181818, 0.184090909090909])
    close(rates["std_err"], [0.0866784172041448, 0.1626688858270948, 0.1534927457862937])
    close(rates["ci_lower"], [0.5080802057699297, 0.0928295749369852, 0.0117384801231896])
    close(rates["ci_upper"], [0.986673822667823, 0.657040832398164, 0.525014842726641])
    # Nonmaintained arm ends at 45 months: only 12 and 36 kept
    rates = km_rates_at(NONMAINTAINED.time, NONMAINTAINED.status, [60, 12, 36])
    assert rates["months"].tolist() == [12, 36]
    assert rates["n_at_risk"].tolist() == [8, 2]
    close(rates["survival"], [0.583333333333333, 0.194444444444444])
    close(rates["ci_lower"], [0.2701389240854973, 0.0311986429312119])


def test_km_rates_at_extend_matches_r():
    # summary(..., times = c(12, 36, 60, 200), extend = TRUE): carried forward, n.risk 0
    rates = km_rates_at(MAINTAINED.time, MAINTAINED.status, [12, 36, 60, 200], extend=True)
    assert rates["n_at_risk"].tolist() == [10, 3, 1, 0]
    close(rates["survival"], [0.909090909090909, 0.368181818181818, 0.184090909090909, 0.184090909090909])
    rates = km_rates_at(NONMAINTAINED.time, NONMAINTAINED.status, [12, 36, 60, 200], extend=True)
    assert rates["n_at_risk"].tolist() == [8, 2, 0, 0]
    close(rates["survival"], [0.583333333333333, 0.194444444444444, 0.0, 0.0])


def test_km_all_censored_matches_r():
    # summary(survfit(Surv(c(2, 4, 6), c(0, 0, 0)) ~ 1, conf.type = "log-log"), times = c(0, 3, 6))
    #  time n.risk survival lower upper:  0 3 1 1 1;  3 2 1 NA NA;  6 1 1 NA NA
    rates = km_rates_at([2, 4, 6], [0, 0, 0], [0, 3, 6])
    assert rates["n_at_risk"].tolist() == [3, 2, 1]
    close(rates["survival"], [1, 1, 1])
    close(rates["ci_lower"], [1, np.nan, np.nan])
    close(rates["ci_upper"], [1, np.nan, np.nan])
    assert km_median([2, 4, 6], [0, 0, 0])["median"] != km_median([2, 4, 6], [0, 0, 0])["median"]  # NaN


def test_km_median_matches_r_quantile():
    # quantile(survfit(..., conf.type = "log-log"), 0.5) and print(fit) for conf.type = "log"
    m = km_median(MAINTAINED.time, MAINTAINED.status)
    assert (m["median"], m["ci_lower"]) == (31, 13) and math.isnan(m["ci_upper"])
    m = km_median(MAINTAINED.time, MAINTAINED.status, conf_type="log")
    assert (m["median"], m["ci_lower"]) == (31, 18) and math.isnan(m["ci_upper"])
    m = km_median(NONMAINTAINED.time, NONMAINTAINED.status)
    assert (m["median"], m["ci_lower"], m["ci_upper"]) == (23, 5, 33)
    m = km_median(NONMAINTAINED.time, NONMAINTAINED.status, conf_type="log")
    assert (m["median"], m["ci_lower"]) == (23, 8) and math.isnan(m["ci_upper"])


def test_km_median_midpoint_rules_match_r():
    # quantile(survfit(Surv(1:4, rep(1, 4)) ~ 1), 0.5)$quantile = 2.5  (S = 0.5 on [2, 3))
    assert km_median([1, 2, 3, 4], [1, 1, 1, 1])["median"] == 2.5
    # quantile(survfit(Surv(1:4, c(1, 1, 0, 0)) ~ 1), 0.5)$quantile = 3  (S ends at 0.5: midpoint with 4)
    assert km_median([1, 2, 3, 4], [1, 1, 0, 0])["median"] == 3.0


def test_median_followup_reverse_km_matches_r():
    # quantile(survfit(Surv(time, 1 - status) ~ 1, data = aml), 0.5): 161 (45, NA)
    mf = median_followup(AML.time, AML.status, conf_type="log")
    assert mf["reverse_km_median"] == 161 and mf["ci_lower"] == 45 and math.isnan(mf["ci_upper"])
    # same with conf.type = "log-log": 161 (28, NA)
    mf = median_followup(AML.time, AML.status)
    assert mf["reverse_km_median"] == 161 and mf["ci_lower"] == 28 and math.isnan(mf["ci_upper"])
    # median(aml$time) = 23, range 5-161; median of the 5 censored times (13, 16, 28, 45, 161) = 28
    assert (mf["median_observed"], mf["min"], mf["max"], mf["median_censored"]) == (23, 5, 161, 28)


def test_missing_rows_are_dropped_and_bad_codes_rejected():
    km = kaplan_meier([1, 2, np.nan, 3], [1, np.nan, 1, 0])
    assert km["time"].tolist() == [1, 3]
    with pytest.raises(ValueError):
        kaplan_meier([1, 2], [1, 2])
    with pytest.raises(ValueError):
        kaplan_meier([-1, 2], [1, 0])
    assert kaplan_meier([], []).empty


def test_near_ties_are_merged_like_r_aeqsurv():
    # 12 months as 365.25 days / 30.4375 and as 12.0 differ in the last bit at most
    t = np.array([365.25 / 30.4375, 12.0, 12.0 + 1e-11, 13.0])
    assert len(set(fix_near_ties(t).tolist())) == 2
    assert len(kaplan_meier(t, [1, 1, 1, 0])) == 2


# ---------------------------------------------------------------------------
# Log-rank
# ---------------------------------------------------------------------------

def test_logrank_matches_r_survdiff():
    # survdiff(Surv(time, status) ~ x, data = aml): Chisq = 3.3963886989776011, p = 0.0653393220405051
    lr = logrank_test(AML.time, AML.status, AML.x)
    close([lr.chi2, lr.p_value], [3.3963886989776011, 0.0653393220405051])
    assert lr.df == 1
    close(lr.expected, [10.6893359923007250, 7.3106640076992759])
    assert lr.observed == (7, 11) and lr.n == (11, 12)


def test_logrank_three_groups_matches_r():
    # survdiff(Surv(futime, fustat) ~ agegrp, data = ov): chisq 37.6970174104446, p 6.51923561253275e-09
    ov = ovarian()
    lr = logrank_test(ov.futime, ov.fustat, ov.agegrp, group_order=OV_LEVELS["agegrp"])
    assert lr.df == 2 and lr.groups == ("<50", "50-64", ">=65")
    close([lr.chi2, lr.p_value], [37.6970174104446, 6.51923561253275e-09])


def test_logrank_no_events_in_one_group_matches_r():
    # aml0 <- aml; aml0$status[aml0$x == "Maintained"] <- 0; survdiff(...): chisq 14.3368111141604
    aml0 = AML.assign(status=np.where(AML.x == "Maintained", 0, AML.status))
    lr = logrank_test(aml0.time, aml0.status, aml0.x)
    close([lr.chi2, lr.p_value], [14.3368111141604, 1.52846689124985e-04])


def test_logrank_degenerate_cases_return_results():
    none = logrank_test(AML.time, np.zeros(len(AML)), AML.x)          # all censored
    assert none.chi2 == 0 and math.isnan(none.p_value) and none.note
    one = logrank_test(AML.time, AML.status, ["same"] * len(AML))     # one group
    assert math.isnan(one.p_value) and one.note


# ---------------------------------------------------------------------------
# Cox
# ---------------------------------------------------------------------------

def row(result, term):
    return result.table.set_index("term").loc[term]


def test_cox_tied_times_efron_matches_r():
    # summary(coxph(Surv(time, status) ~ x, data = aml))  # ties = "efron" (default); aml has ties
    res = cox_fit(AML, "time", "status", ["x"], AML_LEVELS)
    assert res.estimable and res.converged and res.n == 23 and res.n_events == 18
    r = row(res, "x[Nonmaintained]")
    close([r.coef, r.se, r.hr, r.ci_lower, r.ci_upper, r.p_value],
          [0.915532575014718, 0.511934275172005, 2.49810532617214, 0.915907257436408, 6.8134957660633,
           0.0737148606390457])
    # Breslow would give coef 0.9042197236857 (coxph(..., ties = "breslow")): we are not Breslow
    assert abs(r.coef - 0.9042197236857) > 1e-3
    # Likelihood ratio test = 3.38 on 1 df, p = 0.0658 (summary(coxph))
    assert round(res.lr_chi2, 2) == 3.38 and round(res.lr_p_value, 4) == 0.0658


def test_cox_multivariable_numeric_and_categorical_matches_r():
    # coxph(Surv(futime, fustat) ~ age + rx + ecog, data = ov)   (rx, ecog factors)
    res = cox_fit(ovarian(), "futime", "fustat", ["age", "rx", "ecog"], OV_LEVELS)
    assert res.estimable
    assert res.table["term"].tolist() == ["age", "rx[B]", "ecog[2]"]
    expected = {  # coef, se, hr, lower .95, upper .95, Pr(>|z|)
        "age": [0.146989256211902, 0.0463020480369044, 1.158341517987188, 1.057850384213238,
                1.26837886748113, 0.00150056864858892],
        "rx[B]": [-0.814584764008128, 0.6341610248961075, 0.442823165306914, 0.127770763194900,
                  1.53472007859355, 0.19896434659416146],
        "ecog[2]": [0.103179602127612, 0.6063771047380587, 1.108690514370849, 0.337801212839224,
                    3.63881066715095, 0.86488628738133688],
    }
    for term, values in expected.items():
        r = row(res, term)
        close([r.coef, r.se, r.hr, r.ci_lower, r.ci_upper, r.p_value], values)
    # f$loglik = -34.9849403711626 -27.0273583257535
    close([res.loglik_null, res.loglik], [-34.9849403711626, -27.0273583257535])


def test_cox_three_level_factor_with_ties_matches_r():
    # coxph(Surv(months, fustat) ~ age60 + rx, data = ov)  # months = floor(futime / 30.4375): ties
    res = cox_fit(ovarian(), "months", "fustat", ["age60", "rx"], OV_LEVELS)
    expected = {
        "age60[50-59]": [1.444951296514963, 1.169049380295899, 4.241645554868886, 0.428980684727106,
                         41.94024965152970, 0.21645657245941766],
        "age60[>=60]": [3.243463142112582, 1.161410641473391, 25.622301948807607, 2.630411015305612,
                        249.58166360157011, 0.00522713063373155],
        "rx[B]": [-0.656914472028252, 0.675996829383126, 0.518448556611078, 0.137814884460568,
                  1.95036194315438, 0.33116422315523136],
    }
    for term, values in expected.items():
        r = row(res, term)
        close([r.coef, r.se, r.hr, r.ci_lower, r.ci_upper, r.p_value], values)
    close(res.loglik, -28.1748550902570)


def test_cox_separation_in_one_term_is_flagged_others_match_r():
    # coxph(Surv(months, fustat) ~ agegrp + rx, data = ov): all 4 patients >= 65 died ->
    # Warning: Loglik converged before variable 2 ; coefficient may be infinite.
    # R still reports agegrp50-64 1.474768645164908 (se 1.167967234026414), rxB -0.391438486474603
    res = cox_fit(ovarian(), "months", "fustat", ["agegrp", "rx"], OV_LEVELS)
    assert not res.estimable and "agegrp[>=65]" in res.reason
    bad = row(res, "agegrp[>=65]")
    assert math.isnan(bad.hr) and "infinity" in bad.note
    close([row(res, "agegrp[50-64]").coef, row(res, "agegrp[50-64]").se, row(res, "rx[B]").coef],
          [1.474768645164908, 1.167967234026414, -0.391438486474603])


def test_cox_no_events_in_one_arm_is_not_estimable():
    # coxph(Surv(time, status) ~ x, data = aml0) warns:
    # "Loglik converged before variable  1 ; coefficient may be infinite."
    aml0 = AML.assign(status=np.where(AML.x == "Maintained", 0, AML.status))
    res = cox_fit(aml0, "time", "status", ["x"], AML_LEVELS)
    assert not res.estimable and "infinite" in res.reason
    assert res.table["hr"].isna().all() and res.table["note"].iloc[0]


@pytest.mark.parametrize("terms, data, expect", [
    (["x"], AML.assign(status=0), "no events"),
    (["one"], AML.assign(one="A"), "single level"),
    (["x", "one"], AML.assign(one="A"), "single level"),
    (["x"], AML.assign(x="Maintained"), "single level"),
    (["nope"], AML, "not in the data"),
    (["x"], AML.assign(x=np.where(AML.index == 0, "Other", AML.x)), "declared levels"),
    (["t2", "t3"], AML.assign(t2=AML.time * 2.0, t3=AML.time * 4.0 + 1), "collinear"),
    (["x"], AML.assign(time=np.nan), "no complete rows"),
    (["x"], AML.iloc[:0], "no patients"),
])
def test_cox_degenerate_cases_return_flagged_results(terms, data, expect):
    res = cox_fit(data, "time", "status", terms, AML_LEVELS)
    assert not res.estimable
    assert expect in res.reason
    assert list(res.table.columns[:7]) == ["term", "variable", "hr", "ci_lower", "ci_upper", "p_value", "coef"]


def test_cox_single_level_term_dropped_rest_still_matches_r():
    res = cox_fit(AML.assign(one="A"), "time", "status", ["x", "one"], AML_LEVELS)
    close(row(res, "x[Nonmaintained]").hr, 2.49810532617214)  # as coxph(~ x), R's one-term value
    assert math.isnan(row(res, "one").hr)


def test_cox_non_convergence_is_flagged():
    # coxph(Surv(t, e) ~ x, data.frame(t = 1:6, e = c(1,0,0,1,0,0), x = c(1,2,3,4,5,7))):
    # "Ran out of iterations and did not converge" (coef -19.2 after 21 iterations)
    d = pd.DataFrame({"t": range(1, 7), "e": [1, 0, 0, 1, 0, 0], "x": [1.0, 2, 3, 4, 5, 7]})
    res = cox_fit(d, "t", "e", ["x"])
    assert not res.estimable and not res.converged and "did not converge" in res.reason


def test_cox_drops_incomplete_rows_like_r():
    ov = ovarian()
    ov.loc[[0, 5], "age"] = np.nan
    res = cox_fit(ov, "futime", "fustat", ["age"])
    assert res.n == 24 and res.n_events == 11


def test_univariate_then_multivariate_selects_by_entry_p_and_matches_r():
    tab = univariate_then_multivariate_cox(ovarian(), "months", "fustat", ["age60", "ecog"], OV_LEVELS,
                                           entry_p=0.1, forced=("rx",))
    uni = tab[tab.model == "univariate"].set_index("term")
    # coxph(Surv(months, fustat) ~ rx) / ~ age60 / ~ ecog
    close(uni.loc["rx[B]", ["hr", "ci_lower", "ci_upper", "p_value"]],
          [0.550801907277935, 0.17432073353539, 1.74037095248581, 0.309630448806552])
    close(uni.loc["age60[>=60]", ["hr", "p_value"]], [23.1469828159119, 0.00672812091366445])
    close(uni.loc["age60[50-59]", ["hr", "p_value"]], [2.8541300929617, 0.34057258427724374])
    close(uni.loc["ecog[2]", ["hr", "p_value"]], [1.47676080970863, 0.506060466975394])
    multi = tab[tab.model == "multivariate"]
    # rx forced; age60 enters (one level p = 0.0067 < 0.1); ecog (p = 0.51) does not
    assert multi["term"].tolist() == ["rx[B]", "age60[50-59]", "age60[>=60]"]
    assert multi["note"].tolist() == ["forced", "univariate p < 0.1", "univariate p < 0.1"]
    # = coxph(Surv(months, fustat) ~ age60 + rx)
    close(multi.set_index("term").loc["age60[>=60]", "hr"], 25.622301948807607)
    assert list(tab.columns[:8]) == ["model", "variable", "term", "hr", "ci_lower", "ci_upper", "p_value", "note"]


def test_univariate_then_multivariate_skips_not_estimable_candidates():
    tab = univariate_then_multivariate_cox(ovarian(), "months", "fustat", ["agegrp"], OV_LEVELS,
                                           forced=("rx",), entry_p=0.5)
    # agegrp[<50] has p = 0.25 < 0.5 but the model is separated (>= 65): it must not enter
    assert tab[tab.model == "multivariate"]["term"].tolist() == ["rx[B]"]
    assert tab.set_index(["model", "term"]).loc[("univariate", "agegrp[>=65]"), "note"]


# ---------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------

def _texts(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.findobj(matplotlib.text.Text)]


def test_plot_km_returns_figure_with_risk_table():
    fig = plot_km(None, AML, "time", "status", "x", ["Maintained", "Nonmaintained"], None, "aml",
                  months_ticks=(0, 12, 24, 36, 48))
    try:
        assert isinstance(fig, Figure)
        texts = _texts(fig)
        assert "Number at risk" in texts
        # summary(survfit(Surv(time, status) ~ x, aml), times = c(0, 12, 24, 36, 48), extend = TRUE)$n.risk
        #   Maintained 11 10 6 3 2;  Nonmaintained 12 8 5 2 0
        assert number_at_risk(MAINTAINED.time, [0, 12, 24, 36, 48]) == [11, 10, 6, 3, 2]
        assert number_at_risk(NONMAINTAINED.time, [0, 12, 24, 36, 48]) == [12, 8, 5, 2, 0]
        table = texts[texts.index("Number at risk"):]
        assert table[1:13] == ["Maintained", "11", "10", "6", "3", "2", "Nonmaintained", "12", "8", "5", "2", "0"]
        # KMunicate rows (Morris et al. 2019): cumulative censored and events up to each tick, as R's
        #   s <- summary(survfit(Surv(time, status) ~ 1, aml[aml$x == "Maintained", ]), times = c(0, 12, 24, 36, 48),
        #                extend = TRUE); cumsum(s$n.censor); cumsum(s$n.event)
        #   Maintained censored 0 0 1 2 3, events 0 1 4 6 7; Nonmaintained censored 0 0 1 1 1, events 0 5 6 9 11
        assert table[13:26] == ["Censored", "Maintained", "0", "0", "1", "2", "3",
                                "Nonmaintained", "0", "0", "1", "1", "1"]
        assert table[26:39] == ["Events", "Maintained", "0", "1", "4", "6", "7",
                                "Nonmaintained", "0", "5", "6", "9", "11"]
        counts = risk_counts(NONMAINTAINED.time, NONMAINTAINED.status, [0, 12, 24, 36, 48])
        assert counts["events"].tolist() == [0, 5, 6, 9, 11] and counts["censored"].tolist() == [0, 0, 1, 1, 1]
        assert "Survival (probability)" == fig.axes[0].get_ylabel()
        assert "Log-rank p = 0.065" in texts
        given = plot_km(None, AML, "time", "status", "x", None, None, "", logrank_p=float("nan"),
                        logrank_reason="no events", months_ticks=km_ticks(48))
        assert "Log-rank p not estimable (no events)" in _texts(given)  # the p given is shown, not recomputed
        plt.close(given)
        fig.canvas.draw()  # layout with the table must not fail
    finally:
        plt.close(fig)


@pytest.mark.parametrize("data, message", [
    (AML.iloc[:0], "No patients"),
    (AML[AML.x == "Maintained"], "No patients in Nonmaintained"),
    (AML.assign(status=0), "Log-rank p not estimable (no events)"),
])
def test_plot_km_says_what_is_missing(data, message):
    fig = plot_km(None, data, "time", "status", "x", ["Maintained", "Nonmaintained"], None, "aml")
    try:
        assert message in _texts(fig)
        fig.canvas.draw()
    finally:
        plt.close(fig)


def test_plot_km_into_existing_axes_and_grid():
    fig, ax = plt.subplots()
    try:
        assert plot_km(ax, AML, "time", "status", "x", None, {"Maintained": "k"}, "") is fig
    finally:
        plt.close(fig)
    panel = dict(data=AML, time_col="time", event_col="status", group_col="x", title="OS")
    grid = plot_km_grid([panel] * 6)
    try:
        assert isinstance(grid, Figure)
        assert {"A", "B", "C", "D", "E", "F"} <= set(_texts(grid))
        assert _texts(grid).count("Number at risk") == 6
    finally:
        plt.close(grid)


def test_plot_km_degenerate_groups():
    d = AML.assign(status=np.where(AML.x == "Maintained", 0, AML.status))
    fig = plot_km(None, d, "time", "status", "x", None, None, "no events in one arm")
    try:
        assert "Number at risk" in _texts(fig)
    finally:
        plt.close(fig)


def test_plot_forest_shows_not_estimable_rows():
    tab = univariate_then_multivariate_cox(ovarian(), "months", "fustat", ["agegrp", "age60"], OV_LEVELS,
                                           forced=("rx",))
    fig = plot_forest(tab, "OS")
    try:
        texts = _texts(fig)
        assert isinstance(fig, Figure)
        assert "not estimable" in texts
        assert "—" in texts                          # agegrp: not in the multivariate model
        assert fmt.hr_ci(25.622301948807607, 2.630411015305612, 249.58166360157011) in texts
        assert "Univariate" in texts and "Multivariate" in texts
        fig.canvas.draw()
    finally:
        plt.close(fig)
    single = plot_forest(cox_fit(AML, "time", "status", ["x"], AML_LEVELS).table)
    plt.close(single)


# ---------------------------------------------------------------------------
# Cross-check with R on random data
# ---------------------------------------------------------------------------

def _random_cohort(seed: int = 20250930, n: int = 150) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    arm = rng.choice(["SBRT", "SBRT+TACE"], n)
    cp = rng.choice(["A", "B"], n, p=[0.75, 0.25])
    ecog = rng.choice(["0", "1", "2"], n, p=[0.5, 0.35, 0.15])
    age = rng.normal(62, 9, n).round(1)
    risk = 0.4 * (arm == "SBRT") + 0.5 * (cp == "B") + 0.3 * (ecog != "0") + 0.02 * (age - 62)
    event_time = rng.exponential(24 * np.exp(-risk))
    censor = rng.uniform(6, 72, n)
    time = np.round(np.minimum(event_time, censor) * 2) / 2 + 0.5  # half-months: many ties
    d = pd.DataFrame({"time": time, "status": (event_time <= censor).astype(int), "arm": arm, "cp": cp,
                      "ecog": ecog, "age": age})
    d.loc[rng.choice(n, 4, replace=False), "age"] = np.nan  # Cox uses complete cases
    return d


@pytest.mark.r_crosscheck
def test_crosscheck_random_data_against_r(tmp_path):
    assert shutil.which("Rscript"), "Rscript not found"
    d = _random_cohort()
    d.to_csv(tmp_path / "input.csv", index=False, na_rep="NA")
    subprocess.run(["Rscript", str(R_DIR / "survival_crosscheck.R"), str(tmp_path / "input.csv"), str(tmp_path)],
                   check=True, capture_output=True, text=True)
    arms = ["SBRT", "SBRT+TACE"]

    km_r = pd.read_csv(tmp_path / "km.csv")
    rates_r = pd.read_csv(tmp_path / "rates.csv")
    med_r = pd.read_csv(tmp_path / "median.csv")
    for conf_type in ("log-log", "log"):
        for arm in arms:
            sub = d[d.arm == arm]
            mine = kaplan_meier(sub.time, sub.status, conf_type=conf_type)
            ref = km_r[(km_r.conf_type == conf_type) & (km_r.arm == arm)]
            assert len(mine) == len(ref)
            for col in ["time", "n_at_risk", "n_event", "n_censor", "survival", "std_err", "ci_lower", "ci_upper"]:
                close(mine[col], ref[col])
            mine = km_rates_at(sub.time, sub.status, [6, 12, 24, 36, 60, 1000], conf_type=conf_type)
            ref = rates_r[(rates_r.conf_type == conf_type) & (rates_r.arm == arm)]
            for col in ["months", "n_at_risk", "survival", "std_err", "ci_lower", "ci_upper"]:
                close(mine[col], ref[col])
            m = km_median(sub.time, sub.status, conf_type=conf_type)
            ref = med_r[(med_r.conf_type == conf_type) & (med_r.arm == arm)].iloc[0]
            close([m["median"], m["ci_lower"], m["ci_upper"]], [ref["median"], ref["ci_lower"], ref["ci_upper"]])
        mf = median_followup(d.time, d.status, conf_type=conf_type)
        ref = med_r[(med_r.conf_type == conf_type) & (med_r.arm == "reverse")].iloc[0]
        close([mf["reverse_km_median"], mf["ci_lower"], mf["ci_upper"]],
              [ref["median"], ref["ci_lower"], ref["ci_upper"]])

    lr_r = pd.read_csv(tmp_path / "logrank.csv").set_index("by")
    for by in ("arm", "ecog"):
        lr = logrank_test(d.time, d.status, d[by])
        close([lr.chi2, lr.df, lr.p_value], lr_r.loc[by, ["chi2", "df", "p_value"]])

    cox_r = pd.read_csv(tmp_path / "cox.csv")
    levels = {"arm": arms, "cp": ["A", "B"], "ecog": ["0", "1", "2"]}
    for model, terms in (("arm", ["arm"]), ("full", ["arm", "cp", "ecog", "age"])):
        res = cox_fit(d, "time", "status", terms, levels)
        assert res.estimable
        ref = cox_r[cox_r.model == model]
        assert res.table["term"].str.replace(r"[\[\]]", "", regex=True).tolist() == ref["term"].tolist()
        assert res.n == ref["n"].iloc[0] and res.n_events == ref["n_events"].iloc[0]
        for col in ["coef", "se", "hr", "ci_lower", "ci_upper", "p_value"]:
            close(res.table[col], ref[col])


def test_weighted_km_influence_se_per_time_and_event_equals_the_per_row_sum(monkeypatch):
    """Without clusters, from GROUPED_INFLUENCE_ROWS rows the IJ variance is summed per distinct (time, event)
    pair; the per-row sum (the form pinned to R's survfit(..., weights = w) above) gives the same se."""
    import numpy as np

    from helpers.stats.survival import km

    rng = np.random.default_rng(11)
    n = km.GROUPED_INFLUENCE_ROWS + 500
    t = np.round(rng.exponential(30, n), 0)  # heavy ties
    e = (rng.random(n) < 0.6).astype(float)
    w = rng.gamma(2.0, 0.5, n)
    grouped = km.kaplan_meier(t, e, weights=w)
    monkeypatch.setattr(km, "GROUPED_INFLUENCE_ROWS", 10**9)
    per_row = km.kaplan_meier(t, e, weights=w)
    np.testing.assert_allclose(grouped["std_err"], per_row["std_err"], rtol=1e-12, atol=0)
    np.testing.assert_allclose(grouped["ci_lower"], per_row["ci_lower"], rtol=1e-12)
    assert grouped["survival"].equals(per_row["survival"])
