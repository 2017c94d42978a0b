# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 2. Propensity-score matching and Table 1
#
# A logistic model of receiving SBRT+TACE (the treated arm) on the Methods' ten
# covariates, each as its Table 1 category; then 2:1 nearest-neighbour matching
# without replacement on the logit of the propensity score with a caliper of
# 0.02 standard deviations of that logit. This is R MatchIt's
# `matchit(..., method = "nearest", distance = "glm", link = "linear.logit",
# ratio = 2, caliper = 0.02, std.caliper = TRUE, replace = FALSE)`; the
# implementation (`helpers.stats.matching`) is a port of MatchIt's algorithm,
# including how ties are broken (see its docstring), and is cross-checked
# against MatchIt by `make crosscheck`.

# %% tags=["parameters"]
build_dir = "build"  # type: str  output folder: results, figures, executed notebooks (make sets it from OUT)
ratio = 2  # type: int  controls per treated patient (nearest-neighbour matching without replacement)
caliper_sd = 0.02  # type: float  caliper, in standard deviations of the logit of the propensity score
matchit_emulation = "matchit-4.5.1"  # type: str  MatchIt behaviour reproduced: matchit-4.5.1 (the paper's version, with its second-pass skip), matchit-4.5.1-int-abs (its integer-abs() builds) or none
covariates = ["sex_group", "age_group", "hepatitis_type", "child_pugh_class", "diameter_group",
              "bed_group", "afp_group", "pvtt_group", "prior_treatment_group", "ecog_group"]  # type: list[str]  propensity-model covariates (Table 1 categories; the ten of the Methods)

# %%
#| label: matching-setup
import pandas as pd

from helpers import results
from helpers.data.schema import CONTROL_ARM as control_arm
from helpers.data.schema import TREATED_ARM as treated_arm
from helpers.parameters import write_parameters
from helpers.report import fmt
from helpers.report.display import show_df, show_table
from helpers.report.figures import setup_figures, show_figure
from helpers.report.labels import contrast_label
from helpers.report.plots_balance import plot_love, plot_propensity_density
from helpers.report.table1 import table1_html, table1_markdown
from helpers.results import read_result, write_result
from helpers.results.rows import balance_rows, matching_summary
from helpers.stats.balance import balance_table
from helpers.stats.matching import propensity_match

setup_figures()
results.start("02_matching", build_dir)
# The arms compared are fixed by the data dictionary (not parameters); they are recorded with the run.
write_parameters("02_matching", build_dir, ratio=ratio, caliper_sd=caliper_sd, matchit_emulation=matchit_emulation,
                 covariates=covariates,
                 treated_arm=treated_arm, control_arm=control_arm)

analysis = read_result("analysis_cohort", build_dir, dtype={"patient_id": str, "ecog_group": str})

# %% [markdown]
# ## Propensity model

# %%
#| label: propensity-model
match = propensity_match(analysis, covariates, treated_arm=treated_arm, control_arm=control_arm, ratio=ratio,
                         caliper_sd=caliper_sd, emulate=matchit_emulation)
# Single-level covariates, separation, non-convergence, an empty arm: listed in the report's appendix.
write_result(pd.DataFrame({"note": match.notes}, dtype=str), "propensity_notes", build_dir)
for note in match.notes:
    print("Note:", note)
coef = (match.fit.coefficients.reset_index(names="term") if match.fit is not None else
        pd.DataFrame(columns=["term", "variable", "level", "reference", "estimate", "std_error", "z_value",
                              "p_value", "odds_ratio", "or_ci_low", "or_ci_high"]))
write_result(coef, "propensity_model", build_dir)
show_df(pd.DataFrame({
    "Term": [contrast_label(v, lvl, ref) for v, lvl, ref in zip(coef["variable"], coef["level"], coef["reference"])],
    "Estimate": [fmt.number(b) for b in coef["estimate"]],
    "SE": [fmt.number(se) for se in coef["std_error"]],
    "Odds ratio (95% CI)": [fmt.hr_ci(o, lo, hi) for o, lo, hi in zip(coef["odds_ratio"], coef["or_ci_low"],
                                                                     coef["or_ci_high"])],
    "p": [fmt.p_value(p) for p in coef["p_value"]],
}))

# %% [markdown]
# ## Matching
#
# Treated patients are taken in descending order of the propensity score;
# each gets its first control before any gets its second. A treated patient
# with one control inside the caliper keeps it; one with none is dropped.
# `matchit_emulation` names the MatchIt behaviour reproduced (the docstring of
# `helpers.stats.matching.match_nearest_caliper`). The matched cohort carries
# MatchIt's matching weights (`weights`: 1 for matched treated patients, the
# scaled 1/k for controls of a set with k controls; `helpers.stats.matching.weights`)
# and the matched set (`match_id`, MatchIt's `subclass`), for weighted analyses.

# %%
#| label: matching
matched_cohort = match.matched_cohort
write_result(matched_cohort, "matched_cohort", build_dir)
summary, summary_numbers = matching_summary(matched_cohort, match.caliper, ratio, control_arm, treated_arm)
write_result(summary, "matching_summary", build_dir, numbers=summary_numbers)
show_df(summary)

# %% [markdown]
# ## Table 1: baseline characteristics before and after matching
#
# p-values: Pearson's χ² without correction when every expected count is at
# least 5; Yates-corrected χ² when n ≥ 40 and the smallest expected count is
# 1 to 5; Fisher's exact test when n < 40 or an expected count is below 1 —
# the rule that reproduces all 22 published p-values from the published counts
# (`tests/test_balance.py`). SMD: absolute standardized mean difference.

# %%
#| label: tbl-baseline
#| tbl-cap: "Baseline characteristics of the study population before and after 2:1 propensity-score matching. n (%); p from Pearson's, Yates' or Fisher's test (see Methods); SMD, absolute standardized mean difference."
in_matched = analysis["patient_id"].isin(matched_cohort.loc[matched_cohort["matched"] == 1, "patient_id"])
bal_before = balance_table(analysis, control=control_arm, treated=treated_arm, cohort="before")
bal_after = balance_table(analysis[in_matched], control=control_arm, treated=treated_arm, cohort="after")
balance = pd.concat([bal_before, bal_after], ignore_index=True)
write_result(balance, "balance", build_dir, numbers=balance_rows(balance, (control_arm, treated_arm)))
show_table(table1_html(bal_before, bal_after, caption=None), table1_markdown(bal_before, bal_after))

# %%
#| label: fig-ps-density
#| fig-cap: "Density of the propensity score per arm before (left) and after (right) matching."
fig = plot_propensity_density(matched_cohort, matched_cohort[matched_cohort["matched"] == 1])
show_figure(fig, "fig-ps-density", build_dir)

# %% [markdown]
# Love plot (supplementary figure): absolute standardized mean difference of
# each covariate before and after matching; dashed line at 0.1.

# %%
#| label: love-plot
fig = plot_love(bal_before, bal_after)
show_figure(fig, "love-plot", build_dir)
