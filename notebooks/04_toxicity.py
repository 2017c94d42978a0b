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
# # 4. Toxicity and patterns of failure
#
# Adverse events are graded by CTCAE v4.0. Each patient counts once per row,
# at the maximum grade of the events the row is about. Acute toxicity is the
# SBRT-phase events other than radiation-induced liver disease (RILD), which
# is reported on its own; post-TACE events concern the combination arm only.
# Arms are compared with Fisher's exact test (two-sided).
# The paper's Table 2 (sites of first progression, subsequent therapy, deaths)
# follows, before and after matching.

# %% tags=["parameters"]
cohort_csv = "data/cohort.csv"  # type: str  cohort file, one row per screened patient (make sets it from DATA)
adverse_events_csv = "data/adverse_events.csv"  # type: str  adverse-event file, one row per event (make sets it from AE)
build_dir = "build"  # type: str  output folder: results, figures, executed notebooks (make sets it from OUT)

# %%
#| label: toxicity-setup
import pandas as pd

from helpers import results
from helpers.data.load import load_study
from helpers.data.schema import ARMS
from helpers.paths import input_file, validated_inputs
from helpers.report import fmt
from helpers.report.display import show_df
from helpers.report.table2 import format_table2
from helpers.results import read_result, write_result
from helpers.results.rows import progression_rows, toxicity_rows
from helpers.stats.progression import progression_pattern_table
from helpers.stats.toxicity import toxicity_table

results.start("04_toxicity", build_dir)
study = load_study(input_file("cohort", cohort_csv, build_dir),  # the run's snapshot, as in notebook 00
                   input_file("adverse_events", adverse_events_csv, build_dir),
                   validated=validated_inputs(build_dir))  # validated once by the pipeline; alone: validated here
analysis = read_result("analysis_cohort", build_dir, dtype={"patient_id": str}, keep_default_na=False)
matched = read_result("matched_cohort", build_dir, dtype={"patient_id": str, "match_id": str})  # as 06: parsed once
matched_ids = set(matched.loc[matched["matched"] == 1, "patient_id"])
ae = study.adverse_events[["patient_id", "phase", "term", "grade"]]

# %% [markdown]
# ## Toxicity

# %%
#| label: tbl-toxicity
#| tbl-cap: "Adverse events by arm (patients, n (%)): acute toxicity by maximum CTCAE grade, RILD, and events after TACE; p from Fisher's exact test."
tox = []
for cohort_name, sub in (("before", analysis), ("after", analysis[analysis["patient_id"].isin(matched_ids)])):
    tox.append(toxicity_table(sub[["patient_id", "arm"]], ae).assign(cohort=cohort_name))
tox = pd.concat(tox, ignore_index=True)
write_result(tox, "toxicity", build_dir, numbers=toxicity_rows(tox, ARMS))


shown = tox[(tox["cohort"] == "before") & ~tox["key"].str.startswith("acute_max_grade")]
n_s, n_t = int(shown["n_arm_sbrt"].iloc[0]), int(shown["n_arm_sbrt_tace"].iloc[0])
display_tox = pd.DataFrame({
    "Event": shown["label"],
    f"SBRT (n = {n_s})": [fmt.count(n, p) for n, p in zip(shown["n_sbrt"], shown["pct_sbrt"])],
    f"SBRT+TACE (n = {n_t})": [fmt.count(n, p) for n, p in zip(shown["n_sbrt_tace"], shown["pct_sbrt_tace"])],
    # Post-TACE events exist in one arm only: not compared by design (blank), not a failed estimate.
    "P": ["" if str(t).startswith("not compared") else fmt.p_value(p) for p, t in zip(shown["p_value"], shown["test"])],
})
show_df(display_tox)

# %% [markdown]
# ## Patterns of failure (Table 2)

# %%
#| label: tbl-progression
#| tbl-cap: "Sites of first progression, subsequent therapies and deaths, before and after matching (n (% of the group))."
t2_before = progression_pattern_table(analysis, death_col="died")
t2_after = progression_pattern_table(analysis[analysis["patient_id"].isin(matched_ids)], include_total=False,
                                     death_col="died")
patterns = pd.concat([t2_before.assign(cohort="before"), t2_after.assign(cohort="after")], ignore_index=True)
write_result(patterns, "progression_patterns", build_dir, numbers=progression_rows(patterns))
show_df(format_table2(t2_before, t2_after))
