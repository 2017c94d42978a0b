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

from helpers import results
from helpers.report.display import show_df
from helpers.results import write_result
from helpers.results.ledger import agreement, published_vs_reproduced
from helpers.results.rows import ledger_rows

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
