"""The rows of ``results/numbers.csv``, built from the tables the notebooks compute.

One function per results table. Each returns the rows (:func:`helpers.results.numbers.number`)
of the numbers that table holds, keyed as the published ledger keys them
where the paper reports the same quantity:

============================  =====================================================  ==========================
function                      quantity (key columns used)                            ledger quantity
============================  =====================================================  ==========================
``flow_rows``                 n_screened, n_eligible; flow_excluded (level=step)     --
``followup_rows``             followup_median/min/max_months (cohort); ..reverse_km_  followup_*_months
                              median_months (value, CI)
``matching_summary``          caliper_logit; n_treated_with_controls (level=k);      n_matched
                              n_treated_unmatched; n_matched (cohort=after, arm)
``balance_rows``              table1_n (cohort, arm, variable, level); table1_p,     table1_n, table1_p,
                              table1_smd (cohort, variable); table1_smd_max,         table1_smd, n_patients
                              n_smd_above (cohort, level=threshold); n_patients
``km_rows``                   km_survival (cohort, endpoint, arm, months; CI);       km_survival
                              km_n_at_risk
``logrank_rows``              logrank_p, logrank_chi2 (cohort, endpoint)             logrank_p
``cox_rows``                  cox_hr (cohort, endpoint, variable=term,               --
                              level=model; CI, p)
``treatment_hr_rows``         treatment_hr (cohort, endpoint, arm; CI, p, note)         treatment_hr(_ci_*)
``toxicity_rows``             tox_patients (cohort, arm, level=key); tox_p            tox_patients
``progression_rows``          table2_n (cohort, arm, level=key)                      table2_n, n_progression,
                                                                                     n_death, n_infield_*
``input_rows``                input_rows (variable=input)                            --
``matched_analysis_rows``     matched_hr (endpoint, arm, level=analysis; CI, p);     --
                              stratified_logrank_p/_chi2 (cohort=after, endpoint)
``ph_rows``                   ph_test (cohort, endpoint, variable; chi2, p)          --
``rmst_rows``                 rmst (cohort, endpoint, arm or 'difference',           --
                              months=tau; CI, p)
``evalue_rows``               evalue (cohort, endpoint, level=estimate/ci)           --
``competing_count_rows``      n_local_failure, n_death_competing (cohort, arm,       --
                              endpoint=LC)
``competing_rate_rows``       cif_local_failure, km_local_failure (cohort, arm,      --
                              endpoint=LC, months; CI)
``competing_test_rows``       gray_test (cohort, endpoint=LC; chi2, p);              --
                              fine_gray_shr (cohort, endpoint=LC, arm; CI, p)
``weighted_km_rows``          weighted_km_survival (cohort, endpoint, arm, months,   --
                              level=analysis; CI); weighted_km_n_at_risk
``iptw_weight_rows``          iptw_ess, iptw_weight_max, iptw_weight_sum (arm,       --
                              level=estimand)
``iptw_balance_rows``         iptw_smd (variable, level=estimand); iptw_smd_max      --
``iptw_hr_rows``              iptw_hr (cohort=before, endpoint, arm, level=          --
                              estimand; CI, p)
``grid_rows``                 grid_n_matched (arm, level=cell); grid_n_unmatched,    --
                              grid_smd_max (level=cell); grid_hr (endpoint, arm,
                              level=cell; CI, p)
``treatment_model_rows``      treatment_model_distance (cohort, endpoint,            treatment_hr (compared)
                              level=model); treatment_model_likely (level=model)
``synthetic_effect_rows``     synthetic_plausible_hr; synthetic_generator_hr,        --
                              synthetic_hr_one_step_below,
                              synthetic_group_n (cohort) (variable=effect);
                              synthetic_univariate_hr (cohort, endpoint, variable)
============================  =====================================================  ==========================

The matching summary is built here too (:func:`matching_summary`): its wide
file (``matching_summary.csv``, one labelled row per quantity, kept for
readers) and its rows come from the same numbers.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from helpers.results.numbers import number
from helpers.stats.balance import arm_slug
from helpers.stats.survival import logrank_reason, not_estimable_reason

Rows = list[dict[str, object]]

#: The 'followup.csv' measures and their quantities.
FOLLOWUP_MEASURES = {"median of observed times": "followup_median_months",
                     "minimum observed time": "followup_min_months",
                     "maximum observed time": "followup_max_months",
                     "reverse Kaplan-Meier median": "followup_reverse_km_median_months"}


def flow_rows(flow: pd.DataFrame) -> Rows:
    """Screened and eligible patients and the exclusions of each eligibility step."""
    rows = [number("n_screened", flow["n_remaining"].iloc[0]), number("n_eligible", flow["n_remaining"].iloc[-1])]
    rows += [number("flow_excluded", r.n_excluded, level=int(r.step)) for r in flow.iloc[1:].itertuples()]
    return rows


def followup_table(observed: dict[str, float], reverse_km: tuple[float, float, float]) -> pd.DataFrame:
    """The wide ``followup.csv``: the median, minimum and maximum observed time and the reverse-KM median (CI)."""
    med, lo, hi = reverse_km
    measures = list(FOLLOWUP_MEASURES)
    return pd.DataFrame({"measure": measures,
                         "months": [observed["median"], observed["min"], observed["max"], med],
                         "ci_lower": [None, None, None, lo], "ci_upper": [None, None, None, hi]})


def followup_rows(followup: pd.DataFrame, cohort: str = "before") -> Rows:
    """Follow-up of the analysis cohort (``cohort``: before matching, as the paper reports it)."""
    return [number(FOLLOWUP_MEASURES[r.measure], r.months, ci_lower=r.ci_lower, ci_upper=r.ci_upper, cohort=cohort)
            for r in followup.itertuples()]


def matching_summary(matched_cohort: pd.DataFrame, caliper: float, ratio: int, control_arm: str,
                     treated_arm: str) -> tuple[pd.DataFrame, Rows]:
    """The matching summary as a wide table (for readers) and as rows of the numbers table.

    ``matched_cohort``: one row per analysed patient with ``arm``, ``matched``
    (1/0) and ``match_id`` (the treated patient's set). Counted: treated
    patients keeping k = ``ratio`` ... 1 controls, treated patients without a
    control (dropped), and patients per arm before and after matching.
    """
    arms = (control_arm, treated_arm)
    sizes = (matched_cohort.groupby("arm")["matched"].agg(["size", "sum"])
             .reindex(list(arms), fill_value=0).rename(columns={"size": "before", "sum": "after"}))
    set_sizes = matched_cohort[matched_cohort["matched"] == 1].groupby("match_id").size() - 1
    n_treated = int((matched_cohort["arm"] == treated_arm).sum())
    wide: list[tuple[str, float]] = [("caliper (logit units)", caliper)]
    rows = [number("caliper_logit", caliper)]
    for k in range(ratio, 0, -1):
        n = int((set_sizes == k).sum())
        wide.append((f"treated with {k} control{'s' if k > 1 else ''}", n))
        rows.append(number("n_treated_with_controls", n, level=k))
    dropped = n_treated - len(set_sizes)
    wide.append(("treated without control (dropped)", dropped))
    rows.append(number("n_treated_unmatched", dropped))
    for arm in arms:
        for when in ("before", "after"):
            wide.append((f"n {arm} {when}", int(sizes.loc[arm, when])))
        rows.append(number("n_matched", int(sizes.loc[arm, "after"]), cohort="after", arm=arm))
    return pd.DataFrame(wide, columns=["quantity", "value"]), rows


def balance_rows(balance: pd.DataFrame, arms: Sequence[str], cohorts: Sequence[str] = ("before", "after"),
                 threshold: float = 0.1) -> Rows:
    """Table 1: counts per level and arm, p and SMD per variable, patients per arm, and the largest SMD."""
    rows: Rows = []
    for cohort in cohorts:
        b = balance[balance["cohort"] == cohort]
        for arm in arms:
            n = b[f"n_arm_{arm_slug(arm)}"].iloc[0] if len(b) else 0
            rows.append(number("n_patients", n, cohort=cohort, arm=arm))
        if not len(b):
            continue
        for r in b.itertuples():
            for arm in arms:
                rows.append(number("table1_n", getattr(r, f"n_{arm_slug(arm)}"), cohort=cohort, arm=arm,
                                   variable=r.variable, level=r.level))
        per_var = b.groupby("variable", sort=False).first()
        for var, r in per_var.iterrows():
            rows.append(number("table1_p", r["p_value"], cohort=cohort, variable=var, note=r.get("test", "")))
            rows.append(number("table1_smd", r["smd"], cohort=cohort, variable=var))
        smd = per_var["smd"]
        rows.append(number("table1_smd_max", smd.max() if smd.notna().any() else np.nan, cohort=cohort,
                           note="" if smd.notna().any() else "no matched patients"))
        rows.append(number("n_smd_above", int(smd.gt(threshold).sum()), cohort=cohort, level=threshold))
    return rows


def km_rows(km_rates: pd.DataFrame) -> Rows:
    return [r for k in km_rates.itertuples() for r in (
        number("km_survival", k.survival, ci_lower=k.ci_lower, ci_upper=k.ci_upper, cohort=k.cohort,
               endpoint=k.endpoint, arm=k.arm, months=k.months),
        number("km_n_at_risk", k.n_at_risk, cohort=k.cohort, endpoint=k.endpoint, arm=k.arm, months=k.months))]


def logrank_rows(logrank: pd.DataFrame) -> Rows:
    """Log-rank p and chi-squared; the note says why a test could not be made (``helpers.report.fmt.logrank_reason``)."""
    rows: Rows = []
    for r in logrank.itertuples():
        note = logrank_reason(r.n, r.events) if pd.isna(r.p_value) else ""
        rows.append(number("logrank_p", r.p_value, cohort=r.cohort, endpoint=r.endpoint, note=note))
        rows.append(number("logrank_chi2", r.chi2, cohort=r.cohort, endpoint=r.endpoint, note=note))
        rows.append(number("n_events", r.events, cohort=r.cohort, endpoint=r.endpoint))
    return rows


def cox_rows(cox: pd.DataFrame) -> Rows:
    """Every Cox term: hazard ratio with CI and p, keyed by model (level) and term (variable)."""
    return [number("cox_hr", r.hr, ci_lower=r.ci_lower, ci_upper=r.ci_upper, p_value=r.p_value, note=r.note,
                   cohort=r.cohort, endpoint=r.endpoint, variable=r.term, level=r.model)
            for r in cox.itertuples()]


def treatment_hr_rows(treatment_hr: pd.DataFrame, treated_arm: str) -> Rows:
    """The treatment effect: the hazard ratio of ``treated_arm`` (vs the control arm) per cohort and endpoint,
    with CI, p, and why it is not estimable."""
    return [number("treatment_hr", r.hr, ci_lower=r.ci_lower, ci_upper=r.ci_upper, p_value=r.p_value,
                   note=not_estimable_reason(r.note) if pd.isna(r.hr) else "", cohort=r.cohort, endpoint=r.endpoint,
                   arm=treated_arm)
            for r in treatment_hr.itertuples()]


def toxicity_rows(toxicity: pd.DataFrame, arms: Sequence[str]) -> Rows:
    rows: Rows = []
    for r in toxicity.itertuples():
        for arm in arms:
            rows.append(number("tox_patients", getattr(r, f"n_{arm_slug(arm)}"), cohort=r.cohort, arm=arm,
                               level=r.key))
        rows.append(number("tox_p", r.p_value, cohort=r.cohort, level=r.key, note=r.test if pd.notna(r.test) else ""))
    return rows


def progression_rows(patterns: pd.DataFrame) -> Rows:
    return [number("table2_n", r.n, cohort=r.cohort, arm=r.group, level=r.key) for r in patterns.itertuples()]


def input_rows(inputs: pd.DataFrame) -> Rows:
    return [number("input_rows", r.n_rows, variable=r.input) for r in inputs.itertuples()]


def ledger_rows(n_compared: int, n_exact: int) -> Rows:
    return [number("ledger_compared", n_compared), number("ledger_exact", n_exact)]


# Robustness of the treatment effect (notebook 06).

def matched_analysis_rows(matched_analyses: pd.DataFrame, treated_arm: str) -> Rows:
    """The matched cohort's treatment HR per analysis (level) and endpoint, and the stratified log-rank p."""
    rows: Rows = []
    for r in matched_analyses.itertuples():
        if r.analysis == "stratified log-rank":
            rows.append(number("stratified_logrank_p", r.p_value, cohort="after", endpoint=r.endpoint, note=r.note))
            rows.append(number("stratified_logrank_chi2", r.chi2, cohort="after", endpoint=r.endpoint, note=r.note))
        else:
            rows.append(number("matched_hr", r.hr, ci_lower=r.ci_lower, ci_upper=r.ci_upper, p_value=r.p_value,
                               note=not_estimable_reason(r.note) if pd.isna(r.hr) else "", cohort="after",
                               endpoint=r.endpoint, arm=treated_arm, level=r.analysis))
    return rows


def ph_rows(ph: pd.DataFrame) -> Rows:
    """The proportional-hazards test (cox.zph) of the treatment term: chi-squared and p per cohort and endpoint."""
    return [number("ph_test", r.chisq, p_value=r.p_value, note=r.note, cohort=r.cohort, endpoint=r.endpoint,
                   variable=r.variable) for r in ph.itertuples()]


def rmst_rows(rmst: pd.DataFrame) -> Rows:
    """RMST (months, CI) per cohort, endpoint and arm at tau (months), and the difference (arm='difference')."""
    return [number("rmst", r.rmst, ci_lower=r.ci_lower, ci_upper=r.ci_upper, p_value=r.p_value, note=r.note,
                   cohort=r.cohort, endpoint=r.endpoint, arm=r.arm, months=r.tau) for r in rmst.itertuples()]


def evalue_rows(evalues: pd.DataFrame) -> Rows:
    """E-values of the treatment HR (level 'estimate') and of its CI limit closer to 1 (level 'ci')."""
    return [row for r in evalues.itertuples() for row in (
        number("evalue", r.evalue, note=r.note, cohort=r.cohort, endpoint=r.endpoint, level="estimate"),
        number("evalue", r.evalue_ci, note=r.note, cohort=r.cohort, endpoint=r.endpoint, level="ci"))]


def weighted_km_rows(km: pd.DataFrame) -> Rows:
    """Weighted Kaplan-Meier rates (level: the weighting, e.g. 'matching weights', 'ATT', 'ATE') and the
    weighted numbers at risk."""
    return [row for k in km.itertuples() for row in (
        number("weighted_km_survival", k.survival, ci_lower=k.ci_lower, ci_upper=k.ci_upper, note=k.note,
               cohort=k.cohort, endpoint=k.endpoint, arm=k.arm, months=k.months, level=k.analysis),
        number("weighted_km_n_at_risk", k.n_at_risk, note=k.note, cohort=k.cohort, endpoint=k.endpoint, arm=k.arm,
               months=k.months, level=k.analysis))]


def iptw_weight_rows(weights: pd.DataFrame) -> Rows:
    """Per estimand (level) and arm: the effective sample size, the largest weight and the weights' sum."""
    return [row for r in weights.itertuples() for row in (
        number("iptw_ess", r.ess, note=r.note, arm=r.arm, level=r.estimand),
        number("iptw_weight_max", r.max, note=r.note, arm=r.arm, level=r.estimand),
        number("iptw_weight_sum", r.sum, note=r.note, arm=r.arm, level=r.estimand))]


def iptw_balance_rows(balance: pd.DataFrame) -> Rows:
    """The absolute SMD per covariate (variable) unweighted and per estimand (level), and the largest."""
    rows = [number("iptw_smd", r.smd, note=r.note, variable=r.variable, level=r.estimand) for r in balance.itertuples()]
    for est, b in balance.groupby("estimand", sort=False):
        ok = b["smd"].notna().any()
        rows.append(number("iptw_smd_max", b["smd"].max() if ok else np.nan, note="" if ok else b["note"].iloc[0],
                           level=est))
    return rows


def iptw_hr_rows(cox: pd.DataFrame, treated_arm: str) -> Rows:
    """The weighted Cox treatment HR (robust variance) per estimand (level) and endpoint."""
    return [number("iptw_hr", r.hr, ci_lower=r.ci_lower, ci_upper=r.ci_upper, p_value=r.p_value,
                   note=not_estimable_reason(r.note) if pd.isna(r.hr) else "", cohort="before", endpoint=r.endpoint,
                   arm=treated_arm, level=r.estimand) for r in cox.itertuples()]


def grid_rows(grid: pd.DataFrame, arms: Sequence[str]) -> Rows:
    """The matching-settings grid per cell (level, e.g. '0.02 SD; 2:1'): matched patients per arm, treated left
    unmatched, the largest SMD, and the treatment HR per endpoint."""
    rows: Rows = []
    for cell, g in grid.groupby("cell", sort=False):
        first = g.iloc[0]
        for arm, col in zip(arms, ("n_control", "n_treated")):
            rows.append(number("grid_n_matched", first[col], arm=arm, level=cell))
        rows.append(number("grid_n_unmatched", first["n_unmatched_treated"], arm=arms[1], level=cell))
        rows.append(number("grid_smd_max", first["smd_max"], level=cell,
                           note="nobody matched" if pd.isna(first["smd_max"]) else ""))
        rows += [number("grid_hr", r.hr, ci_lower=r.ci_lower, ci_upper=r.ci_upper, p_value=r.p_value,
                        note=not_estimable_reason(r.note) if pd.isna(r.hr) else "", cohort="after",
                        endpoint=r.endpoint, arm=arms[1], level=cell) for r in g.itertuples()]
    return rows


def sizing_rows(sizing: pd.DataFrame) -> Rows:
    """The trial sizing per source (variable: published / reproduced) and endpoint: the hazard ratio and control
    survival it used, the events and patients needed (rounded up) and the event probability."""
    rows: Rows = []
    for r in sizing.itertuples():
        keys = dict(variable=r.source, endpoint=r.endpoint)
        rows += [number("trial_hr", r.hr, note=r.note, **keys),
                 number("trial_control_survival", r.control_survival, months=r.control_months, **keys),
                 number("trial_events", r.events_needed, note=r.note, **keys),
                 number("trial_event_probability", r.event_probability, note=r.note, **keys),
                 number("trial_patients", r.patients_needed, note=r.note, **keys)]
    return rows


def verdict_rows(counts: dict[str, int], note: str = "") -> Rows:
    """The ledger's verdicts counted (``helpers.results.ledger.verdict_counts``); ``note`` says why the ledger was
    not judged (user data without an expectations file), with every count NaN."""
    names = {"judged": "ledger_judged", "within": "ledger_within", "outside": "ledger_outside",
             "no bound": "ledger_no_bound", "not reproduced": "ledger_not_reproduced"}
    return [number(q, np.nan if note else counts.get(v, 0), note=note) for v, q in names.items()]


def reporting_rows(findings: pd.DataFrame) -> Rows:
    """The reporting check counted per check (level; ``all`` for every check): findings and how many are consistent
    with the paper's text."""
    rows: Rows = []
    for check, block in findings.groupby("check", sort=False):
        rows.append(number("reporting_checked", len(block), level=check))
        rows.append(number("reporting_consistent", int(block["consistent"].sum()), level=check))
    rows.append(number("reporting_checked", len(findings), level="all"))
    rows.append(number("reporting_consistent", int(findings["consistent"].sum()), level="all"))
    return rows


def strobe_rows(strobe: pd.DataFrame) -> Rows:
    """The STROBE items the paper answers (level: yes, partly, no) and the number of items."""
    rows = [number("strobe_items", len(strobe))]
    rows += [number("strobe_paper", int((strobe["paper_status"] == s).sum()), level=s) for s in ("yes", "partly", "no")]
    return rows


# Local control with death as a competing event (notebook 06, helpers.stats.competing_risks).

def competing_count_rows(counts: pd.DataFrame) -> Rows:
    """Endpoint LC: local failures (n_local_failure) and deaths without local failure (n_death_competing) per
    cohort and arm."""
    return [row for r in counts.itertuples() for row in (
        number("n_local_failure", r.n_local_failure, cohort=r.cohort, endpoint="LC", arm=r.arm),
        number("n_death_competing", r.n_death, cohort=r.cohort, endpoint="LC", arm=r.arm))]


def competing_rate_rows(rates: pd.DataFrame) -> Rows:
    """Endpoint LC: the cumulative incidence of local failure (cif_local_failure) and one minus the KM that
    censors deaths (km_local_failure), proportions with CI, per cohort, arm and months."""
    return [row for r in rates.itertuples() for row in (
        number("cif_local_failure", r.cif, ci_lower=r.cif_lower, ci_upper=r.cif_upper, note=r.note,
               cohort=r.cohort, endpoint="LC", arm=r.arm, months=r.months),
        number("km_local_failure", r.km_failure, ci_lower=r.km_lower, ci_upper=r.km_upper, note=r.note,
               cohort=r.cohort, endpoint="LC", arm=r.arm, months=r.months))]


def competing_test_rows(tests: pd.DataFrame, treated_arm: str) -> Rows:
    """Endpoint LC: Gray's test (gray_test: chi-squared, p) and the Fine-Gray subdistribution HR of the treated
    arm (fine_gray_shr: CI, p) per cohort; the note says why one is not estimable."""
    return [row for r in tests.itertuples() for row in (
        number("gray_test", r.gray_chi2, p_value=r.gray_p, note=r.gray_note, cohort=r.cohort, endpoint="LC"),
        number("fine_gray_shr", r.shr, ci_lower=r.ci_lower, ci_upper=r.ci_upper, p_value=r.shr_p, note=r.shr_note,
               cohort=r.cohort, endpoint="LC", arm=treated_arm))]


def treatment_model_rows(comparison: pd.DataFrame) -> Rows:
    """The published matched HRs vs each Cox model (``helpers.results.ledger.treatment_model_comparison``):
    the largest log distance per endpoint and model (level), and the likely model (note) per model."""
    rows = [number("treatment_model_distance", r.log_distance, p_value=r.p_value,
                   note="same significance" if r.same_significance else "different significance",
                   cohort=r.cohort, endpoint=r.endpoint, level=r.model) for r in comparison.itertuples()]
    for model, g in comparison.groupby("model", sort=False):
        rows.append(number("treatment_model_likely", int(g["likely"].any()), note=model, cohort="after", level=model))
    return rows


def synthetic_effect_rows(overview: pd.DataFrame, plausible_hr: float) -> Rows:
    """The synthetic cohort's outcome model (``helpers.synthetic.effects.effects_overview``): the generator HR and
    the HR one grid step below (note: what it fails) per effect (variable), the resulting univariate HR per
    endpoint and cohort (with CI and p; note 'forced' when a small group forces it outside
    1/``plausible_hr``-``plausible_hr``, itself a row)."""
    rows = [number("synthetic_plausible_hr", plausible_hr)]
    for effect, g in overview.groupby("effect", sort=False):
        first = g.iloc[0]
        rows.append(number("synthetic_generator_hr", first.generator_hr, note=f"{first.words} on {first.hazard}",
                           variable=effect))
        rows.append(number("synthetic_hr_one_step_below", first.hr_one_step_below, note=first.fails_one_step_below,
                           variable=effect))
        rows.append(number("synthetic_group_n", first.n_level_before, cohort="before", variable=effect))
        rows.append(number("synthetic_group_n", first.n_level_after, cohort="after", variable=effect))
    for r in overview.itertuples():
        for cohort in ("before", "after"):
            rows.append(number("synthetic_univariate_hr", getattr(r, f"hr_{cohort}"),
                               ci_lower=getattr(r, f"ci_lower_{cohort}"), ci_upper=getattr(r, f"ci_upper_{cohort}"),
                               p_value=getattr(r, f"p_{cohort}"), note=f"forced: {r.words}" if r.forced else r.words,
                               cohort=cohort, endpoint=r.endpoint, variable=r.effect))
    return rows
