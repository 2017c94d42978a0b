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
# # 5. Published vs reproduced
#
# Every number of the paper that this report can reproduce, beside the number
# reproduced in this run. The published values come from the ledger
# `data/published.csv` (typed once from the paper); the reproduced values are
# read from `results/numbers.csv`, written by notebooks 01-04 — nothing is
# recomputed here: the ledger is a join of the published numbers with the
# numbers table on their shared key (`helpers.results.ledger`), so each value
# names the notebook and cell that made it. On the default synthetic cohort, agreement measures the calibration of
# the synthetic data plus the re-derivation of matching and survival; on other
# data it is a comparison with the original study.

# %% tags=["parameters"]
build_dir = "build"  # type: str  output folder: results, figures, executed notebooks (make sets it from OUT)

# %%
#| label: ledger
import pandas as pd

from helpers import results
from helpers.report import fmt
from helpers.report.display import show_df
from helpers.results import write_result
from helpers.results.ledger import agreement, published_vs_reproduced, treatment_model_comparison
from helpers.results.rows import ledger_rows, treatment_model_rows

results.start("05_reproduction", build_dir)
comparison = published_vs_reproduced(build_dir)
n_exact, n_compared = agreement(comparison)
write_result(comparison, "published_vs_reproduced", build_dir, numbers=ledger_rows(n_compared, n_exact))
compared = comparison[comparison["reproduced"].notna()]
print(f"{n_compared} published numbers compared; {n_exact} reproduced exactly")

# %%
#| label: tbl-published-vs-reproduced
#| tbl-cap: "Published numbers beside the reproduced ones, summarised per kind of quantity: how many, how many reproduced exactly, and the largest absolute difference."
summary = (compared.assign(exact=compared["difference"].abs() < 1e-9, absdiff=compared["difference"].abs())
           .groupby(["quantity", "cohort"], sort=False)
           .agg(compared=("published", "size"), exact=("exact", "sum"), largest_difference=("absdiff", "max"),
                results_file=("results_file", "first"))
           .reset_index())
show_df(summary.round(4))

# %%
#| label: tbl-reproduction-km
#| tbl-cap: "Kaplan-Meier rates and log-rank p-values: published vs reproduced."
km = compared[compared["quantity"].isin(["km_survival", "logrank_p"])]
show_df(km[["quantity", "cohort", "endpoint", "arm", "months", "published", "reproduced", "difference"]].round(3))

# %%
#| label: tbl-reproduction-hr
#| tbl-cap: "Treatment hazard ratios after matching (SBRT+TACE vs SBRT): published vs reproduced."
hr = compared[compared["quantity"].str.startswith("treatment_hr")]
show_df(hr[["quantity", "endpoint", "published", "reproduced", "difference"]].round(3))

# %% [markdown]
# Which Cox model the paper's matched hazard ratios come from is checked here: they are set beside the
# treatment term of both models of the matched cohort (notebook 03): the univariate one, whose p is close to
# the log-rank test's, and the multivariable one (the treatment adjusted for the covariates that entered).
# A published CI that excludes 1 beside a log-rank p above 0.05 points to the second. The likely model is the
# one that agrees with the published CIs on significance for more endpoints and, among those, is closer (largest
# difference of log HR and log CI bounds, summed over endpoints).

# %%
#| label: tbl-treatment-model
#| tbl-cap: "Published matched hazard ratios (SBRT+TACE vs SBRT alone) beside the treatment hazard ratio of the univariate and the multivariable Cox model of the matched cohort: log distance, agreement on significance, and the model the published numbers most likely come from."
treatment_models = treatment_model_comparison(build_dir)
write_result(treatment_models, "treatment_model_comparison", build_dir,
             numbers=treatment_model_rows(treatment_models))
show_df(pd.DataFrame({
    "Endpoint": treatment_models["endpoint"], "Model": treatment_models["model"],
    "Published HR (95% CI)": [fmt.hr_ci(h, lo, hi, digits=3) for h, lo, hi in zip(
        treatment_models["published_hr"], treatment_models["published_ci_lower"],
        treatment_models["published_ci_upper"])],
    "Reproduced HR (95% CI)": [fmt.hr_ci(h, lo, hi) for h, lo, hi in zip(
        treatment_models["hr"], treatment_models["ci_lower"], treatment_models["ci_upper"])],
    "p": [fmt.p_value(p) for p in treatment_models["p_value"]],
    "Log distance": treatment_models["log_distance"].round(3),
    "Same significance": treatment_models["same_significance"].map({True: "yes", False: "no"}),
    "Likely model": treatment_models["likely"].map({True: "yes", False: ""}),
}))

