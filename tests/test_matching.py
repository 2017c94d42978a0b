"""Tests of helpers.stats.matching: the propensity model and the MatchIt-style matching.

Reference values were captured once from R 4.2.2 with MatchIt 4.5.1 (Debian
r-cran-matchit) and are quoted below with the R call that produced them. The
tests marked ``r_crosscheck`` (``make crosscheck``) re-run R on random cohorts.

MatchIt 4.5.1 as built here compares distance differences with C's integer
``abs()`` (see ``tests/r/matchit_nearest.R``). Its plain output is the reference
for ``emulate="matchit-4.5.1-int-abs"``; the same matching run on the logit
times 2^k (exact in floating point, so the truncation no longer bites) is the
reference for the default ``emulate="matchit-4.5.1"``. Small hand-made cases
call R as ``nn(...)``, which is::

    nn <- function(id, treat, logit, ...) {
      d <- data.frame(treat = treat, x = seq_along(treat), row.names = id)
      m <- matchit(treat ~ x, data = d, distance = logit * 2^20, replace = FALSE, ...)
      apply(m$match.matrix, 1, function(r) paste(sort(r[!is.na(r)]), collapse = " "))
    }
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers.data.derive import PROPENSITY_COVARIATES, TABLE1_VARIABLES
from helpers.stats.matching import (
    caliper_width,
    fit_logit_irls,
    fit_propensity,
    match_nearest_caliper,
    nearest_caliper_match_rows,
    propensity_match,
)

R_SCRIPT = Path(__file__).parent / "r" / "matchit_nearest.R"
LEVELS = {v.column: v.levels for v in TABLE1_VARIABLES}
TIED_COVARIATES = ["sex_group", "age_group", "pvtt_group"]


# ------------------------------------------------------------------ helpers


def matched_sets(ids, treated, logit, **kwargs) -> dict[str, str]:
    """{treated id: its controls, sorted and space-separated} for matched treated units."""
    out = match_nearest_caliper(logit, treated, ids, **kwargs)
    return _sets_of(out)


def _sets_of(matched: pd.DataFrame) -> dict[str, str]:
    sets = {}
    for treated_id, group in matched[matched["matched"] == 1].groupby("match_id"):
        sets[str(treated_id)] = " ".join(sorted(str(p) for p in group["patient_id"] if p != treated_id))
    return sets


def _parse_sets(text: str) -> dict[str, str]:
    """'P01: P02 | P05: P04 P06' -> {'P01': 'P02', 'P05': 'P04 P06'}."""
    return dict(item.split(": ") for item in text.split(" | "))


def blocked_tied_cohort(n: int = 60) -> pd.DataFrame:
    """60 patients, 3 binary covariates (8 covariate patterns, so the logit has 8 values).

    Patients come in blocks of three with the same covariates, so tied
    controls sit next to each other in the data: every tie rule and MatchIt's
    second-pass quirk are exercised. Deterministic (no random numbers).
    """
    i = np.arange(n)
    block = i // 3
    return pd.DataFrame({
        "patient_id": [f"P{k + 1:02d}" for k in i],
        "arm": np.where(((i * 13) % 17 < 5) | ((block * 5) % 11 < 3) & (i % 2 == 0), "SBRT+TACE", "SBRT"),
        "sex_group": np.where((block * 7) % 10 < 6, "Male", "Female"),
        "age_group": np.where((block * 3) % 7 < 4, ">=60", "<60"),
        "pvtt_group": np.where((block * 5) % 11 < 3, "With", "Without"),
    })


# ----------------------------------------------- matching: hand-checkable cases


def test_caliper_excludes_controls_beyond_it():
    # SD of the 5 distances is 1.1872, so c = 0.1 SD = 0.1187: T1 keeps C1 (0.05 away) but
    # not C2 (0.30) and gets 1 control of 2; T2's only neighbour C3 is 0.5 away: unmatched.
    # R: nn(c("T1","C1","C2","T2","C3"), c(1,0,0,1,0), c(0, .05, .30, 2, 2.5), ratio = 2,
    #       caliper = 0.1)  ->  T1 "C1", T2 ""; m$caliper / 2^20 = 0.11872236520555005
    ids, treated, logit = ["T1", "C1", "C2", "T2", "C3"], [1, 0, 0, 1, 0], [0, 0.05, 0.30, 2.0, 2.5]
    assert caliper_width(np.array(logit), 0.1) == pytest.approx(0.11872236520555005, rel=1e-15)
    out = match_nearest_caliper(logit, treated, ids, ratio=2, caliper_sd=0.1)
    assert _sets_of(out) == {"T1": "C1"}
    assert out.set_index("patient_id").loc[["T2", "C2", "C3"], "matched"].tolist() == [0, 0, 0]
    assert out.set_index("patient_id").loc[["T2", "C2", "C3"], "match_id"].isna().all()


def test_every_treated_unit_gets_a_first_control_before_any_gets_a_second():
    # Pass 1: T1 (1.0) takes C95 (0.05 away; C120 is 0.2), T2 (0.9) takes C85. Pass 2: T1's
    # only free control is C120. Matching T1 fully first would give T1 C95+C85, T2 C120.
    # R: nn(c("T1","T2","C95","C85","C120"), c(1,1,0,0,0), c(1, .9, .95, .85, 1.2), ratio = 2)
    #    ->  T1 "C120 C95", T2 "C85"
    sets = matched_sets(["T1", "T2", "C95", "C85", "C120"], [1, 1, 0, 0, 0], [1.0, 0.9, 0.95, 0.85, 1.2],
                        ratio=2, caliper_sd=None)
    assert sets == {"T1": "C120 C95", "T2": "C85"}


@pytest.mark.parametrize(("order", "expected"), [
    # R: nn(c("T1","T2","Cnear","Cfar"), c(1,1,0,0), c(1, .99, .995, .5), ratio = 1)
    ("largest", {"T1": "Cnear", "T2": "Cfar"}),
    # R: the same with m.order = "smallest"
    ("smallest", {"T1": "Cfar", "T2": "Cnear"}),
])
def test_a_control_is_used_once_by_whoever_chooses_first(order, expected):
    sets = matched_sets(["T1", "T2", "Cnear", "Cfar"], [1, 1, 0, 0], [1.0, 0.99, 0.995, 0.5],
                        ratio=1, caliper_sd=None, order=order)
    assert sets == expected


@pytest.mark.parametrize("order", ["largest", "smallest"])
def test_tied_treated_units_choose_in_data_order(order):
    # R: nn(c("T1","T2","C1","C2","C3"), c(1,1,0,0,0), c(.5, .5, .5, 3, 5), ratio = 1,
    #       caliper = 0.1[, m.order = "smallest"])  ->  T1 "C1", T2 ""  (both orders)
    sets = matched_sets(["T1", "T2", "C1", "C2", "C3"], [1, 1, 0, 0, 0], [0.5, 0.5, 0.5, 3, 5],
                        ratio=1, caliper_sd=0.1, order=order)
    assert sets == {"T1": "C1"}


def test_tied_controls_on_one_side_the_nearest_in_sorted_position_wins():
    # Left of T: the last tied control in data order; right of T: the first.
    # R: nn(c("C1","C2","T","C4"), c(0,0,1,0), c(.5, .5, 1, .5), ratio = 1)  ->  T "C4"
    # R: nn(c("C1","C2","T","C4"), c(0,0,1,0), c(.5, .5, 0, .5), ratio = 1)  ->  T "C1"
    ids, treated = ["C1", "C2", "T", "C4"], [0, 0, 1, 0]
    assert matched_sets(ids, treated, [0.5, 0.5, 1.0, 0.5], ratio=1, caliper_sd=None) == {"T": "C4"}
    assert matched_sets(ids, treated, [0.5, 0.5, 0.0, 0.5], ratio=1, caliper_sd=None) == {"T": "C1"}


def test_controls_tied_with_the_treated_unit_earlier_rows_first():
    # Before T in the data, nearest first (C2, C1), then after it (C4, C5).
    # R: nn(c("C1","C2","T","C4","C5"), c(0,0,1,0,0), rep(.5, 5), ratio = 1)  ->  T "C2"
    # R: the same with ratio = 3                                            ->  T "C1 C2 C4"
    ids, treated, logit = ["C1", "C2", "T", "C4", "C5"], [0, 0, 1, 0, 0], [0.5] * 5
    assert matched_sets(ids, treated, logit, ratio=1, caliper_sd=None) == {"T": "C2"}
    assert matched_sets(ids, treated, logit, ratio=3, caliper_sd=None) == {"T": "C1 C2 C4"}


def test_equidistant_controls_the_left_one_wins():
    # R: nn(c("Clo","T","Chi"), c(0,1,0), c(-.25, 0, .25), ratio = 1)  ->  T "Clo"
    assert matched_sets(["Clo", "T", "Chi"], [0, 1, 0], [-0.25, 0.0, 0.25], ratio=1, caliper_sd=None) == {"T": "Clo"}


@pytest.mark.parametrize("logit", [[0.0, 0.1, 0.2, 0.3], [0.0, 0.0, 0.0, 0.5]])
def test_second_pass_passes_over_the_row_after_a_control_already_taken(logit):
    # T takes C1 in pass 1; MatchIt 4.5.1 then skips C2 (the row after C1) and takes C3.
    # R: nn(c("T","C1","C2","C3"), c(1,0,0,0), c(0, .1, .2, .3), ratio = 2)  ->  T "C1 C3"
    # R: nn(c("T","C1","C2","C3"), c(1,0,0,0), c(0, 0, 0, .5), ratio = 2)   ->  T "C1 C3"
    ids, treated = ["T", "C1", "C2", "C3"], [1, 0, 0, 0]
    assert matched_sets(ids, treated, logit, ratio=2, caliper_sd=None) == {"T": "C1 C3"}
    assert matched_sets(ids, treated, logit, ratio=2, caliper_sd=None, emulate="none") == {"T": "C1 C2"}


def test_integer_abs_emulation_voids_a_caliper_below_one():
    # R (plain distance, no 2^20):
    #   d <- data.frame(treat = c(1,0,0,1,0), x = 1:5, row.names = c("T","Cl","Cr","T2","Cfar"))
    #   matchit(treat ~ x, data = d, distance = c(0, -.9, .1, 10, 10.5), ratio = 1,
    #           replace = FALSE, caliper = 0.1, std.caliper = FALSE)$match.matrix
    #   ->  T "Cl", T2 "Cfar": Cl wins although Cr is nearer, Cfar is 0.5 away with a 0.1 caliper.
    ids, treated, logit = ["T", "Cl", "Cr", "T2", "Cfar"], [1, 0, 0, 1, 0], [0.0, -0.9, 0.1, 10.0, 10.5]
    caliper_sd = 0.1 / np.std(logit, ddof=1)
    assert matched_sets(ids, treated, logit, ratio=1, caliper_sd=caliper_sd,
                        emulate="matchit-4.5.1-int-abs") == {"T": "Cl", "T2": "Cfar"}
    assert matched_sets(ids, treated, logit, ratio=1, caliper_sd=caliper_sd) == {"T": "Cr"}


def test_output_columns_and_types():
    out = match_nearest_caliper([0.0, 0.1, 5.0], [1, 0, 1], [101, 102, 103], ratio=1, caliper_sd=0.02)
    assert list(out.columns) == ["patient_id", "treated", "matched", "match_id", "distance"]
    assert out["treated"].tolist() == [1, 0, 1]
    assert out["matched"].tolist() == [0, 0, 0]  # 0.1 apart, caliper 0.02 x SD 2.86 = 0.057
    assert str(out["match_id"].dtype) == "Int64" and out["match_id"].isna().all()
    out = match_nearest_caliper([0.0, 0.1, 5.0], [1, 0, 1], [101, 102, 103], ratio=1, caliper_sd=0.05)
    assert out["match_id"].tolist()[:2] == [101, 101] and out["match_id"].isna().tolist()[2]


def test_array_fast_path_returns_treated_rows():
    rows = nearest_caliper_match_rows(np.array([1.0, 0.9, 0.95, 0.85, 1.2]), np.array([1, 1, 0, 0, 0]),
                                      ratio=2, caliper_sd=None)
    assert rows.tolist() == [0, 1, 0, 1, 0]


def test_no_controls_or_no_treated_leaves_everyone_unmatched():
    assert match_nearest_caliper([0.1, 0.2], [1, 1], ["a", "b"])["matched"].tolist() == [0, 0]
    assert match_nearest_caliper([0.1, 0.2], [0, 0], ["a", "b"])["matched"].tolist() == [0, 0]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"ids": ["a", "a", "b"]}, "unique"),
    ({"logit_ps": [0.0, np.nan, 1.0]}, "missing or infinite"),
    ({"order": "random"}, "order must be"),
    ({"ratio": 1.5}, "whole number"),
    ({"emulate": "matchit-4.6"}, "emulate must be"),
])
def test_bad_matching_input_is_refused(kwargs, message):
    args = {"logit_ps": [0.0, 0.5, 1.0], "is_treated": [1, 0, 0], "ids": ["a", "b", "c"]} | kwargs
    with pytest.raises(ValueError, match=message):
        match_nearest_caliper(**args)


# --------------------------------------------------- matching: MatchIt on ties

# R: Rscript tests/r/matchit_nearest.R DIR RATIO CALIPER M_ORDER ABS  (ABS "exact" for the
# default emulation, "c_int" for "matchit-4.5.1-int-abs"), i.e.
#   matchit(treat ~ sex_group + age_group + pvtt_group, data = d, method = "nearest",
#           distance = "glm", link = "linear.logit", ratio = RATIO, caliper = CALIPER,
#           std.caliper = TRUE, replace = FALSE, m.order = M_ORDER)
# with d = blocked_tied_cohort() written by _write_r_inputs(); treated id: its controls.
TIED_MATCHIT = {
    (2, 0.02, "largest", "matchit-4.5.1"):
        "P01: P02 | P05: P04 P06 | P09: P07 P08 | P13: P14 | P17: P11 P16 | P18: P10 P12 | P22: P24 | "
        "P26: P25 P44 | P29: P28 | P34: P36 | P39: P37 P38 | P43: P27 P53 | P47: P33 P46 | P51: P49 P50 | "
        "P52: P45 P54 | P60: P58 P59",
    (2, 0.02, "largest", "matchit-4.5.1-int-abs"):
        "P05: P04 P15 | P09: P07 P08 | P13: P48 P59 | P17: P11 P16 | P18: P10 P12 | P22: P36 | P23: P02 | "
        "P26: P06 P25 | P34: P28 | P35: P24 | P39: P37 P38 | P43: P14 P27 | P47: P33 P46 | P51: P49 P50 | "
        "P52: P44 P45 | P60: P32 P58",
    (2, 0.5, "largest", "matchit-4.5.1"):
        "P01: P28 | P05: P04 P06 | P09: P07 P08 | P13: P14 P58 | P17: P11 P16 | P18: P10 P12 | P22: P24 | "
        "P23: P36 | P26: P25 P44 | P34: P02 | P39: P37 P38 | P43: P27 P53 | P47: P33 P46 | P51: P49 P50 | "
        "P52: P45 P54 | P60: P48 P59",
    (3, 0.25, "smallest", "matchit-4.5.1"):
        "P05: P04 P44 | P09: P07 P08 P19 | P13: P06 P14 | P17: P11 P16 P31 | P18: P10 P12 P32 | "
        "P26: P25 P53 | P29: P28 | P30: P02 | P34: P36 | P35: P24 | P39: P37 P38 P48 | P43: P27 P54 | "
        "P47: P33 P41 P46 | P51: P42 P49 P50 | P52: P15 P45 | P60: P40 P58 P59",
    (3, 0.25, "smallest", "matchit-4.5.1-int-abs"):
        "P01: P36 | P03: P24 | P05: P04 P15 P54 | P09: P07 P08 P19 | P13: P32 P53 P58 | "
        "P17: P11 P16 P41 | P18: P10 P12 P40 | P26: P06 P25 | P29: P28 | P30: P02 | P39: P31 P37 P38 | "
        "P43: P14 P27 | P47: P21 P33 P46 | P51: P42 P49 P50 | P52: P44 P45 | P60: P20 P48 P59",
}


@pytest.mark.parametrize(("ratio", "caliper", "order", "emulate"), list(TIED_MATCHIT))
def test_tied_cohort_matches_matchit(ratio, caliper, order, emulate):
    cohort = blocked_tied_cohort()
    fit = fit_propensity(cohort, TIED_COVARIATES)
    out = match_nearest_caliper(fit.logit_ps, fit.is_treated, cohort["patient_id"], ratio=ratio,
                                caliper_sd=caliper, order=order, emulate=emulate)
    assert _sets_of(out) == _parse_sets(TIED_MATCHIT[ratio, caliper, order, emulate])


def test_tied_cohort_has_full_partial_and_no_matches():
    # The study setting: 23 treated; 11 get 2 controls, 5 get 1, 7 none (R output above).
    sets = _parse_sets(TIED_MATCHIT[2, 0.02, "largest", "matchit-4.5.1"])
    sizes = pd.Series([len(v.split()) for v in sets.values()]).value_counts().to_dict()
    assert sizes == {2: 11, 1: 5}
    assert (blocked_tied_cohort()["arm"] == "SBRT+TACE").sum() - len(sets) == 7


# R: the same matchit() call as TIED_MATCHIT[2, 0.02, "largest", "matchit-4.5.1"]
# (Rscript tests/r/matchit_nearest.R DIR 2 0.02 largest exact), m$weights:
#   1       for the 16 matched treated patients,
#   1.6875  for the 5 controls that are the only control of their treated patient (P02 P14 P24 P28 P36),
#   0.84375 for the 22 controls of full sets (27 matched controls / 16 sets x 1/2),
#   0       for the 17 unmatched (P03 P15 P19 P20 P21 P23 P30 P31 P32 P35 P40 P41 P42 P48 P55 P56 P57).
MATCHIT_WEIGHTS = {"P02 P14 P24 P28 P36": 1.6875,
                   "P03 P15 P19 P20 P21 P23 P30 P31 P32 P35 P40 P41 P42 P48 P55 P56 P57": 0.0}


def test_matching_weights_are_matchits():
    cohort = blocked_tied_cohort()
    m = propensity_match(cohort, TIED_COVARIATES, ratio=2, caliper_sd=0.02)
    out = m.matched_cohort.set_index("patient_id")
    expected = pd.Series(np.where(out["arm"] == "SBRT+TACE", 1.0, 0.84375), index=out.index)
    for ids, w in MATCHIT_WEIGHTS.items():
        expected[ids.split()] = w
    np.testing.assert_allclose(out["weights"], expected, rtol=0, atol=1e-15)
    # the weights travel with the matched data: controls sum to the number of matched controls
    controls = out[(out["arm"] == "SBRT") & (out["matched"] == 1)]
    assert controls["weights"].sum() == pytest.approx(len(controls)) and len(controls) == 27


def test_tied_cohort_caliper_is_pooled_sd_of_all_units():
    # R: m$caliper for the (2, 0.02, "largest") call above = 0.018671470843587827;
    # 0.02 x the SD of the treated units' logits alone would be 0.0200.
    fit = fit_propensity(blocked_tied_cohort(), TIED_COVARIATES)
    assert caliper_width(fit.logit_ps.to_numpy(), 0.02) == pytest.approx(0.018671470843587827, rel=1e-12)


# ------------------------------------------------------------ propensity model


def test_fit_logit_irls_reproduces_the_two_by_two_table():
    # Treated 1/4 without the factor, 3/4 with it: intercept log(1/3), slope log(9).
    X = np.column_stack([np.ones(8), [0, 0, 0, 0, 1, 1, 1, 1]])
    fit = fit_logit_irls(X, np.array([1, 0, 0, 0, 1, 1, 1, 0]))
    assert fit.beta == pytest.approx([np.log(1 / 3), np.log(9)], abs=1e-10)
    # Wald SE of a log odds ratio: sqrt(1/1 + 1/3 + 1/3 + 1/1) = 1.632993, up to the weights of the
    # last IRLS step, which R's summary.glm uses too:
    # R: x <- rep(0:1, each = 4); y <- c(1,0,0,0,1,1,1,0); g <- glm(y ~ x, family = binomial)
    #    sqrt(diag(vcov(g))) = 1.1546995438011911 1.6329917553096702; g$iter = 4
    assert np.sqrt(np.diag(fit.covariance)) == pytest.approx([1.1546995438011911, 1.6329917553096702], rel=1e-12)
    assert np.sqrt(fit.covariance[1, 1]) == pytest.approx(np.sqrt(8 / 3), rel=1e-5)
    assert fit.iterations == 4


# R: d <- blocked_tied_cohort() with factor levels reference first (levels.csv);
#    summary(glm(treat ~ sex_group + age_group + pvtt_group, data = d, family = binomial))
TIED_GLM = pd.DataFrame(
    {"estimate": [-0.81681061890415163, -0.49499899411315201, 0.17899893398830219, 1.96850040536767601],
     "std_error": [0.69095125062429186, 0.60327219029106327, 0.63210015586504675, 0.71481976431702388]},
    index=["(Intercept)", "sex_groupMale", "age_group>=60", "pvtt_groupWith"])
# R: the same fit's linear predictor (MatchIt's m$distance), one value per covariate pattern.
TIED_LOGIT = {
    ("Female", "<60", "With"): 1.1516897864635243, ("Female", "<60", "Without"): -0.81681061890415163,
    ("Female", ">=60", "With"): 1.3306887204518265, ("Female", ">=60", "Without"): -0.63781168491584939,
    ("Male", "<60", "With"): 0.6566907923503722, ("Male", "<60", "Without"): -1.3118096130173038,
    ("Male", ">=60", "With"): 0.83568972633867444, ("Male", ">=60", "Without"): -1.1328106790290016,
}


def test_propensity_fit_matches_r_glm():
    cohort = blocked_tied_cohort()
    fit = fit_propensity(cohort, TIED_COVARIATES)
    assert fit.coefficients.index.tolist() == TIED_GLM.index.tolist()
    np.testing.assert_allclose(fit.coefficients["estimate"], TIED_GLM["estimate"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(fit.coefficients["std_error"], TIED_GLM["std_error"], rtol=1e-9)
    expected = [TIED_LOGIT[tuple(row)] for row in cohort[TIED_COVARIATES].itertuples(index=False)]
    np.testing.assert_allclose(fit.logit_ps, expected, rtol=0, atol=1e-9)
    np.testing.assert_allclose(fit.propensity_score, 1 / (1 + np.exp(-np.array(expected))), atol=1e-12)
    assert fit.converged and fit.notes == []


def test_patients_with_the_same_covariates_get_bit_identical_scores():
    cohort = blocked_tied_cohort()
    fit = fit_propensity(cohort, TIED_COVARIATES)
    per_pattern = fit.logit_ps.groupby([cohort[c] for c in TIED_COVARIATES]).nunique()
    assert (per_pattern == 1).all()


def test_reference_level_is_the_first_table1_level_not_the_alphabetical_one():
    # "With" < "Without" alphabetically, but Table 1 lists "Without" first.
    fit = fit_propensity(blocked_tied_cohort(), TIED_COVARIATES)
    row = fit.coefficients.loc["pvtt_groupWith"]
    assert (row["variable"], row["level"], row["reference"]) == ("pvtt_group", "With", "Without")
    assert row["odds_ratio"] == pytest.approx(np.exp(1.96850040536767601), rel=1e-9)


# R: d as blocked_tied_cohort() with arm set to SBRT+TACE for all 15 PVTT patients;
#    g <- glm(treat ~ sex + age + pvtt, data = d, family = binomial)
#    g$iter = 17, g$converged = TRUE; coef(g), sqrt(diag(vcov(g))):
SEPARATED_GLM = {"estimate": [-1.0644782282832497, -0.41248626511057596, 0.45664234090330441, 19.63446113432537],
                 "std_error": [0.84373999744220096, 0.71198479223847855, 0.77393540492526602, 1670.684338415175]}


def test_separation_is_a_note_with_finite_scores_as_in_r():
    cohort = blocked_tied_cohort()
    cohort.loc[cohort["pvtt_group"] == "With", "arm"] = "SBRT+TACE"
    fit = fit_propensity(cohort, TIED_COVARIATES)
    np.testing.assert_allclose(fit.coefficients["estimate"], SEPARATED_GLM["estimate"], rtol=1e-6)
    np.testing.assert_allclose(fit.coefficients["std_error"], SEPARATED_GLM["std_error"], rtol=1e-6)
    assert np.isfinite(fit.logit_ps).all() and np.isfinite(fit.propensity_score).all()
    assert any("All 15 patient(s) with pvtt_group = 'With' are in SBRT+TACE" in n for n in fit.notes)


def test_complete_separation_still_returns_finite_scores():
    cohort = blocked_tied_cohort()
    cohort["arm"] = np.where(cohort["pvtt_group"] == "With", "SBRT+TACE", "SBRT")
    fit = fit_propensity(cohort, TIED_COVARIATES)
    assert np.isfinite(fit.logit_ps).all()
    assert any("separation" in n for n in fit.notes)


def test_single_level_covariate_is_left_out_with_a_note():
    cohort = blocked_tied_cohort().assign(ecog_group="0")
    fit = fit_propensity(cohort, TIED_COVARIATES + ["ecog_group"])
    assert fit.covariates == tuple(TIED_COVARIATES)
    assert "ecog_group has a single level in the data ('0')" in fit.notes[0]
    np.testing.assert_allclose(fit.coefficients["estimate"], TIED_GLM["estimate"], atol=1e-9)


def test_level_beyond_table1_becomes_its_own_category_with_a_note():
    cohort = blocked_tied_cohort()
    cohort["ecog_group"] = np.array(["0", "1", "2"] * 20)
    fit = fit_propensity(cohort, TIED_COVARIATES + ["ecog_group"])
    assert ["ecog_group1", "ecog_group2"] == fit.coefficients.index[-2:].tolist()
    assert any("'2' beyond the Table 1 levels" in n for n in fit.notes)


def test_collinear_covariate_is_aliased_and_does_not_change_the_scores():
    cohort = blocked_tied_cohort()
    cohort["sex_copy"] = cohort["sex_group"]  # not a Table 1 column: levels sorted, "Female" first
    fit = fit_propensity(cohort, TIED_COVARIATES + ["sex_copy"])
    assert np.isnan(fit.coefficients.loc["sex_copyMale", "estimate"])
    assert any("sex_copyMale is determined by the covariates before it" in n for n in fit.notes)
    expected = [TIED_LOGIT[tuple(row)] for row in cohort[TIED_COVARIATES].itertuples(index=False)]
    np.testing.assert_allclose(fit.logit_ps, expected, atol=1e-9)


def test_missing_covariate_names_the_patients():
    cohort = blocked_tied_cohort()
    cohort.loc[[4, 9], "age_group"] = np.nan
    with pytest.raises(ValueError, match=r"'age_group' is missing for 2 patient\(s\) \(patient_id P05, P10\)"):
        fit_propensity(cohort, TIED_COVARIATES)


def _set_arm(cohort: pd.DataFrame, rows, value) -> pd.DataFrame:
    cohort["arm"] = cohort["arm"].astype(object)
    cohort.loc[rows, "arm"] = value
    return cohort


@pytest.mark.parametrize(("rows", "value", "message"), [
    ([3], None, r"arm is missing for 1 patient\(s\) \(patient_id P04\)"),
    (slice(None), "SBRT", r"No patient is in the treated arm 'SBRT\+TACE'"),
    ([0], "TACE", "compares two arms, but the data have 3"),
])
def test_bad_treatment_is_refused(rows, value, message):
    cohort = _set_arm(blocked_tied_cohort(), rows, value)
    with pytest.raises(ValueError, match=message):
        fit_propensity(cohort, TIED_COVARIATES)


def test_treatment_may_be_given_as_a_series():
    cohort = blocked_tied_cohort()
    arm = cohort.pop("arm")
    fit = fit_propensity(cohort, TIED_COVARIATES, treatment=arm)
    np.testing.assert_allclose(fit.coefficients["estimate"], TIED_GLM["estimate"], atol=1e-9)


def test_docstring_examples():
    import doctest
    import importlib
    import pkgutil

    import helpers.stats.matching

    modules = [helpers.stats.matching, *(importlib.import_module(f"helpers.stats.matching.{m.name}")
                                   for m in pkgutil.iter_modules(helpers.stats.matching.__path__))]
    results = [doctest.testmod(m, optionflags=doctest.NORMALIZE_WHITESPACE) for m in modules]
    assert sum(r.failed for r in results) == 0 and all(r.attempted > 0 for r in results)


# --------------------------------------------------------- R cross-checks


def random_cohort(seed: int, n: int = 150, covariates=PROPENSITY_COVARIATES, treated_share: float = 0.3):
    """Random binary Table 1 categories; treatment depends on them through a logistic model."""
    rng = np.random.default_rng(seed)
    cohort = {"patient_id": [f"S{seed}-{i:03d}" for i in range(n)]}
    linear = np.zeros(n)
    for column in covariates:
        has = rng.random(n) < rng.uniform(0.15, 0.6)
        cohort[column] = np.where(has, LEVELS[column][1], LEVELS[column][0])
        linear += rng.normal(0, 1) * has
    linear += np.log(treated_share / (1 - treated_share)) - linear.mean()
    cohort["arm"] = np.where(rng.random(n) < 1 / (1 + np.exp(-linear)), "SBRT+TACE", "SBRT")
    return pd.DataFrame(cohort)


def _write_r_inputs(cohort: pd.DataFrame, covariates, directory: Path) -> None:
    data = cohort[["patient_id"]].assign(treat=(cohort["arm"] == "SBRT+TACE").astype(int))
    data = pd.concat([data, cohort[list(covariates)]], axis=1)
    data.to_csv(directory / "data.csv", index=False)
    levels = [(c, level) for c in covariates for level in LEVELS[c]]
    pd.DataFrame(levels, columns=["variable", "level"]).to_csv(directory / "levels.csv", index=False)


def run_matchit(cohort: pd.DataFrame, covariates, directory: Path, ratio=2, caliper=0.02, order="largest",
                abs_mode="exact") -> tuple[pd.DataFrame, pd.DataFrame, float]:
    _write_r_inputs(cohort, covariates, directory)
    subprocess.run(["Rscript", str(R_SCRIPT), str(directory), str(ratio), str(caliper), order, abs_mode],
                   check=True, capture_output=True, text=True)
    matched = pd.read_csv(directory / "matched.csv", dtype={"patient_id": str, "match_id": str},
                          keep_default_na=False)
    coef = pd.read_csv(directory / "coef.csv", index_col="term")
    return matched, coef, float((directory / "caliper.txt").read_text())


EMULATION_OF_ABS_MODE = {"exact": "matchit-4.5.1", "c_int": "matchit-4.5.1-int-abs"}


@pytest.mark.r_crosscheck
@pytest.mark.parametrize("abs_mode", ["exact", "c_int"])
@pytest.mark.parametrize(("seed", "covariates", "ratio", "caliper", "order"), [
    *[(seed, PROPENSITY_COVARIATES, 2, 0.02, "largest") for seed in range(6)],
    (6, PROPENSITY_COVARIATES[:3], 2, 0.02, "largest"),   # 8 covariate patterns: ties everywhere
    (7, PROPENSITY_COVARIATES[:4], 2, 0.02, "largest"),
    (8, PROPENSITY_COVARIATES, 1, 0.2, "smallest"),
    (9, PROPENSITY_COVARIATES[:3], 3, 0.5, "data"),
])
def test_random_cohorts_match_matchit(tmp_path, abs_mode, seed, covariates, ratio, caliper, order):
    cohort = random_cohort(seed, covariates=covariates)
    r_matched, r_coef, r_caliper = run_matchit(cohort, covariates, tmp_path, ratio, caliper, order, abs_mode)
    fit = fit_propensity(cohort, covariates)
    np.testing.assert_allclose(fit.logit_ps, r_matched["distance"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(fit.coefficients.loc[r_coef.index, "estimate"], r_coef["estimate"], atol=1e-6)
    np.testing.assert_allclose(fit.coefficients.loc[r_coef.index, "std_error"], r_coef["std_error"], rtol=1e-6)
    assert caliper_width(fit.logit_ps.to_numpy(), caliper) == pytest.approx(r_caliper, rel=1e-9)
    out = match_nearest_caliper(fit.logit_ps, fit.is_treated, cohort["patient_id"], ratio=ratio,
                                caliper_sd=caliper, order=order, emulate=EMULATION_OF_ABS_MODE[abs_mode])
    assert out["match_id"].fillna("").tolist() == r_matched["match_id"].tolist()
    assert out["matched"].tolist() == r_matched["matched"].tolist()


@pytest.mark.r_crosscheck
@pytest.mark.parametrize(("ratio", "caliper", "order", "emulate"), list(TIED_MATCHIT))
def test_captured_tied_cohort_values_are_still_what_matchit_gives(tmp_path, ratio, caliper, order, emulate):
    abs_mode = {v: k for k, v in EMULATION_OF_ABS_MODE.items()}[emulate]
    r_matched, r_coef, _ = run_matchit(blocked_tied_cohort(), TIED_COVARIATES, tmp_path, ratio, caliper, order,
                                       abs_mode)
    r_matched["matched"] = r_matched["match_id"].ne("").astype(int)
    assert _sets_of(r_matched) == _parse_sets(TIED_MATCHIT[ratio, caliper, order, emulate])
    np.testing.assert_allclose(r_coef.loc[TIED_GLM.index, "estimate"], TIED_GLM["estimate"], atol=1e-12)


def test_propensity_match_with_an_empty_arm_matches_nobody_and_says_why():
    from helpers.stats.matching import propensity_match

    d = pd.DataFrame({"patient_id": ["a", "b"], "arm": ["SBRT+TACE"] * 2, "sex_group": ["Male", "Female"]})
    m = propensity_match(d, ["sex_group"])
    assert m.fit is None and m.matched_cohort["matched"].tolist() == [0, 0]
    assert m.matched_cohort["logit_ps"].isna().all()
    assert m.notes == ["No SBRT patient is in the analysis (2 SBRT+TACE): no propensity model is fitted "
                       "and nobody is matched."]


def test_propensity_match_equals_fit_then_match():
    from helpers.stats.matching import caliper_width, fit_propensity, match_nearest_caliper, propensity_match

    d = pd.DataFrame({"patient_id": [f"p{i}" for i in range(12)],
                      "arm": ["SBRT+TACE"] * 4 + ["SBRT"] * 8,
                      "sex_group": ["Male", "Female"] * 6, "pvtt_group": ["With"] * 3 + ["Without"] * 9})
    m = propensity_match(d, ["sex_group", "pvtt_group"], ratio=2, caliper_sd=0.5)
    fit = fit_propensity(d, ["sex_group", "pvtt_group"])
    direct = match_nearest_caliper(fit.logit_ps.to_numpy(), (d["arm"] == "SBRT+TACE").to_numpy(),
                                   d["patient_id"].to_numpy(), ratio=2, caliper_sd=0.5)
    assert m.matched_cohort["matched"].tolist() == direct["matched"].tolist()
    assert m.matched_cohort["match_id"].astype(str).tolist() == direct["match_id"].astype(str).tolist()
    assert m.caliper == caliper_width(fit.logit_ps.to_numpy(), 0.5)
    assert m.notes == fit.notes
