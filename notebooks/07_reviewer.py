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
# What a reviewer of the paper would check, computed: the size of the trial
# the paper calls for. Every number is written to `results/numbers.csv`;
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

# %%
#| label: reviewer-setup
from helpers import results
from helpers.data.schema import CONTROL_ARM as control_arm
from helpers.data.schema import TREATED_ARM as treated_arm
from helpers.parameters import write_parameters
from helpers.report.display import show_df
from helpers.report.figures import setup_figures, show_figure
from helpers.report.plots_sizing import plot_power
from helpers.results import write_result
from helpers.results.review import sizing_scenarios
from helpers.results.rows import sizing_rows
from helpers.stats.sizing import sizing_table

setup_figures()
results.start("07_reviewer", build_dir)
write_parameters("07_reviewer", build_dir, trial_alpha=trial_alpha, trial_power=trial_power,
                 trial_allocation=trial_allocation, trial_accrual_months=trial_accrual_months,
                 trial_followup_months=trial_followup_months, trial_event_probability=trial_event_probability,
                 trial_control_months=trial_control_months)

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
