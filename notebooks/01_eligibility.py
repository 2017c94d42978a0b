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
# # 1. Eligibility, derived variables and endpoints
#
# The five inclusion criteria of the Methods are applied one after another to
# every screened patient; each criterion is one boolean column, and the flow
# table is computed from those columns. Then the Table 1 categories and the
# survival endpoints (in months from SBRT start) are derived for the eligible
# patients and written to `results/analysis_cohort.csv` for the next notebooks.

# %% tags=["parameters"]
cohort_csv = "data/cohort.csv"  # type: str  cohort file, one row per screened patient (make sets it from DATA)
adverse_events_csv = "data/adverse_events.csv"  # type: str  adverse-event file, one row per event (make sets it from AE)
build_dir = "build"  # type: str  output folder: results, figures, executed notebooks (make sets it from OUT)
data_cutoff = "2025-09-30"  # type: str  date (YYYY-MM-DD) at which follow-up is censored; later events are censored in every count
study_start = "2011-12-01"  # type: str  first SBRT start date eligible for the study (YYYY-MM-DD)
study_end = "2020-12-31"  # type: str  last SBRT start date eligible for the study (YYYY-MM-DD)
max_diameter_cm = 7.0  # type: float  largest eligible tumour diameter (cm), single tumour
min_months_since_treatment = 3.0  # type: float  minimum time (months) from the latest earlier treatment to SBRT
min_residual_liver_cc = 700.0  # type: float  minimum residual liver volume (cc)
alpha_beta = 10.0  # type: float  alpha/beta ratio (Gy) of the biologically effective dose

# %%
#| label: eligibility-setup
from helpers import results
from helpers.data.derive import add_endpoints, add_table1_categories, events_after_cutoff
from helpers.data.eligibility import add_eligibility, criteria, eligible_patients, flow_table
from helpers.data.load import load_study
from helpers.parameters import write_parameters
from helpers.paths import input_file, validated_inputs
from helpers.report.display import show_df
from helpers.report.figures import setup_figures, show_figure
from helpers.report.plots_flow import plot_flow
from helpers.results import write_result
from helpers.results.rows import flow_rows, followup_rows, followup_table
from helpers.stats.survival import median_followup

setup_figures()
results.start("01_eligibility", build_dir)

write_parameters("01_eligibility", build_dir, data_cutoff=data_cutoff, study_start=study_start, study_end=study_end,
                 max_diameter_cm=max_diameter_cm, min_months_since_treatment=min_months_since_treatment,
                 min_residual_liver_cc=min_residual_liver_cc, alpha_beta=alpha_beta)
study = load_study(input_file("cohort", cohort_csv, build_dir),  # the run's snapshot, as in notebook 00
                   input_file("adverse_events", adverse_events_csv, build_dir),
                   validated=validated_inputs(build_dir))  # validated once by the pipeline; alone: validated here
screened = study.cohort
crits = criteria(study_start, study_end, max_diameter_cm, min_months_since_treatment, min_residual_liver_cc)
screened = add_eligibility(screened, crits)
print(f"{len(screened)} patients screened, {int(screened['eligible'].sum())} eligible")

# %% [markdown]
# ## Flow of patients
#
# Each row excludes, among the patients still in, those who fail that criterion.

# %%
#| label: tbl-flow
#| tbl-cap: "Patients excluded at each inclusion criterion, applied in the order of the Methods."
flow = flow_table(screened, crits)
write_result(flow, "flow", build_dir, numbers=flow_rows(flow))
arm_counts = screened.loc[screened["eligible"], "arm"].value_counts()
show_df(flow.rename(columns={"step": "Step", "criterion": "Criterion", "n_excluded": "Excluded", "n_remaining": "Remaining"}))

# %%
#| label: flow-diagram
fig = plot_flow(flow, arm_counts)
show_figure(fig, "flow-diagram", build_dir)

# %% [markdown]
# ## Derived variables
#
# BED = D (1 + d / (α/β)) with the total dose D, the dose per fraction d and
# α/β = `alpha_beta` Gy; the Table 1 categories use the paper's cut-points and
# are computed from the raw values. OS, PFS and LC are in months
# (days / 30.4375) from the first day of SBRT, censored at the last follow-up
# or at the data cut-off. The cut-off applies to the event dates themselves
# (`helpers.data.derive.censor_at_cutoff`): a death or progression after it is
# censored in every count, table and comparison of the report, and
# `results/cutoff_events.csv` says how many there were.

# %%
#| label: derive-endpoints
eligible = eligible_patients(screened)
late = events_after_cutoff(eligible, cutoff=data_cutoff)
write_result(late, "cutoff_events", build_dir)
analysis = add_endpoints(add_table1_categories(eligible, alpha_beta=alpha_beta), cutoff=data_cutoff)
keep = ["patient_id", "arm", "bed_gy", "child_pugh_class", "platelets_group", "afp_group", "hepatitis_type",
        "age_group", "bed_group", "sex_group", "pvtt_group", "diameter_group", "ecog_group",
        "prior_treatment_group", "os_months", "os_event", "pfs_months", "pfs_event", "lc_months", "lc_event",
        "lc_status", "followup_months", "progression_sites", "subsequent_therapy"]
analysis_out = analysis[keep].copy()
analysis_out["died"] = analysis["os_event"]
write_result(analysis_out, "analysis_cohort", build_dir)
analysis_out.groupby("arm")[["os_event", "pfs_event", "lc_event"]].sum().rename(
    columns={"os_event": "deaths", "pfs_event": "progression or death", "lc_event": "local progression"})

# %% [markdown]
# ## Follow-up
#
# The simple median is over every patient's observed time (to death or to
# censoring); the reverse Kaplan-Meier median treats censoring as the event
# and so estimates the follow-up the patients would have had without dying.

# %%
#| label: tbl-followup
#| tbl-cap: "Follow-up of the eligible patients (months)."
fu = median_followup(analysis["os_months"], analysis["os_event"])
followup = followup_table({"median": fu["median_observed"], "min": fu["min"], "max": fu["max"]},
                          (fu["reverse_km_median"], fu["ci_lower"], fu["ci_upper"]))
write_result(followup, "followup", build_dir, numbers=followup_rows(followup))
show_df(followup.round(1).rename(columns={"measure": "Measure", "months": "Months", "ci_lower": "95% CI lower", "ci_upper": "95% CI upper"}))
