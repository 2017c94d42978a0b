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
# # 0. The data: overview and the synthetic cohort against the published aggregates
#
# The study's patient-level data were never published. The default input
# (`data/cohort.csv`, `data/adverse_events.csv`) is a **synthetic,
# de-identified cohort** written by `helpers/synthetic/generator.py` with a fixed seed and
# calibrated to the paper's aggregates. This notebook validates the input
# files, summarises them, and puts each published aggregate beside the same
# figure computed from the data, with the bound it must meet. On a user's own
# data the same table reads "published vs this cohort".

# %% tags=["parameters"]
cohort_csv = "data/cohort.csv"  # type: str  cohort file, one row per screened patient (make sets it from DATA)
adverse_events_csv = "data/adverse_events.csv"  # type: str  adverse-event file, one row per event (make sets it from AE)
build_dir = "build"  # type: str  output folder: results, figures, executed notebooks (make sets it from OUT)
data_cutoff = "2025-09-30"  # type: str  date (YYYY-MM-DD) at which follow-up is censored; later events are censored in every count

# %%
#| label: load-inputs
import pandas as pd

from helpers import results
from helpers.data.load import input_summary, load_study, problems_frame
from helpers.parameters import write_parameters
from helpers.paths import (
    ADVERSE_EVENTS_CSV,
    COHORT_CSV,
    SYNTHETIC_EFFECTS_CSV,
    SYNTHETIC_EFFECTS_HRS_CSV,
    input_file,
    validated_inputs,
)
from helpers.report import fmt
from helpers.report.display import show_df
from helpers.results import write_result
from helpers.results.rows import input_rows, synthetic_effect_rows
from helpers.synthetic.check import compare_to_published
from helpers.synthetic.effects import PLAUSIBLE_HR, effects_overview, forced_sentences

# In a pipeline run: the run's snapshot of the inputs (build_dir/inputs/), the same bytes for every notebook.
files = {"cohort": input_file("cohort", cohort_csv, build_dir),
         "adverse_events": input_file("adverse_events", adverse_events_csv, build_dir)}
results.start("00_data_overview", build_dir)
study = load_study(files["cohort"], files["adverse_events"], validated=validated_inputs(build_dir))
cohort, ae = study.cohort, study.adverse_events
is_synthetic = cohort["patient_id"].astype(str).str.startswith("SYN-").all()
# Which input made this build: file names (not folders) and SHA-256 of the bytes read (the snapshot's).
inputs = input_summary(files,
                       {"cohort": len(cohort), "adverse_events": len(ae)}, synthetic=bool(is_synthetic),
                       defaults={"cohort": COHORT_CSV, "adverse_events": ADVERSE_EVENTS_CSV})
write_result(inputs, "input_summary", build_dir, numbers=input_rows(inputs))
write_parameters("00_data_overview", build_dir, data_cutoff=data_cutoff)
print(f"{len(cohort)} screened patients, {len(ae)} adverse events;",
      "SYNTHETIC data" if is_synthetic else "user-supplied data")

# %% [markdown]
# ## Input files
#
# A run of the pipeline reads each input file once, at its start, into a
# snapshot (`inputs/` of the build, with `inputs/SHA256SUMS`); every notebook
# of the run reads that copy, so a file re-exported meanwhile cannot mix two
# versions in one build. The SHA-256 names the exact bytes analysed.

# %%
#| label: input-files
# A supplementary table of the report (its caption is in index.qmd).
show_df(inputs[["input", "file", "n_rows", "sha256"]].rename(columns={
    "input": "Input", "file": "File", "n_rows": "Rows", "sha256": "SHA-256"}))

# %% [markdown]
# ## Data-quality warnings
#
# Values that are possible but implausible are not errors; they are listed here
# (and in the report's data-quality appendix) with the spreadsheet rows to
# check. `results/data_warnings.csv` lists every row; the table shows the first.

# %%
#| label: data-warnings
# A supplementary table of the report (its caption is in index.qmd): possible but
# implausible values are analysed as recorded.
warnings = problems_frame(study.warnings)
write_result(warnings, "data_warnings", build_dir)
show_df(warnings[["file", "column", "rows_shown", "rule"]].rename(columns={
    "file": "File", "column": "Column", "rows_shown": "Rows", "rule": "Warning"})
    if len(warnings) else pd.DataFrame({"Warning": ["None: both files follow the data dictionary."]}))

# %% [markdown]
# ## Published aggregate vs this cohort
#
# Bounds: Table 1 counts before matching, event counts, Table 2 and toxicity
# counts exact; Kaplan-Meier 1-, 3- and 5-year rates before matching within 3
# percentage points; follow-up within 3 months; the matched cohort "near" (sizes
# within 5, counts within 5, rates within 8 points; the matching itself is
# re-derived in notebook 02).

# %%
#| label: tbl-synthetic-vs-published
#| tbl-cap: "Each published aggregate beside the same figure computed from the input data, with the bound it must meet."
comparison = compare_to_published(cohort, ae, cutoff=data_cutoff)
write_result(comparison, "synthetic_vs_published", build_dir)
summary = comparison.groupby(["quantity", "cohort", "check"], sort=False)["ok"].agg(["sum", "size"]).reset_index()
summary.columns = ["quantity", "cohort", "bound", "within bound", "compared"]
print(f"{int(comparison['ok'].sum())} of {len(comparison)} aggregates within their bounds")
show_df(summary)

# %%
#| label: tbl-synthetic-km
#| tbl-cap: "Kaplan-Meier rates: published vs computed from the input data."
km = comparison[comparison["quantity"] == "km_survival"]
show_df(km[["cohort", "arm", "endpoint", "months", "published", "synthetic", "difference", "ok"]].round(3))

# %%
outside = comparison[~comparison["ok"]]
outside if len(outside) else "Every compared aggregate is within its bound."

# %% [markdown]
# ## The synthetic cohort's outcome model
#
# The published counts and rates fix how many deaths, progressions and in-field recurrences each arm has in
# each interval, before and after matching, but not who has them. The generator draws that from a
# proportional-hazards model with stated hazard ratios (`helpers.synthetic.effects`): Child-Pugh B on the
# hazard of death; platelets < 100 and male sex on the hazards of death and of progression; HCV on the odds
# that a liver progression is in-field. It searches, on a grid of hazard ratios, for the smallest ones that
# give the paper's Figure 3 significance pattern in the report's own Cox models (notebook 03, default
# parameters) on the study's own matching, and records them with the search's provenance
# (`data/synthetic_effects.csv`) and the hazard ratios they give (`data/synthetic_effects_hrs.csv`). The table
# shows, per effect and endpoint where its covariate is significant, the generator's hazard ratio, the one a
# grid step below and the requirement it fails, the group sizes and the resulting univariate hazard ratios
# (each of the effect's level). A small group (few patients, few events) forces a larger effect for
# significance; the sentences above the table name each resulting hazard ratio outside 1/4-4 and its group.
# On other data than the synthetic cohort this section is empty.

# %%
#| label: tbl-synthetic-effects
#| tbl-cap: "The synthetic cohort's outcome model: the smallest generator hazard ratios giving the paper's Figure 3 pattern, the group sizes, and the resulting univariate hazard ratios (95% CI) before and after matching."
effects_shown = None
if is_synthetic and SYNTHETIC_EFFECTS_CSV.exists():
    effects = effects_overview(pd.read_csv(SYNTHETIC_EFFECTS_CSV), pd.read_csv(SYNTHETIC_EFFECTS_HRS_CSV))
    write_result(effects, "synthetic_effects", build_dir, numbers=synthetic_effect_rows(effects, PLAUSIBLE_HR))
    for sentence in forced_sentences(effects):
        print(sentence)
    effects_shown = pd.DataFrame({
        "Effect": effects["words"], "Hazard": effects["hazard"], "Endpoint": effects["endpoint"],
        "Generator HR": effects["generator_hr"], "One step less": effects["hr_one_step_below"],
        "Which then fails": effects["fails_one_step_below"],
        "Patients (before / after)": [f"{b} / {a}" for b, a in zip(effects["n_level_before"],
                                                                  effects["n_level_after"])],
        **{f"HR {c} matching": [fmt.hr_ci(h, lo, hi) + f", p {fmt.p_value(p)}" for h, lo, hi, p in zip(
            effects[f"hr_{c}"], effects[f"ci_lower_{c}"], effects[f"ci_upper_{c}"], effects[f"p_{c}"])]
           for c in ("before", "after")},
    })
(show_df(effects_shown) if effects_shown is not None
 else "The input is not the synthetic cohort: no outcome model to show.")
