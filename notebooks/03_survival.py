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
# # 3. Survival: Kaplan-Meier, log-rank and Cox regression
#
# Endpoints (months from SBRT start): overall survival (OS, death from any
# cause), progression-free survival (PFS, first progression or death) and
# local control (LC, progression of the irradiated lesion; death censors).
# Kaplan-Meier rates carry 95% confidence intervals on the log-log scale
# (Kalbfleisch-Prentice; R `survfit(..., conf.type = "log-log")`, which stays
# inside 0-1); arms are compared with the log-rank test (R `survdiff`); hazard
# ratios come from Cox models with Efron's handling of ties (R `coxph`'s
# default) and Wald 95% CIs and p-values. All agree with R's `survival`
# package to a relative 1e-6 (`make crosscheck`).

# %% tags=["parameters"]
build_dir = "build"  # type: str  output folder: results, figures, executed notebooks (make sets it from OUT)
time_points_months = [12, 36, 60]  # type: list[int]  months at which Kaplan-Meier rates are reported
entry_p = 0.1  # type: float  univariate Cox p below which a covariate enters the multivariate model
candidate_covariates = ["sex_group", "age_group", "hepatitis_type", "child_pugh_class", "platelets_group",
                        "afp_group", "diameter_group", "bed_group", "pvtt_group", "ecog_group",
                        "prior_treatment_group"]  # type: list[str]  covariates of the Cox models (the eleven of Table 1)
conf_type = "log-log"  # type: str  Kaplan-Meier confidence interval: log-log, log or plain
treatment_effect_model = "univariate"  # type: str  Cox model whose arm hazard ratio is the treatment effect: univariate or multivariate (notebook 05 sets both beside the published hazard ratios and names the closer)
km_max_months = 144  # type: int  end of the Kaplan-Meier x-axis (months), long enough for the late follow-up; counts every 24 months (12 up to 60)

# %%
#| label: survival-setup
import pandas as pd

from helpers import results
from helpers.data.derive import TABLE1_VARIABLES
from helpers.data.schema import CONTROL_ARM as control_arm
from helpers.data.schema import TREATED_ARM as treated_arm
from helpers.parameters import write_parameters
from helpers.report import fmt
from helpers.report.display import show_df
from helpers.report.figures import setup_figures, show_figure
from helpers.report.labels import km_axis_label, term_label
from helpers.report.plots_survival import km_ticks, plot_forest, plot_km_grid
from helpers.results import read_result, write_result
from helpers.results.rows import cox_rows, km_rows, logrank_rows, treatment_hr_rows
from helpers.stats.survival import (
    km_rates_reported,
    logrank_reason,
    logrank_test,
    not_estimable_reason,
    time_point_label,
    treatment_effect,
    univariate_then_multivariate_cox,
)

setup_figures()
results.start("03_survival", build_dir)
# The arms compared are fixed by the data dictionary (not parameters); they are recorded with the run.
write_parameters("03_survival", build_dir, time_points_months=time_points_months, entry_p=entry_p,
                 candidate_covariates=candidate_covariates, conf_type=conf_type, km_max_months=km_max_months,
                 treatment_effect_model=treatment_effect_model,
                 control_arm=control_arm,
                 treated_arm=treated_arm)

analysis = read_result("analysis_cohort", build_dir, dtype={"patient_id": str, "ecog_group": str})
matched = read_result("matched_cohort", build_dir, dtype={"patient_id": str, "match_id": str})  # as 06: parsed once
in_matched = analysis["patient_id"].isin(matched.loc[matched["matched"] == 1, "patient_id"])
cohorts = {"before": analysis, "after": analysis[in_matched].reset_index(drop=True)}
endpoints = {"OS": ("os_months", "os_event", "Overall survival"),
             "PFS": ("pfs_months", "pfs_event", "Progression-free survival"),
             "LC": ("lc_months", "lc_event", "Local control")}
arms = [control_arm, treated_arm]
levels = {v.column: list(v.levels) for v in TABLE1_VARIABLES}
levels["arm"] = arms

# %% [markdown]
# ## Kaplan-Meier rates and log-rank tests

# %%
#| label: km-logrank
rates, tests = [], []
for cohort_name, df in cohorts.items():
    for ep, (tcol, ecol, _) in endpoints.items():
        for arm in arms:
            g = df[df["arm"] == arm]
            # Beyond the arm's last observation: no estimate (the report's one policy, km_rates_reported).
            r = km_rates_reported(g[tcol], g[ecol], time_points_months, conf_type=conf_type)
            rates.append(r.assign(cohort=cohort_name, endpoint=ep, arm=arm))
        lr = logrank_test(df[tcol], df[ecol], df["arm"], group_order=arms)
        tests.append(dict(cohort=cohort_name, endpoint=ep, chi2=lr.chi2, df=lr.df, p_value=lr.p_value,
                          n=len(df), events=int(df[ecol].sum())))
km_rates = pd.concat(rates, ignore_index=True)[["cohort", "endpoint", "arm", "months", "survival", "ci_lower",
                                                  "ci_upper", "n_at_risk"]]
logrank = pd.DataFrame(tests)
write_result(km_rates, "km_rates", build_dir, numbers=km_rows(km_rates))
_ = write_result(logrank, "logrank", build_dir, numbers=logrank_rows(logrank))  # no output: a path is not for the page

# %%
#| label: tbl-km-rates
#| tbl-cap: "Kaplan-Meier 1-, 3- and 5-year rates (%, 95% CI on the log-log scale) per arm, and log-rank p, before and after matching. Not estimable: no patient at risk (rate), no event yet (CI of a rate of 100%), or no event in the cohort (p)."
rows = []
for (cohort_name, ep), block in km_rates.groupby(["cohort", "endpoint"], sort=False):
    p = logrank.set_index(["cohort", "endpoint"]).loc[(cohort_name, ep), "p_value"]
    for arm in arms:
        row = {("", "Cohort"): "Before matching" if cohort_name == "before" else "After matching",
               ("", "Endpoint"): ep, ("", "Arm"): arm}
        for _, r in block[block["arm"] == arm].iterrows():
            row[("Rate, % (95% CI)", time_point_label(r.months))] = fmt.rate_ci(r.survival, r.ci_lower, r.ci_upper)
        row[("", "Log-rank p")] = fmt.p_value(p) if arm == arms[0] else ""
        rows.append(row)
table = pd.DataFrame(rows)
table.columns = pd.MultiIndex.from_tuples(table.columns)
show_df(table)

# %%
#| label: fig-km
#| fig-cap: "Kaplan-Meier curves before (A, overall survival; B, progression-free survival; C, local control) and after (D-F) propensity-score matching, with 95% confidence bands, censoring marks (+) and log-rank p; under each panel, per arm, the number at risk and the cumulative numbers censored and of events (KMunicate, Morris et al. 2019)."
panels = []
lr_by = logrank.set_index(["cohort", "endpoint"])
for cohort_name, df in cohorts.items():
    for ep, (tcol, ecol, title) in endpoints.items():
        lr = lr_by.loc[(cohort_name, ep)]
        panels.append(dict(data=df, time_col=tcol, event_col=ecol, group_col="arm", group_order=arms,
                           ylabel=km_axis_label(ep), months_ticks=km_ticks(km_max_months),
                           title=f"{title}, {'before' if cohort_name == 'before' else 'after'} matching",
                           conf_type=conf_type, logrank_p=lr["p_value"],
                           logrank_reason=logrank_reason(lr["n"], lr["events"]) if pd.isna(lr["p_value"]) else ""))
fig = plot_km_grid(panels, nrows=2, ncols=3)
show_figure(fig, "fig-km", build_dir)

# %% [markdown]
# ## Cox regression
#
# Univariate models for the treatment and each candidate covariate; the
# multivariate model keeps the treatment and every covariate with univariate
# p < `entry_p`. A model that cannot be estimated (no events, a single level,
# separation) is reported as such, with the reason.

# %%
#| label: cox-models
from helpers.stats.survival import CoxData

cox_tables = {}
for cohort_name, df in cohorts.items():
    data = CoxData(df)  # the cohort prepared once for the models of its three endpoints
    for ep, (tcol, ecol, _) in endpoints.items():
        t = univariate_then_multivariate_cox(data, tcol, ecol, candidate_covariates, levels=levels,
                                             entry_p=entry_p, forced=("arm",))
        cox_tables[(cohort_name, ep)] = t
del data  # the prepared columns are not needed further
cox = pd.concat([t.assign(cohort=c, endpoint=e) for (c, e), t in cox_tables.items()], ignore_index=True)
cox = cox[["cohort", "endpoint", "model", "variable", "term", "hr", "ci_lower", "ci_upper", "p_value", "note",
           "n", "n_events"]]
_ = write_result(cox, "cox", build_dir, numbers=cox_rows(cox))  # no output: a file path is not for the page

# %%
#| label: tbl-treatment-hr
#| tbl-cap: "Hazard ratio of SBRT+TACE vs SBRT alone (Cox, Efron ties; 95% Wald CI; the treatment effect as the Methods define it), per endpoint and cohort; a model that cannot be estimated is reported with the reason."
hr = treatment_effect(cox, treatment_effect_model)
write_result(hr, "treatment_hr", build_dir, numbers=treatment_hr_rows(hr, treated_arm))
show_df(pd.DataFrame({
    "Cohort": hr["cohort"].map({"before": "Before matching", "after": "After matching"}),
    "Endpoint": hr["endpoint"],
    "Contrast": [term_label(t, levels) for t in hr["term"]],
    "Patients (events)": [f"{n} ({e})" for n, e in zip(hr["n"], hr["n_events"])],
    "HR (95% CI)": [fmt.hr_ci(h, lo, hi, not_estimable_reason(note))
                    for h, lo, hi, note in zip(hr["hr"], hr["ci_lower"], hr["ci_upper"], hr["note"])],
    "p": [fmt.p_value(p) if pd.notna(h) else "" for h, p in zip(hr["hr"], hr["p_value"])],
}))

# %%
#| label: fig-forest-os-before
#| fig-cap: "Cox regression for overall survival before matching (A): univariate and multivariate hazard ratios with 95% CI."
fig = plot_forest(cox_tables[("before", "OS")], levels=levels, title="A. Overall survival, before matching")
show_figure(fig, "fig-forest-os-before", build_dir)

# %%
#| label: fig-forest-pfs-before
#| fig-cap: "Cox regression for progression-free survival before matching (B)."
fig = plot_forest(cox_tables[("before", "PFS")], levels=levels, title="B. Progression-free survival, before matching")
show_figure(fig, "fig-forest-pfs-before", build_dir)

# %%
#| label: fig-forest-lc-before
#| fig-cap: "Cox regression for local control before matching (C)."
fig = plot_forest(cox_tables[("before", "LC")], levels=levels, title="C. Local control, before matching")
show_figure(fig, "fig-forest-lc-before", build_dir)

# %%
#| label: fig-forest-os-after
#| fig-cap: "Cox regression for overall survival after matching (D)."
fig = plot_forest(cox_tables[("after", "OS")], levels=levels, title="D. Overall survival, after matching")
show_figure(fig, "fig-forest-os-after", build_dir)

# %%
#| label: fig-forest-pfs-after
#| fig-cap: "Cox regression for progression-free survival after matching (E)."
fig = plot_forest(cox_tables[("after", "PFS")], levels=levels, title="E. Progression-free survival, after matching")
show_figure(fig, "fig-forest-pfs-after", build_dir)

# %%
#| label: fig-forest-lc-after
#| fig-cap: "Cox regression for local control after matching (F)."
fig = plot_forest(cox_tables[("after", "LC")], levels=levels, title="F. Local control, after matching")
show_figure(fig, "fig-forest-lc-after", build_dir)
