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
# # 6. Robustness of the treatment effect
#
# The paper analysed its matched cohort as if the matched patients were
# independent and did not check proportional hazards. This notebook asks
# whether the treatment effect survives the analyses the matching literature
# recommends (Austin 2014; MatchIt's vignette "Estimating effects after
# matching"): a Cox model with MatchIt's matching weights and a variance
# robust to the matched sets (R `coxph(Surv(t, e) ~ arm, weights = weights,
# cluster = subclass)`), a Cox model stratified on the matched sets
# (`+ strata(subclass)`) and the log-rank test stratified on them
# (`survdiff(Surv(t, e) ~ arm + strata(subclass))`). It tests proportional
# hazards for the treatment term (R `cox.zph`, survival 3.x), reports the
# restricted mean survival time (RMST) up to `rmst_tau_months`, which needs no
# proportional hazards, and the E-values of the hazard ratios (VanderWeele &
# Ding 2017): how strong an unmeasured confounder would have to be to explain
# the effect away. It then weighs the matched cohort's Kaplan-Meier curves with
# the matching weights, replaces matching by inverse probability of treatment
# weighting (ATT and stabilized ATE), and repeats the matching over a grid of
# calipers and ratios (`grid_calipers_sd`, `grid_ratios`). Each statistic agrees
# with R (`tests/test_robustness.py`, `tests/test_evalue.py`,
# `tests/test_weighting.py`).

# %% tags=["parameters"]
build_dir = "build"  # type: str  output folder: results, figures, executed notebooks (make sets it from OUT)
rmst_tau_months = 60.0  # type: float  horizon (months) of the restricted mean survival time
grid_calipers_sd = [0.02, 0.05, 0.1, 0.2, 0.0]  # type: list[float]  calipers of the matching-settings grid, in SD of the logit of the propensity score (0: no caliper)
grid_ratios = [1, 2, 3]  # type: list[int]  controls per treated patient in the matching-settings grid

# %%
#| label: robustness-setup
import pandas as pd

from helpers import results
from helpers.data.published import load_published, published_value
from helpers.data.schema import CONTROL_ARM as control_arm
from helpers.data.schema import TREATED_ARM as treated_arm
from helpers.parameters import read_parameters, write_parameters
from helpers.report import fmt
from helpers.report.display import show_df
from helpers.report.figures import setup_figures, show_figure
from helpers.report.plots_robustness import plot_effect_summary, plot_grid_hr, plot_iptw_weights, plot_ph_residuals
from helpers.results import read_result, write_result
from helpers.results.rows import (
    evalue_rows,
    grid_rows,
    iptw_balance_rows,
    iptw_hr_rows,
    iptw_weight_rows,
    matched_analysis_rows,
    ph_rows,
    rmst_rows,
    weighted_km_rows,
)
from helpers.stats.robustness import (
    MATCHED_ANALYSES,
    evalue_table,
    iptw_balance,
    iptw_cohort,
    iptw_cox_table,
    iptw_weights_table,
    matched_analyses,
    matching_grid,
    ph_tests,
    rmst_table,
    weighted_km_table,
)
from helpers.stats.weighting import ESTIMANDS

setup_figures()
results.start("06_robustness", build_dir)
write_parameters("06_robustness", build_dir, rmst_tau_months=rmst_tau_months, grid_calipers_sd=grid_calipers_sd,
                 grid_ratios=grid_ratios)
# The propensity model, the matching algorithm and the Kaplan-Meier settings are those notebooks 02 and 03 ran with.
recorded = read_parameters(build_dir)
covariates, matchit_emulation = recorded["covariates"], recorded["matchit_emulation"]
time_points_months, conf_type = recorded["time_points_months"], recorded["conf_type"]

analysis = read_result("analysis_cohort", build_dir, dtype={"patient_id": str, "ecog_group": str})
matched_cohort = read_result("matched_cohort", build_dir, dtype={"patient_id": str, "match_id": str})
sets = matched_cohort.loc[matched_cohort["matched"] == 1, ["patient_id", "match_id", "weights"]]
matched = analysis.merge(sets, on="patient_id", how="inner")
cohorts = {"before": analysis, "after": matched}
endpoints = {"OS": ("os_months", "os_event"), "PFS": ("pfs_months", "pfs_event")}
arms = [control_arm, treated_arm]
cohort_label = {"before": "Before matching", "after": "After matching"}
print(f"{len(matched)} matched patients in {matched['match_id'].nunique()} matched sets")

# %% [markdown]
# ## Analyses of the matched cohort

# %%
#| label: matched-analyses
matched_hr = matched_analyses(matched, endpoints, arms)
_ = write_result(matched_hr, "matched_analyses", build_dir, numbers=matched_analysis_rows(matched_hr, treated_arm))

# %%
#| label: tbl-matched-analyses
#| tbl-cap: "Treatment effect in the matched cohort, SBRT+TACE vs SBRT alone: the hazard ratio (95% CI) analysed as the paper did (matched patients as independent), with matching weights and a variance robust to the matched sets, and stratified on the matched sets; and the log-rank test stratified on the matched sets."
show_df(pd.DataFrame({
    "Endpoint": matched_hr["endpoint"],
    "Analysis": [MATCHED_ANALYSES.get(a, "Log-rank test stratified on the matched sets") for a in matched_hr["analysis"]],
    "Patients (events)": [f"{n} ({e})" for n, e in zip(matched_hr["n"], matched_hr["n_events"])],
    "HR (95% CI)": [fmt.hr_ci(h, lo, hi, n) if a != "stratified log-rank" else ""
                    for a, h, lo, hi, n in zip(matched_hr["analysis"], matched_hr["hr"], matched_hr["ci_lower"],
                                               matched_hr["ci_upper"], matched_hr["note"])],
    "p": [fmt.p_value(p, n) for p, n in zip(matched_hr["p_value"], matched_hr["note"])],
}))

# %% [markdown]
# ## Proportional hazards
#
# The scaled Schoenfeld residual test of the treatment term (R
# `cox.zph(coxph(Surv(t, e) ~ arm))`, survival 3.x: a score test of a
# treatment effect that changes linearly in 1 - KM(t)); a small p says the
# hazard ratio is not constant over follow-up, and a single hazard ratio then
# averages a changing effect.

# %%
#| label: ph-test
ph, ph_residuals = ph_tests(cohorts, endpoints, arms)
_ = write_result(ph, "ph_test", build_dir, numbers=ph_rows(ph))

# %%
#| label: ph-residuals
# A supplementary figure of the report (its caption is in index.qmd): the scaled Schoenfeld residuals of the
# treatment term against time, matched cohort, OS (A) and PFS (B); LOWESS smooth and the fitted log hazard ratio.
ph_by = ph.set_index(["cohort", "endpoint"])
panels = [dict(residuals=ph_residuals[("after", ep)], column=f"arm[{treated_arm}]",
               title=f"{'AB'[i]}. {ep}, after matching", p_value=ph_by.loc[("after", ep), "p_value"],
               note=ph_by.loc[("after", ep), "note"])
          for i, ep in enumerate(endpoints)]
show_figure(plot_ph_residuals(panels), "ph-residuals", build_dir)

# %% [markdown]
# ## Restricted mean survival time

# %%
#| label: rmst
rmst = rmst_table(cohorts, endpoints, arms, rmst_tau_months)
_ = write_result(rmst, "rmst", build_dir, numbers=rmst_rows(rmst))

# %%
#| label: tbl-rmst
#| tbl-cap: "Restricted mean survival time (months, 95% CI) up to the horizon of the Methods, per arm, and the difference SBRT+TACE minus SBRT alone (95% CI, p), before and after matching. Not estimable: the horizon is beyond an arm's last follow-up, or the arm is empty."
show_df(pd.DataFrame({
    "Cohort": rmst["cohort"].map(cohort_label),
    "Endpoint": rmst["endpoint"],
    "Arm": rmst["arm"].str.replace("difference", f"Difference ({treated_arm} - {control_arm})"),
    "RMST, months (95% CI)": [fmt.not_estimable(n) if fmt.is_missing(v) else f"{v:.1f} ({fmt.ci(lo, hi, 1)})"
                              for v, lo, hi, n in zip(rmst["rmst"], rmst["ci_lower"], rmst["ci_upper"], rmst["note"])],
    "p": ["" if a != "difference" else fmt.p_value(p, n)
          for a, p, n in zip(rmst["arm"], rmst["p_value"], rmst["note"])],
}))

# %% [markdown]
# ## E-values

# %%
#| label: evalues
treatment_hr = read_result("treatment_hr", build_dir)
evalues = evalue_table(treatment_hr, cohorts, endpoints)
_ = write_result(evalues, "evalues", build_dir, numbers=evalue_rows(evalues))

# %%
#| label: evalue-table
# A supplementary table of the report (its caption is in index.qmd). Outcomes with the event in 15% or more of
# the cohort use the common-outcome transformation of the hazard ratio.
show_df(pd.DataFrame({
    "Cohort": evalues["cohort"].map(cohort_label),
    "Endpoint": evalues["endpoint"],
    "HR (95% CI)": [fmt.hr_ci(h, lo, hi, n) for h, lo, hi, n in
                    zip(evalues["hr"], evalues["ci_lower"], evalues["ci_upper"], evalues["note"])],
    "Patients with the event": [fmt.pct(s) for s in evalues["event_share"]],
    "Outcome": ["rare (HR as RR)" if r else "common (transformed)" for r in evalues["rare"]],
    "E-value, estimate": [fmt.number(v, 2) if pd.notna(v) else fmt.not_estimable(n)
                          for v, n in zip(evalues["evalue"], evalues["note"])],
    "E-value, CI": [fmt.number(v, 2) if pd.notna(v) else fmt.not_estimable(n)
                    for v, n in zip(evalues["evalue_ci"], evalues["note"])],
}))

# %% [markdown]
# ## Weighted Kaplan-Meier of the matched cohort
#
# The matched cohort's Kaplan-Meier rates with MatchIt's matching weights (R `survfit(Surv(t, e) ~ arm,
# weights = weights)`): a control of a treated patient with fewer controls counts for more, so that each matched
# set weighs as much as its treated patient. With non-integer weights the standard error is R's default, the
# infinitesimal jackknife.

# %%
#| label: weighted-km
weighted_km = weighted_km_table(matched, endpoints, arms, time_points_months, "weights", conf_type,
                                note="" if len(matched) else "nobody matched").assign(cohort="after",
                                                                                      analysis="matching weights")

# %% [markdown]
# ## Weighting instead of matching
#
# Inverse probability of treatment weights from the same propensity model keep every patient of the analysis
# cohort: the ATT weights (1 for treated patients, e/(1 - e) for controls) reweight the controls to the treated
# patients, the stabilized ATE weights reweight both arms to the whole cohort. Balance is the absolute
# standardized mean difference of each covariate level (the largest per covariate), with the SD of the
# unweighted treated patients (ATT) or the pooled unweighted SD (ATE), as MatchIt's `summary` and cobalt
# define it; the treatment effect is a weighted Cox model with a robust variance (R `coxph(Surv(t, e) ~ arm,
# weights = w, robust = TRUE)`) and weighted Kaplan-Meier rates.

# %%
#| label: iptw
scores = matched_cohort[["patient_id", "propensity_score"]]
weighted, weight_notes = iptw_cohort(analysis.merge(scores, on="patient_id", how="left"), treated_arm)
iptw_weights_summary = iptw_weights_table(weighted, weight_notes, arms)
iptw_smd = iptw_balance(weighted, covariates, treated_arm, weight_notes)
iptw_hr = iptw_cox_table(weighted, weight_notes, endpoints, arms)
weighted_km = pd.concat([weighted_km] + [
    weighted_km_table(weighted, endpoints, arms, time_points_months, f"w_{est}", conf_type, weight_notes[est])
    .assign(cohort="before", analysis=est) for est in ESTIMANDS], ignore_index=True)
_ = write_result(iptw_weights_summary, "iptw_weights", build_dir, numbers=iptw_weight_rows(iptw_weights_summary))
_ = write_result(iptw_smd, "iptw_balance", build_dir, numbers=iptw_balance_rows(iptw_smd))
_ = write_result(iptw_hr, "iptw_hr", build_dir, numbers=iptw_hr_rows(iptw_hr, treated_arm))
_ = write_result(weighted_km, "weighted_km", build_dir, numbers=weighted_km_rows(weighted_km))
for est, note in weight_notes.items():
    if note:
        print(f"Note: {est} weights not estimable: {note}")

# %%
#| label: tbl-weighted-km
#| tbl-cap: "Weighted Kaplan-Meier rates (%, 95% CI) per arm at the time points of the Methods: the matched cohort with MatchIt's matching weights, and the whole analysis cohort with inverse probability of treatment weights (ATT; stabilized ATE)."
weighting_label = {"matching weights": "Matched, matching weights", **{e: f"IPTW {e}" for e in ESTIMANDS}}
km_wide = weighted_km.assign(rate=[fmt.rate_ci(s, lo, hi, n) for s, lo, hi, n in
                                   zip(weighted_km["survival"], weighted_km["ci_lower"], weighted_km["ci_upper"],
                                       weighted_km["note"])])
km_wide = km_wide.pivot_table(index=["analysis", "endpoint", "arm"], columns="months", values="rate",
                              aggfunc="first", sort=False).reset_index()
show_df(pd.DataFrame({"Weighting": km_wide["analysis"].map(weighting_label), "Endpoint": km_wide["endpoint"],
                      "Arm": km_wide["arm"],
                      **{f"{m:g} months": km_wide[m] for m in time_points_months if m in km_wide}}))

# %%
#| label: tbl-iptw
#| tbl-cap: "Weighting instead of matching, SBRT+TACE vs SBRT alone: the effective sample size (Kish) and the largest weight per arm, the largest absolute standardized mean difference over the covariates, and the hazard ratio (95% CI) of the weighted Cox model with a robust variance."
ws = iptw_weights_summary.set_index(["estimand", "arm"])
smd_max = iptw_smd.groupby("estimand", sort=False)["smd"].max()
hr_by = iptw_hr.set_index(["estimand", "endpoint"])
show_df(pd.DataFrame([{
    "Weighting": label,
    **{f"ESS {arm} (n)": (fmt.not_estimable(weight_notes[est]) if weight_notes[est] else
                          f"{ws.loc[(est, arm), 'ess']:.1f} ({ws.loc[(est, arm), 'n']})") for arm in arms},
    "Largest weight": fmt.number(ws.loc[[(est, a) for a in arms], "max"].max(), 2),
    "Largest SMD (before)": fmt.number(smd_max.get("unweighted"), 3),
    "Largest SMD (weighted)": fmt.number(smd_max.get(est), 3),
    **{f"HR {ep} (95% CI), p": (f"{fmt.hr_ci(*hr_by.loc[(est, ep), ['hr', 'ci_lower', 'ci_upper']])}, "
                                f"{fmt.p_value(hr_by.loc[(est, ep), 'p_value'])}"
                                if pd.notna(hr_by.loc[(est, ep), "hr"]) else fmt.not_estimable(hr_by.loc[(est, ep), "note"]))
       for ep in endpoints},
} for est, label in ESTIMANDS.items()]))

# %%
#| label: iptw-weights
# A supplementary figure of the report (its caption is in index.qmd): the distribution of the ATT and stabilized
# ATE weights per arm.
show_figure(plot_iptw_weights(weighted, weight_notes, arms, ESTIMANDS), "iptw-weights", build_dir)

# %% [markdown]
# ## Matching settings
#
# The paper's caliper (0.02 SD of the logit) is ten times tighter than the usual 0.2. The matching is repeated
# for each caliper of `grid_calipers_sd` (0 = none) and each ratio of `grid_ratios`, with the same propensity
# model and MatchIt's algorithm; each matched cohort is analysed as the paper did (Cox, matched patients as
# independent). The largest SMD is MatchIt's `summary(m)` after matching (matching weights, the SD of all treated
# patients, over every covariate level).

# %%
#| label: matching-grid
grid = matching_grid(analysis, covariates, arms, [c if c > 0 else None for c in grid_calipers_sd], grid_ratios,
                     endpoints, emulate=matchit_emulation)
_ = write_result(grid, "matching_grid", build_dir, numbers=grid_rows(grid, arms))

# %%
#| label: tbl-matching-grid
#| tbl-cap: "Matching settings: for each caliper (SD of the logit of the propensity score) and ratio, the matched patients per arm, the treated patients left without a control, the largest absolute standardized mean difference after matching, and the hazard ratio (95% CI) of SBRT+TACE vs SBRT alone, matched patients analysed as independent as in the paper."
cells = grid.drop_duplicates("cell")
hr_cell = grid.set_index(["cell", "endpoint"])
show_df(pd.DataFrame({
    "Caliper, ratio": cells["cell"],
    f"Matched {treated_arm} + {control_arm}": [f"{t} + {c}" for t, c in zip(cells["n_treated"], cells["n_control"])],
    "Unmatched treated": cells["n_unmatched_treated"],
    "Largest SMD": [fmt.number(v, 3) if pd.notna(v) else fmt.not_estimable("nobody matched") for v in cells["smd_max"]],
    **{f"HR {ep} (95% CI)": [fmt.hr_ci(*hr_cell.loc[(c, ep), ["hr", "ci_lower", "ci_upper", "note"]])
                             for c in cells["cell"]] for ep in endpoints},
}))

# %%
#| label: fig-matching-grid
#| fig-cap: "Hazard ratio of SBRT+TACE vs SBRT alone (95% CI, log scale) across the matching settings: each caliper (SD of the logit) and ratio, with the matched patients (treated + controls); the published hazard ratio is marked (dotted)."
published = load_published()
published_hr = {ep: published_value(published, "treatment_hr", cohort="after", arm=treated_arm, endpoint=ep)
                for ep in endpoints}
show_figure(plot_grid_hr(grid, published_hr), "fig-matching-grid", build_dir)

# %% [markdown]
# ## The treatment effect across analyses

# %%
#| label: fig-effect-summary
#| fig-cap: "Hazard ratio of SBRT+TACE vs SBRT alone (95% CI, log scale) for overall and progression-free survival across the analyses: the published one (first row); before matching; after matching as the paper analysed it, with matching weights and a cluster-robust variance, and stratified on the matched sets; weighting instead of matching (IPTW ATT and stabilized ATE, robust variance); and each cell of the matching-settings grid (caliper in SD of the logit, ratio); the published hazard ratio is marked (dotted)."
columns = ["endpoint", "analysis", "hr", "ci_lower", "ci_upper", "note"]
published_rows = pd.DataFrame([dict(endpoint=ep, analysis="Published (matched, as the paper)",
                                    **{c: published_value(published, q, cohort="after", arm=treated_arm, endpoint=ep)
                                       for c, q in (("hr", "treatment_hr"), ("ci_lower", "treatment_hr_ci_lower"),
                                                    ("ci_upper", "treatment_hr_ci_upper"))}, note="")
                               for ep in endpoints], columns=columns)
before = treatment_hr[treatment_hr["cohort"] == "before"].assign(analysis="Before matching")
effects = pd.concat([published_rows, before[columns],
                     matched_hr[matched_hr["analysis"] != "stratified log-rank"]
                     .assign(analysis=lambda d: "After matching, " + d["analysis"])[columns],
                     iptw_hr.assign(analysis=lambda d: "IPTW " + d["estimand"])[columns],
                     grid.assign(analysis=lambda d: "Grid " + d["cell"])[columns]], ignore_index=True)
effects = effects[effects["endpoint"].isin(list(endpoints))].sort_values("endpoint", kind="stable")
show_figure(plot_effect_summary(effects, published_hr), "fig-effect-summary", build_dir)

# %% [markdown]
# ## Local control with death as a competing event
#
# The paper, like notebook 03, analysed local control by Kaplan-Meier and
# censored patients at death. When many patients die before any local
# failure, one minus that Kaplan-Meier curve is the incidence of local
# failure in a world where nobody dies: it overstates the incidence patients
# actually experience. Here death without local failure before it is a
# competing event (`lc_status`, `helpers.data.derive.add_endpoints`): the
# cumulative incidence of local failure per arm (Aalen-Johansen; R
# `survfit(Surv(t, factor(status, 0:2, c("censor", "lf", "death"))) ~ arm)`),
# the arms compared by Gray's test (R `cmprsk::cuminc`) and by the Fine-Gray
# subdistribution hazard ratio (R `cmprsk::crr`), before and after matching,
# at the Kaplan-Meier time points of notebook 03. Each statistic agrees with
# R (`tests/test_competing.py`).

# %%
#| label: competing-risks
from helpers.parameters import read_parameters
from helpers.results.rows import competing_count_rows, competing_rate_rows, competing_test_rows
from helpers.stats.competing_risks import (
    competing_risk_counts,
    competing_risk_curves,
    competing_risk_rates,
    competing_risk_tests,
)
from helpers.stats.survival import time_point_label

survival_parameters = read_parameters(build_dir)  # notebook 03's time points and time axis
cr_counts = competing_risk_counts(cohorts, arms)
cr_rates = competing_risk_rates(cohorts, arms, survival_parameters["time_points_months"])
cr_tests = competing_risk_tests(cohorts, arms)
_ = write_result(cr_counts, "competing_risk_counts", build_dir, numbers=competing_count_rows(cr_counts))
_ = write_result(cr_rates, "competing_risk_rates", build_dir, numbers=competing_rate_rows(cr_rates))
_ = write_result(cr_tests, "competing_risk_tests", build_dir, numbers=competing_test_rows(cr_tests, treated_arm))
show_df(cr_counts)

# %%
#| label: tbl-competing-risks
#| tbl-cap: "Local failure with death as a competing event: the cumulative incidence of local failure (Aalen-Johansen, %, 95% CI) per arm, beside one minus the Kaplan-Meier curve that censors deaths (%, 95% CI), before and after matching. Not estimable: no patient followed that long."
def percent_ci(v, lo, hi, note):
    if fmt.is_missing(v):
        return fmt.not_estimable(note)
    return f"{100 * v:.1f}" + ("" if v == 0 or fmt.is_missing(lo) else f" ({fmt.ci(lo, hi, 1, scale=100)})")


show_df(pd.DataFrame({
    "Cohort": cr_rates["cohort"].map(cohort_label),
    "Arm": cr_rates["arm"],
    "Time": cr_rates["months"].map(time_point_label),
    "At risk": cr_rates["n_at_risk"],
    "Cumulative incidence, % (95% CI)": [percent_ci(*r) for r in
                                         cr_rates[["cif", "cif_lower", "cif_upper", "note"]].itertuples(index=False)],
    "1 - KM, deaths censored, % (95% CI)": [percent_ci(*r) for r in cr_rates[["km_failure", "km_lower", "km_upper",
                                                                               "note"]].itertuples(index=False)],
}))

# %%
#| label: tbl-competing-tests
#| tbl-cap: "Local failure with death as a competing event, SBRT+TACE vs SBRT alone: local failures and deaths without local failure per arm, Gray's test of the cumulative incidence, and the Fine-Gray subdistribution hazard ratio (sHR, 95% CI, p), before and after matching."
by_arm = cr_counts.set_index(["cohort", "arm"])
show_df(pd.DataFrame({
    "Cohort": cr_tests["cohort"].map(cohort_label),
    **{f"Local failures / deaths first, {arm}": [f"{by_arm.loc[(c, arm), 'n_local_failure']} / "
                                                 f"{by_arm.loc[(c, arm), 'n_death']}" for c in cr_tests["cohort"]]
       for arm in arms},
    "Gray's test p": [fmt.p_value(p, n) for p, n in zip(cr_tests["gray_p"], cr_tests["gray_note"])],
    "sHR (95% CI)": [fmt.hr_ci(h, lo, hi, n) for h, lo, hi, n in
                     zip(cr_tests["shr"], cr_tests["ci_lower"], cr_tests["ci_upper"], cr_tests["shr_note"])],
    "sHR p": [fmt.p_value(p, n) for p, n in zip(cr_tests["shr_p"], cr_tests["shr_note"])],
}))

# %%
#| label: fig-competing-risks
#| fig-cap: "Local failure with death as a competing event, before (A) and after (B) matching: the cumulative incidence of local failure per arm (Aalen-Johansen, solid) beside one minus the Kaplan-Meier curve that censors deaths (dashed), with Gray's test and the Fine-Gray subdistribution hazard ratio of SBRT+TACE vs SBRT alone."
from helpers.report.plots_competing import plot_competing_risks

curves = competing_risk_curves(cohorts, arms)
tests_by = cr_tests.set_index("cohort")
panels = [dict(title=f"{'AB'[i]}. {cohort_label[c]}", curves={arm: curves[(c, arm)] for arm in arms},
               counts={arm: tuple(by_arm.loc[(c, arm), ["n", "n_local_failure", "n_death"]]) for arm in arms},
               tests=tests_by.loc[c]) for i, c in enumerate(cohorts)]
show_figure(plot_competing_risks(panels, arms, survival_parameters["km_max_months"]), "fig-competing-risks",
            build_dir)
