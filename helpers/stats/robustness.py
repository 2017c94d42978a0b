"""Robustness of the treatment effect (notebook 06): the tables of the matched-data analyses, the
proportional-hazards test, the restricted mean survival time and the E-values.

Each function assembles, per cohort and endpoint, statistics computed (and tested against R) elsewhere:

=======================  ==============================================================  ======================
table                    R                                                               computed by
=======================  ==============================================================  ======================
``matched_analyses``     ``coxph(Surv(t, e) ~ arm)`` (as the paper: matched patients     :func:`cox_fit`,
                         as independent); ``coxph(Surv(t, e) ~ arm, weights = weights,   :func:`logrank_test`
                         cluster = subclass)``; ``coxph(Surv(t, e) ~ arm +
                         strata(subclass))``; ``survdiff(Surv(t, e) ~ arm +
                         strata(subclass))``
``ph_tests``             ``cox.zph(coxph(Surv(t, e) ~ arm))``                            :func:`cox_zph`
``rmst_table``           ``print(survfit(Surv(t, e) ~ arm), rmean = tau)``               :func:`rmst_difference`
``evalue_table``         ``EValue::evalues.HR(hr, lo, hi, rare = ...)``                  :func:`evalue_hr`
=======================  ==============================================================  ======================

Nothing raises on degenerate data (nobody matched, no events in an arm): the row's numbers are NaN and
``note`` says why.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from helpers.stats.evalue import evalue_hr
from helpers.stats.survival import cox_fit, cox_zph, logrank_reason, logrank_test, rmst_difference

#: The analyses of the matched cohort, in the order of the report's table.
MATCHED_ANALYSES = {
    "as independent": "Cox, matched patients analysed as independent (the paper's)",
    "weighted cluster-robust": "Cox with matching weights and a cluster-robust variance on the matched sets",
    "stratified on matched sets": "Cox stratified on the matched sets",
}
#: Share of patients with the event above which an outcome is common (E-value transformation; VanderWeele 2017).
RARE_OUTCOME_SHARE = 0.15

Endpoints = Mapping[str, tuple[str, str]]


def _arm_row(res, arm_term: str) -> dict[str, object]:
    t = res.table.set_index("term")
    if arm_term not in t.index:
        return dict(hr=np.nan, ci_lower=np.nan, ci_upper=np.nan, p_value=np.nan, note=res.reason or "no arm term")
    r = t.loc[arm_term]
    return dict(hr=r["hr"], ci_lower=r["ci_lower"], ci_upper=r["ci_upper"], p_value=r["p_value"],
                note=r["note"] or ("" if res.estimable else res.reason))


def matched_analyses(matched: pd.DataFrame, endpoints: Endpoints, arms: Sequence[str],
                     weights: str = "weights", matched_set: str = "match_id") -> pd.DataFrame:
    """The treatment hazard ratio of the matched cohort three ways, and the log-rank test stratified on the sets.

    Parameters
    ----------
    matched : pandas.DataFrame
        The matched patients: endpoint columns, ``arm``, the matching ``weights`` and the ``matched_set``.
    endpoints : mapping
        ``endpoint -> (time column, event column)``.
    arms : sequence of str
        Control arm, treated arm.

    Returns
    -------
    pandas.DataFrame
        Per endpoint and analysis (:data:`MATCHED_ANALYSES`, then ``"stratified log-rank"``): ``hr``,
        ``ci_lower``, ``ci_upper``, ``p_value`` (for the log-rank row: ``chi2`` and ``p_value``), ``n``,
        ``n_events``, ``note``.
    """
    levels = {"arm": list(arms)}
    term = f"arm[{arms[1]}]"
    rows = []
    for ep, (tcol, ecol) in endpoints.items():
        fits = {"as independent": cox_fit(matched, tcol, ecol, ["arm"], levels),
                "weighted cluster-robust": cox_fit(matched, tcol, ecol, ["arm"], levels, weights=weights,
                                                    cluster=matched_set),
                "stratified on matched sets": cox_fit(matched, tcol, ecol, ["arm"], levels, strata=matched_set)}
        for analysis, res in fits.items():
            rows.append(dict(endpoint=ep, analysis=analysis, chi2=np.nan, n=res.n, n_events=res.n_events,
                             **_arm_row(res, term)))
        lr = logrank_test(matched[tcol], matched[ecol], matched["arm"], group_order=list(arms),
                          strata=matched[matched_set])
        n, events = len(matched), int(matched[ecol].sum()) if len(matched) else 0
        rows.append(dict(endpoint=ep, analysis="stratified log-rank", chi2=lr.chi2, n=n, n_events=events,
                         hr=np.nan, ci_lower=np.nan, ci_upper=np.nan, p_value=lr.p_value,
                         note=(lr.note or logrank_reason(n, events)) if np.isnan(lr.p_value) else ""))
    return pd.DataFrame(rows, columns=["endpoint", "analysis", "hr", "ci_lower", "ci_upper", "p_value", "chi2", "n",
                                       "n_events", "note"])


def ph_tests(cohorts: Mapping[str, pd.DataFrame], endpoints: Endpoints, arms: Sequence[str]
             ) -> tuple[pd.DataFrame, dict[tuple[str, str], pd.DataFrame]]:
    """``cox.zph`` of the treatment model per cohort and endpoint: the test table and the residuals of each."""
    tables, residuals = [], {}
    for cohort, df in cohorts.items():
        for ep, (tcol, ecol) in endpoints.items():
            z = cox_zph(df, tcol, ecol, ["arm"], {"arm": list(arms)})
            tables.append(z.table[z.table["variable"] == "arm"].assign(cohort=cohort, endpoint=ep))
            residuals[(cohort, ep)] = z.residuals
    table = pd.concat(tables, ignore_index=True)
    return table[["cohort", "endpoint", "variable", "chisq", "df", "p_value", "note"]], residuals


def rmst_table(cohorts: Mapping[str, pd.DataFrame], endpoints: Endpoints, arms: Sequence[str],
               tau: float) -> pd.DataFrame:
    """RMST up to ``tau`` months per cohort, endpoint and arm, and the difference (treated minus control)."""
    out = [rmst_difference(df[tcol], df[ecol], df["arm"], tau, arms).assign(cohort=cohort, endpoint=ep)
           for cohort, df in cohorts.items() for ep, (tcol, ecol) in endpoints.items()]
    table = pd.concat(out, ignore_index=True)
    return table[["cohort", "endpoint", "arm", "tau", "rmst", "se", "ci_lower", "ci_upper", "p_value", "n", "note"]]


def evalue_table(treatment_hr: pd.DataFrame, cohorts: Mapping[str, pd.DataFrame], endpoints: Endpoints
                 ) -> pd.DataFrame:
    """E-values of the treatment hazard ratio and of its CI per cohort and endpoint.

    The outcome is taken as rare when under :data:`RARE_OUTCOME_SHARE` of the cohort had the event (the
    hazard ratio then stands for the risk ratio); otherwise the common-outcome transformation applies.
    """
    rows = []
    for r in treatment_hr.itertuples():
        if r.cohort not in cohorts or r.endpoint not in endpoints:
            continue
        df = cohorts[r.cohort]
        share = float(df[endpoints[r.endpoint][1]].mean()) if len(df) else np.nan
        rare = bool(share < RARE_OUTCOME_SHARE)
        e = evalue_hr(r.hr, r.ci_lower, r.ci_upper, rare=rare)
        rows.append(dict(cohort=r.cohort, endpoint=r.endpoint, hr=r.hr, ci_lower=r.ci_lower, ci_upper=r.ci_upper,
                         event_share=share, rare=rare, rr=e.rr, evalue=e.evalue, evalue_ci=e.evalue_ci,
                         note=e.note))
    return pd.DataFrame(rows, columns=["cohort", "endpoint", "hr", "ci_lower", "ci_upper", "event_share", "rare",
                                       "rr", "evalue", "evalue_ci", "note"])
