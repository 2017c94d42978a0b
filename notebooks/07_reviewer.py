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
# # 7. A reviewer's appendix
#
# What a reviewer of the paper would check, computed: which published
# numbers the run reproduced within a stated tolerance, whether the paper's
# own numbers add up, what it reports of the STROBE checklist, and the size of the trial the paper calls for. Every number is written to `results/numbers.csv`;
# nothing is typed here. The published inputs come from `data/published.csv`,
# the reproduced ones from the results of notebooks 01-05.

# %% tags=["parameters"]
build_dir = "build"  # type: str  output folder: results, figures, executed notebooks (make sets it from OUT)
trial_alpha = 0.05  # type: float  two-sided significance level of the trial the paper calls for
trial_power = 0.8  # type: float  power of that trial (1 - beta)
trial_allocation = 1.0  # type: float  allocation ratio of that trial: SBRT+TACE patients per SBRT-alone patient
trial_accrual_months = 36.0  # type: float  accrual period of that trial (months, uniform accrual)
trial_followup_months = 24.0  # type: float  follow-up of that trial after the last patient is enrolled (months)
trial_event_probability = 0.0  # type: float  probability that a patient has an event by the analysis; 0: computed from accrual, follow-up and an exponential control arm
trial_control_months = 60  # type: int  month whose SBRT-alone Kaplan-Meier rate (after matching) sets the exponential control hazard
expectations_csv = ""  # type: str  with your own data: expected numbers for the ledger verdicts (columns of data/published.csv, optional absolute tolerance); "": only the default synthetic cohort is judged

# %%
#| label: reviewer-setup
import pandas as pd

from helpers import results
from helpers.data.published import load_published, read_published_table
from helpers.data.schema import CONTROL_ARM as control_arm
from helpers.data.schema import TREATED_ARM as treated_arm
from helpers.parameters import write_parameters
from helpers.paths import PUBLISHED_PERCENTAGES_CSV, PUBLISHED_REPORTING_CSV
from helpers.report.display import show_df
from helpers.report.figures import setup_figures, show_figure
from helpers.report.notes import analysis_notes
from helpers.report.plots_sizing import plot_power
from helpers.report.strobe import read_strobe
from helpers.results import read_result, write_result
from helpers.results.ledger import OUTSIDE, published_vs_reproduced, verdict_counts, verdict_summary, verdicts
from helpers.results.review import sizing_scenarios
from helpers.results.rows import reporting_rows, sizing_rows, strobe_rows, verdict_rows
from helpers.stats.reporting import reporting_findings
from helpers.stats.sizing import sizing_table

setup_figures()
results.start("07_reviewer", build_dir)
_ = write_parameters("07_reviewer", build_dir, trial_alpha=trial_alpha, trial_power=trial_power,
                     trial_allocation=trial_allocation, trial_accrual_months=trial_accrual_months,
                     trial_followup_months=trial_followup_months, trial_event_probability=trial_event_probability,
                     trial_control_months=trial_control_months, expectations=expectations_csv != "")

# %% [markdown]
# ## Ledger verdicts
#
# Each published number set beside the reproduced one (notebook 05) gets a
# tolerance and a verdict. On the default synthetic cohort the tolerances are
# the calibration bounds the cohort was generated to meet
# (`helpers.data.published.CALIBRATION_BOUNDS`): counts before matching
# exact, Kaplan-Meier rates before matching within 3 percentage points,
# follow-up within 3 months, and a looser bound after matching; p-values,
# SMDs and hazard ratios are re-derived by the analysis and have no bound.
# With other data, the numbers are judged against the expectations file
# named by `expectations_csv` (the columns of `data/published.csv`, and an
# optional absolute `tolerance`), or not judged at all.

# %%
#| label: ledger-verdicts
inputs = read_result("input_summary", build_dir)
default_cohort = bool(inputs["synthetic"].all() and inputs["default_input"].all())
if expectations_csv:
    expected = load_published(expectations_csv)
    judged = verdicts(published_vs_reproduced(build_dir, expected),
                      expected["tolerance"] if "tolerance" in expected else None)
    note = ""
elif default_cohort:
    judged, note = verdicts(published_vs_reproduced(build_dir)), ""
else:
    judged = verdicts(published_vs_reproduced(build_dir)).iloc[:0]
    note = "not judged: these are not the default synthetic cohort and no expectations file was given"
counts = verdict_counts(judged)
write_result(judged, "ledger_verdicts", build_dir, numbers=verdict_rows(counts, note))
print(note or f"{counts['within']} of {counts['judged']} published numbers with a tolerance are within it; "
      f"{counts['no bound']} without a bound; {counts['not reproduced']} not reproduced")

# %%
#| label: ledger-verdict-table
show_df(verdict_summary(judged).rename(columns={"quantity": "Quantity", "cohort": "Cohort", "check": "Check",
                                                 "tolerance": "Tolerance"}) if len(judged)
        else pd.DataFrame({"Verdicts": [note]}))

# %%
#| label: ledger-outside
outside = judged[judged["verdict"] == OUTSIDE]
key_cols = ["quantity", "cohort", "arm", "endpoint", "variable", "level", "months"]
show_df(outside[[*key_cols, "published", "reproduced", "difference", "tolerance", "check"]].round(4) if len(outside)
        else pd.DataFrame({"Outside tolerance": [note or "None: every number with a tolerance is within it."]}))

# %% [markdown]
# ## A check of the paper's reporting
#
# Each finding is recomputed from the paper's own numbers, typed once with
# their source: the counts, p-values, SMDs and hazard ratios of
# `data/published.csv`, every printed percentage of Tables 1 and 2 with its
# count and the denominator its header names (`data/published_percentages.csv`),
# and the statements checked, with their quotes (`data/published_reporting.csv`).
# Nothing here depends on the input data: the same findings on every run.

# %%
#| label: reporting-check
findings = reporting_findings(load_published(), read_published_table(PUBLISHED_PERCENTAGES_CSV),
                              read_published_table(PUBLISHED_REPORTING_CSV))
write_result(findings, "reporting_check", build_dir, numbers=reporting_rows(findings))
show_df(findings.assign(consistent=findings["consistent"].map({True: "yes", False: "no"})).rename(
    columns={"check": "Check", "item": "Item", "quote": "Quote", "arithmetic": "Arithmetic", "finding": "Finding",
             "consistent": "Consistent"}))

# %% [markdown]
# ## STROBE checklist
#
# The 22 items of the STROBE statement for cohort studies, each answered for
# the paper (where it answers it, partly, or not) and for this report (the
# section that answers it), typed once in `data/strobe.csv`.

# %%
#| label: strobe
strobe = read_strobe()
write_result(strobe, "strobe", build_dir, numbers=strobe_rows(strobe))
show_df(strobe.rename(columns={"item": "Item", "topic": "Topic", "recommendation": "Recommendation",
                               "paper_status": "Paper", "paper": "Where the paper answers it",
                               "report": "Where this report answers it"}))

# %% [markdown]
# ## The trial the paper calls for
#
# Events needed by Schoenfeld's formula,
# $d = (z_{1-\alpha/2} + z_{1-\beta})^2 / (p(1-p)\log(\mathrm{HR})^2)$ with
# $p$ the fraction of patients on SBRT+TACE, for the hazard ratios after
# matching that the paper reports and that this run reproduced; patients =
# events / the probability of an event by the analysis (uniform accrual,
# follow-up after the last patient, exponential survival with the SBRT-alone
# arm's hazard set by its Kaplan-Meier rate at `trial_control_months`, and
# HR times it with SBRT+TACE), unless `trial_event_probability` gives it.
# `helpers.stats.sizing` agrees with R's `rpact::getSampleSizeSurvival` to
# 1e-9 (`tests/test_sizing.py`).

# %%
#| label: trial-size
scenarios = sizing_scenarios(build_dir, control_arm, treated_arm, trial_control_months)
sizing = sizing_table(scenarios, trial_alpha, trial_power, trial_allocation, trial_accrual_months,
                      trial_followup_months, trial_event_probability)
write_result(sizing, "trial_size", build_dir, numbers=sizing_rows(sizing))
show_df(sizing.assign(
    Source=sizing["source"].map({"published": "Published", "reproduced": "This run"}),
    HR=sizing["hr"].round(3), control=(100 * sizing["control_survival"]).round(1),
    probability=sizing["event_probability"].round(3))[
    ["Source", "endpoint", "HR", "control", "events_needed", "probability", "patients_needed", "note"]].rename(
    columns={"endpoint": "Endpoint", "control": f"SBRT alone at {trial_control_months} months, %",
             "events_needed": "Events", "probability": "Event probability", "patients_needed": "Patients",
             "note": "Not sized because"}))

# %%
#| label: trial-power
fig = plot_power(sizing, trial_alpha, trial_power, trial_allocation)
show_figure(fig, "trial-power", build_dir)

# %% [markdown]
# ## What could not be estimated
#
# Degenerate data do not stop the analysis: an estimate that cannot be made
# (no events in an arm, a covariate with a single level, nobody matched, a
# Cox model with separation) is reported as not estimable, and the reason is
# collected here, after every other notebook has run, from the results files of notebooks 01-06
# (`helpers.report.notes`).

# %%
#| label: analysis-notes
# A supplementary table of the report (its caption is in index.qmd).
notes = analysis_notes(build_dir)
write_result(notes, "analysis_notes", build_dir)
show_df(notes.rename(columns={"step": "Step", "where": "Where", "note": "Note"}) if len(notes)
        else pd.DataFrame({"Note": ["None: every planned estimate was made."]}))
