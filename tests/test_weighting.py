"""Weighting instead of matching, and the matching-settings grid (notebook 06), against R on R's lung data.

The data are ``tests/data/lung.csv`` (R's ``survival::lung``, see ``tests/test_robustness.py``): the
"treatment" is sex 2 vs 1, the propensity model ``glm(treat ~ ecog + age_group, family = binomial)`` with the
ECOG score as 0, 1, 2+ and an age group. The reference values were printed by
``Rscript tests/r/weighting_reference.R`` (R 4.2.2, survival 3.5-3,
MatchIt 4.5.1); WeightIt is not installable, so the weights are computed by formula in R from ``glm``'s fitted
values, and the SMDs by MatchIt's own ``bal1var`` (the function behind ``summary(matchit(...))``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers.stats.matching import fit_propensity
from helpers.stats.robustness import (
    iptw_balance,
    iptw_cohort,
    iptw_cox_table,
    iptw_weights_table,
    matching_grid,
    weighted_km_table,
)
from helpers.stats.weighting import effective_sample_size, iptw_weights, weighted_smd

RTOL = 1e-6
DATA = Path(__file__).parent / "data"
ARMS = ["1", "2"]
COVARIATES = ["ecog", "age_group"]
ENDPOINTS = {"OS": ("time", "status")}


def close(actual, expected, rtol: float = RTOL) -> None:
    np.testing.assert_allclose(np.asarray(actual, dtype=float), np.asarray(expected, dtype=float),
                               rtol=rtol, atol=1e-12, equal_nan=True)


@pytest.fixture(scope="module")
def lung() -> pd.DataFrame:
    """lung without missing ph.ecog, with the categories of the propensity model and the fitted score."""
    d = pd.read_csv(DATA / "lung.csv").dropna(subset=["ph.ecog"]).reset_index(drop=True)
    d["ecog"] = np.where(d["ph.ecog"] >= 2, "2+", d["ph.ecog"].astype(int).astype(str))
    d["age_group"] = np.where(d["age"] < 60, "under60", np.where(d["age"] < 70, "60to69", "70plus"))
    d["arm"] = d["sex"].astype(str)
    d["patient_id"] = [f"L{i:03d}" for i in range(len(d))]
    fit = fit_propensity(d, COVARIATES, treatment="arm", treated_level="2")
    return d.assign(propensity_score=fit.propensity_score.to_numpy())


# R (tests/r/weighting_reference.R), per estimand:
#   quantile(w[treat == g]), sum(w[treat == g]), sum(w)^2 / sum(w^2)       for g = 1 then 0
#   MatchIt:::bal1var(as.numeric(x == level), treat, w, s.weights = 1, s.d.denom = <"treated" | "pooled">,
#                     standardize = TRUE)[3]   for ecog 0, 1, 2+ and age_group 60to69, 70plus, under60
#   summary(survfit(Surv(time, status) ~ treat, weights = w, conf.type = "log-log"), times = c(180, 365, 730))
#     cbind(n.risk, surv, std.err, lower, upper)   (treat 0 rows, then treat 1)
#   f <- coxph(Surv(time, status) ~ treat, weights = w, robust = TRUE): coef, robust se, naive se, p
R_IPTW = {
    "ATT": dict(
        weights={"2": (1, 1, 1, 1, 1, 90, 90),
                 "1": (0.388466028644434, 0.493913452792519, 0.633570670944209, 0.825018169046411,
                       1.166832135007683, 90.411871027241318, 122.693392106419324)},
        smd=[0.0240311540652818, 0.0215150532489135, -0.0514148711474331, 0.00326861717102277,
             0.0124942057488758, -0.0132063906411066],
        km={"1": [(60.12113026716663, 0.6571626432070451, 0.0426283733171246, 0.5664808416741312, 0.733349854371081),
                  (24.16208506543862, 0.3497612754368465, 0.0466965564349021, 0.2598494351147980, 0.440927329239793),
                  (5.29576745464811, 0.0876596645674675, 0.0319062492609990, 0.0382651818582044, 0.162685811640692)],
            "2": [(71.0, 0.8424017055877832, 0.0386809589313602, 0.7483809161533331, 0.903504304284832),
                  (30.0, 0.5264630301859056, 0.0597368539904425, 0.4035798232667308, 0.635316232824086),
                  (6.0, 0.1872324979050559, 0.0620679022695796, 0.0846596532272596, 0.320832676867241)]},
        cox=(-0.49477261375587528, 0.16730460606833775, 0.18069877001568863, 0.00310329749675422)),
    "ATE": dict(
        weights={"2": (0.736263953843555, 0.877041879406542, 0.964047727003705, 1.118112680884030,
                       1.417094671137895, 89.655807662022482, 87.224987404215810),
                 "1": (0.837972889534306, 0.901612964901212, 0.985899479820954, 1.101442683521402,
                       1.307735693815210, 137.248574144194095, 134.520698934966390)},
        smd=[-0.00372956691944502, -0.00925876306133533, 0.0150577520602314, 0.00471759474354018,
             -0.0101949985012141, 0.00424133884398561],
        km={"1": [(89.99821518326799, 0.6523457898233800, 0.0410047331857104, 0.5655355424047152, 0.726035787225423),
                  (35.70575177958190, 0.3430510151753647, 0.0443196957882620, 0.2578017119147477, 0.429816378762058),
                  (7.42079357395062, 0.0823254116944254, 0.0291846543053446, 0.0369502778677887, 0.150988393736842)],
            "2": [(70.84665136423860, 0.8394522129796903, 0.0397454318916343, 0.7427471913073308, 0.902142591511741),
                  (30.90272066050945, 0.5361737685005268, 0.0601384891487483, 0.4119357153043211, 0.645295086616604),
                  (6.59183194436930, 0.1911210687214866, 0.0635125587106709, 0.0860383189056883, 0.327451824749178)]},
        cox=(-0.50621425527141917, 0.16210194783068912, 0.16621633872588149, 0.00179130826497433)),
}


def test_propensity_score_is_rs_glm(lung):
    # R: head(fitted(glm(treat ~ ecog + age_group, family = binomial)), 3)
    close(lung["propensity_score"].iloc[:3], [0.279780722488180, 0.387844053650892, 0.514161555137529])


@pytest.mark.parametrize("estimand", list(R_IPTW))
def test_iptw_weights_summary_and_effective_sample_size_match_r(lung, estimand):
    weighted, notes = iptw_cohort(lung, "2")
    table = iptw_weights_table(weighted, notes, ARMS).set_index(["estimand", "arm"])
    for arm, (q0, q25, q50, q75, q100, total, ess) in R_IPTW[estimand]["weights"].items():
        row = table.loc[(estimand, arm)]
        close(row[["min", "p25", "median", "p75", "max", "sum", "ess"]], [q0, q25, q50, q75, q100, total, ess])
        close(effective_sample_size(weighted.loc[weighted["arm"] == arm, f"w_{estimand}"]), ess)
    assert notes[estimand] == ""


@pytest.mark.parametrize("estimand, sd", [("ATT", "treated"), ("ATE", "pooled")])
def test_weighted_smd_per_level_matches_matchit_bal1var(lung, estimand, sd):
    weighted, _ = iptw_cohort(lung, "2")
    smd = weighted_smd(weighted, COVARIATES, weighted["arm"] == "2", weighted[f"w_{estimand}"], sd)
    assert smd["level"].tolist() == ["0", "1", "2+", "60to69", "70plus", "under60"]
    close(smd["smd"], R_IPTW[estimand]["smd"])
    worst = iptw_balance(weighted, COVARIATES, "2", {"ATT": "", "ATE": ""}).set_index(["estimand", "variable"])
    close(worst.loc[(estimand, "ecog"), "smd"], max(abs(v) for v in R_IPTW[estimand]["smd"][:3]))


@pytest.mark.parametrize("estimand", list(R_IPTW))
def test_iptw_weighted_kaplan_meier_matches_r(lung, estimand):
    from helpers.stats.survival import km_rates_at

    weighted, _ = iptw_cohort(lung, "2")
    km = weighted_km_table(weighted, ENDPOINTS, ARMS, [180, 365, 730], weights=f"w_{estimand}")
    for arm, expected in R_IPTW[estimand]["km"].items():
        rows = km[km["arm"] == arm]
        close(rows[["n_at_risk", "survival", "ci_lower", "ci_upper"]], [(n, s, lo, hi) for n, s, _, lo, hi in expected])
        g = weighted[weighted["arm"] == arm]
        se = km_rates_at(g["time"], g["status"], [180, 365, 730], weights=g[f"w_{estimand}"], robust=True)["std_err"]
        close(se, [x[2] for x in expected])  # the whole fit is robust: the ATT's treated arm (weights 1) too


@pytest.mark.parametrize("estimand", list(R_IPTW))
def test_iptw_weighted_cox_with_robust_variance_matches_r(lung, estimand):
    weighted, notes = iptw_cohort(lung, "2")
    t = iptw_cox_table(weighted, notes, ENDPOINTS, ARMS).set_index("estimand")
    coef, se, naive_se, p = R_IPTW[estimand]["cox"]
    close([np.log(t.loc[estimand, "hr"]), t.loc[estimand, "p_value"]], [coef, p])
    close(t.loc[estimand, ["ci_lower", "ci_upper"]], np.exp([coef - 1.959963984540054 * se, coef + 1.959963984540054 * se]))
    assert naive_se != se


# R (tests/r/weighting_reference.R, its end): per cell, table(match.data(m)$treat) (controls, treated), treated without a
# control, max |summary(m)$sum.matched[, "Std. Mean Diff."]| over the covariates' dummies, and
# coef and se of coxph(Surv(time, status) ~ treat, data = match.data(m)).
R_GRID = {
    (0.1, 1, "matchit-4.5.1"): (86, 86, 4, 0.0, -0.570469218759896, 0.180906091078120),
    (None, 3, "matchit-4.5.1-int-abs"): (137, 90, 0, 0.413672575837461, -0.523691265984379, 0.167417568184957),
}


@pytest.mark.parametrize("cell", list(R_GRID))
def test_matching_grid_cells_match_matchit(lung, cell):
    caliper, ratio, emulate = cell
    n_c, n_t, unmatched, smd, coef, se = R_GRID[cell]
    g = matching_grid(lung, COVARIATES, ARMS, [caliper], [ratio], ENDPOINTS, emulate=emulate).iloc[0]
    assert (g["n_control"], g["n_treated"], g["n_unmatched_treated"]) == (n_c, n_t, unmatched)
    close(g["smd_max"], smd)
    close([np.log(g["hr"]), g["ci_upper"]], [coef, np.exp(coef + 1.959963984540054 * se)])


def test_degenerate_weights_and_grid_cells_say_why():
    # a score of exactly 1 (separation): the ATE weight of a control is infinite, the ATT weights are not
    ps, treated = np.array([1.0, 0.5, 0.5, 1.0]), np.array([True, True, False, False])
    assert iptw_weights(ps, treated, "ATE").note.startswith("propensity score numerically 0 or 1 for 2 patients")
    assert iptw_weights(ps, treated, "ATT").note.startswith("propensity score numerically 0 or 1 for 1 patient")
    assert iptw_weights(np.array([0.5, 0.5]), np.array([True, True]), "ATT").note.startswith("one arm has no")
    # complete separation: glm's scores stop short of 0 and 1, but the arms do not overlap
    separated = iptw_weights(np.array([1 - 1e-13, 0.9, 1e-13, 0.2]), treated, "ATT")
    assert np.isnan(separated.weights).all() and "do not overlap" in separated.note
    d = pd.DataFrame({"patient_id": list("abcd"), "arm": ["1", "2", "1", "2"], "x": ["a", "a", "b", "b"],
                      "time": [1.0, 2, 3, 4], "status": [0, 0, 0, 0], "propensity_score": [0.5, 1.0, 0.5, 0.5]})
    weighted, notes = iptw_cohort(d, "2")
    cox = iptw_cox_table(weighted, notes, ENDPOINTS, ARMS).set_index("estimand")
    assert np.isnan(cox.loc["ATE", "hr"]) and "infinite" in cox.loc["ATE", "note"]
    assert np.isnan(cox.loc["ATT", "hr"]) and "no events" in cox.loc["ATT", "note"]
    km = weighted_km_table(weighted, ENDPOINTS, ARMS, [1, 2], weights="w_ATE", note=notes["ATE"])
    assert km["survival"].isna().all() and km["note"].str.contains("infinite").all()
    assert iptw_balance(weighted, ["x"], "2", notes).set_index("estimand").loc["ATE", "note"].startswith("propensity")
    g = matching_grid(d.assign(x=["a", "a", "b", "b"]), ["x"], ARMS, [0.02, None], [1], ENDPOINTS)
    assert len(g) == 2 and g["hr"].isna().all() and (g["note"] != "").all()


def _text_numbers(rows) -> object:
    """A RobustnessNumbers over the given rows of the numbers table (no build folder needed)."""
    from helpers.report.robustness_text import RobustnessNumbers
    from helpers.results.numbers import NUMBERS_COLUMNS, NumberTable

    rb = RobustnessNumbers.__new__(RobustnessNumbers)
    df = pd.DataFrame(rows, columns=list(NUMBERS_COLUMNS)).fillna({"notebook": "", "cell": "", "results_file": ""})
    rb.numbers = NumberTable(df)
    return rb


def test_the_discussion_statement_counts_direction_and_significance_across_every_analysis():
    from helpers.results.numbers import number
    from helpers.stats.robustness import MATCHED_ANALYSES

    t = "SBRT+TACE"
    rows = [number("matched_hr", hr, ci_lower=hr / 2, ci_upper=hr * 2, p_value=p, cohort="after", endpoint="OS",
                   arm=t, level=a) for a, (hr, p) in zip(MATCHED_ANALYSES, [(0.5, 0.01), (0.6, 0.2), (0.7, 0.3)])]
    rows += [number("iptw_hr", 0.8, ci_lower=0.4, ci_upper=1.6, p_value=0.4, cohort="before", endpoint="OS", arm=t,
                    level=e) for e in ("ATT", "ATE")]
    rows += [number("grid_hr", 1.2, ci_lower=0.6, ci_upper=2.4, p_value=0.6, cohort="after", endpoint="OS", arm=t,
                    level="0.2 SD; 1:1"),
             number("grid_hr", float("nan"), note="nobody matched", cohort="after", endpoint="OS", arm=t,
                    level="0.02 SD; 1:1")]
    rb = _text_numbers(rows)
    assert str(rb.overall_statement("OS")) == (
        "the hazard ratio favoured SBRT+TACE in five and SBRT alone in one, so changed direction, of six estimable "
        "of the seven analyses (matched cohort, weighting and matching settings) and was statistically significant "
        "at the 5% level in one of them")
    assert str(rb.grid_statement("OS")) == (
        "the hazard ratio favoured SBRT alone in one estimable of the two matching settings and was statistically "
        "significant at the 5% level in none of them")
    assert str(rb.grid_range("OS")) == "from HR 1.20 (0.2 SD; 1:1) to HR 1.20 (0.2 SD; 1:1)"
    assert str(_text_numbers([]).overall_statement("OS")).startswith("no hazard ratio of the analyses")
