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
``weighted_km_table``    ``summary(survfit(Surv(t, e) ~ arm, weights = w), times = )``   :func:`km_rates_reported`
``iptw_cohort``          the ATT and stabilized ATE weights from the propensity score    :func:`iptw_weights`
``iptw_weights_table``   weights' quantiles per arm, Kish's effective sample size        :func:`weight_summary`
``iptw_balance``         ``MatchIt:::bal1var(..., standardize = TRUE)`` per level         :class:`LevelBalance`
``iptw_cox_table``       ``coxph(Surv(t, e) ~ arm, weights = w, robust = TRUE)``         :func:`cox_fit`
``matching_grid``        ``matchit(..., ratio = k, caliper = c)``, ``summary(m)``, then   :func:`match_rows_up_to_ratio`
                         ``coxph(Surv(t, e) ~ arm, data = match.data(m))``
=======================  ==============================================================  ======================

Nothing raises on degenerate data (nobody matched, no events in an arm): the row's numbers are NaN and
``note`` says why.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from helpers.stats.evalue import evalue_hr
from helpers.stats.matching import fit_propensity, match_rows_up_to_ratio, matching_weights
from helpers.stats.survival import (
    CoxData,
    cox_fit,
    cox_zph,
    km_rates_reported,
    logrank_reason,
    logrank_test,
    rmst_difference,
)
from helpers.stats.weighting import ESTIMANDS, LevelBalance, iptw_weights, weight_summary

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
    data = CoxData(matched)  # prepared once for the six models
    for ep, (tcol, ecol) in endpoints.items():
        fits = {"as independent": cox_fit(data, tcol, ecol, ["arm"], levels),
                "weighted cluster-robust": cox_fit(data, tcol, ecol, ["arm"], levels, weights=weights,
                                                    cluster=matched_set),
                "stratified on matched sets": cox_fit(data, tcol, ecol, ["arm"], levels, strata=matched_set)}
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
        data = CoxData(df)  # prepared once for the cohort's endpoints
        for ep, (tcol, ecol) in endpoints.items():
            z = cox_zph(data, tcol, ecol, ["arm"], {"arm": list(arms)})
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


# Weighted Kaplan-Meier, weighting instead of matching, and the matching-settings grid.

KM_RATE_COLUMNS = ["endpoint", "arm", "months", "n_at_risk", "survival", "ci_lower", "ci_upper", "note"]


def weighted_km_table(df: pd.DataFrame, endpoints: Endpoints, arms: Sequence[str], months: Sequence[float],
                      weights: str = "weights", conf_type: str = "log-log", note: str = "") -> pd.DataFrame:
    """Weighted Kaplan-Meier rates per endpoint and arm at ``months`` (R ``summary(survfit(Surv(t, e) ~ arm,
    weights = w, conf.type = ...), times = months)``).

    The standard error is R's default for the whole fit: the infinitesimal jackknife when any weight is not an
    integer (each patient its own cluster), else Greenwood's. A rate beyond an arm's last follow-up, an empty
    arm, or weights that are not estimable (``note``, e.g. from :func:`iptw_weights`) give NaN with the reason.
    ``n_at_risk`` is the weighted number at risk.
    """
    w = df[weights].to_numpy(float) if weights in df and len(df) else np.array([])
    robust = bool(np.isfinite(w).all() and not np.all(w == np.round(w)))
    rows = []
    for ep, (tcol, ecol) in endpoints.items():
        for arm in arms:
            g = df[df["arm"] == arm] if len(df) else df
            reason = note or ("no patients" if not len(g) else "")
            if reason:
                rows += [dict(endpoint=ep, arm=arm, months=m, n_at_risk=np.nan, survival=np.nan, ci_lower=np.nan,
                              ci_upper=np.nan, note=reason) for m in months]
                continue
            r = km_rates_reported(g[tcol], g[ecol], list(months), conf_type=conf_type, weights=g[weights],
                                  robust=robust)
            rows += [dict(endpoint=ep, arm=arm, months=x.months, n_at_risk=x.n_at_risk, survival=x.survival,
                          ci_lower=x.ci_lower, ci_upper=x.ci_upper,
                          note="" if pd.notna(x.survival) else "no patient at risk") for x in r.itertuples()]
    return pd.DataFrame(rows, columns=KM_RATE_COLUMNS)


def iptw_cohort(df: pd.DataFrame, treated_arm: str, ps: str = "propensity_score") -> tuple[pd.DataFrame, dict]:
    """The cohort with a weight column ``w_<estimand>`` per :data:`ESTIMANDS` (from ``ps``), and per estimand
    the reason its weights are not estimable ('' if they are)."""
    out, notes = df.copy(), {}
    treated = (df["arm"] == treated_arm).to_numpy()
    for est in ESTIMANDS:
        w = iptw_weights(df[ps].to_numpy(float), treated, est) if len(df) else None
        out[f"w_{est}"] = w.weights if w is not None else np.array([], dtype=float)
        notes[est] = w.note if w is not None else "no patients"
    return out, notes


def iptw_weights_table(weighted: pd.DataFrame, notes: Mapping[str, str], arms: Sequence[str]) -> pd.DataFrame:
    """Per estimand and arm: the weights' quantiles, sum, largest share and effective sample size."""
    out = [weight_summary(weighted[f"w_{est}"], weighted["arm"], arms).assign(estimand=est, note=notes[est])
           for est in ESTIMANDS]
    table = pd.concat(out, ignore_index=True)
    return table[["estimand", *[c for c in table.columns if c not in ("estimand", "note")], "note"]]


def iptw_balance(weighted: pd.DataFrame, covariates: Sequence[str], treated_arm: str,
                 notes: Mapping[str, str]) -> pd.DataFrame:
    """Absolute standardized mean differences per covariate (the largest over its levels' dummies), unweighted
    and weighted, with the estimand's SD (ATT: the treated patients'; ATE: pooled; both unweighted).

    Returns ``estimand`` (``"unweighted"``, then each estimand), ``sd``, ``variable``, ``smd``, ``note``.
    """
    treated = (weighted["arm"] == treated_arm).to_numpy()
    sd = {"ATT": "treated", "ATE": "pooled"}
    rows = []
    balance = LevelBalance(weighted, covariates, treated) if len(weighted) else None
    for est, w, denom, note in [("unweighted", None, "treated", ""),
                                *[(e, weighted[f"w_{e}"].to_numpy(float), sd[e], notes[e]) for e in ESTIMANDS]]:
        if note or not len(weighted):
            rows += [dict(estimand=est, sd=denom, variable=v, smd=np.nan, note=note or "no patients")
                     for v in covariates]
            continue
        per_level = balance.smd(w, denom)
        worst = per_level.assign(smd=per_level["smd"].abs()).groupby("variable", sort=False)["smd"].max()
        rows += [dict(estimand=est, sd=denom, variable=v, smd=worst.get(v, np.nan), note="") for v in covariates]
    return pd.DataFrame(rows, columns=["estimand", "sd", "variable", "smd", "note"])


def iptw_cox_table(weighted: pd.DataFrame, notes: Mapping[str, str], endpoints: Endpoints,
                   arms: Sequence[str]) -> pd.DataFrame:
    """The treatment HR per estimand and endpoint from a weighted Cox model with a robust (sandwich) variance,
    each patient its own cluster (R ``coxph(Surv(t, e) ~ arm, weights = w, robust = TRUE)``)."""
    levels, term = {"arm": list(arms)}, f"arm[{arms[1]}]"
    data = CoxData(weighted.assign(_patient=np.arange(len(weighted))))  # prepared once for the four models
    rows = []
    for est in ESTIMANDS:
        for ep, (tcol, ecol) in endpoints.items():
            if notes[est]:
                rows.append(dict(estimand=est, endpoint=ep, hr=np.nan, ci_lower=np.nan, ci_upper=np.nan,
                                 p_value=np.nan, n=len(weighted), n_events=np.nan, note=notes[est]))
                continue
            res = cox_fit(data, tcol, ecol, ["arm"], levels, weights=f"w_{est}", cluster="_patient")
            rows.append(dict(estimand=est, endpoint=ep, n=res.n, n_events=res.n_events, **_arm_row(res, term)))
    return pd.DataFrame(rows, columns=["estimand", "endpoint", "hr", "ci_lower", "ci_upper", "p_value", "n",
                                       "n_events", "note"])


def grid_cell_label(caliper_sd: float | None, ratio: int) -> str:
    """'0.02 SD; 2:1' or 'no caliper; 3:1' (no comma: a results key is written into 'key=value, ...' titles)."""
    return f"{'no caliper' if caliper_sd is None else f'{caliper_sd:g} SD'}; {ratio}:1"


def matching_grid(df: pd.DataFrame, covariates: Sequence[str], arms: Sequence[str], calipers: Sequence[float | None],
                  ratios: Sequence[int], endpoints: Endpoints, emulate: str = "matchit-4.5.1") -> pd.DataFrame:
    """Match under every caliper x ratio and estimate the treatment HR in each matched cohort.

    Per cell (the propensity model of :func:`fit_propensity`, the same in every cell and fitted once, then
    :func:`match_rows_up_to_ratio`, every ratio of a caliper from one run: MatchIt's ``matchit(..., ratio = k, caliper = c, std.caliper = TRUE)``;
    ``None`` is no caliper): matched patients per arm, treated patients left without a control, the largest
    absolute standardized mean difference after matching (MatchIt's ``summary(m)$sum.matched``: the matching
    weights, the SD of all treated patients, over every level's dummy), and per endpoint the hazard ratio of a
    Cox model on the matched patients as the paper analysed them (``coxph(Surv(t, e) ~ arm,
    data = match.data(m))``). A cell where nobody is matched, or a model that cannot be fitted, has NaN and
    the reason in ``note``.

    Returns
    -------
    pandas.DataFrame
        ``caliper_sd`` (NaN: none), ``ratio``, ``cell``, ``n_control``, ``n_treated``, ``n_unmatched_treated``,
        ``smd_max``, ``endpoint``, ``hr``, ``ci_lower``, ``ci_upper``, ``p_value``, ``n_events``, ``note``: one
        row per cell and endpoint.
    """
    control_arm, treated_arm = arms
    treated = (df["arm"] == treated_arm).to_numpy()
    levels, term = {"arm": list(arms)}, f"arm[{treated_arm}]"
    # The propensity model does not depend on the cell: fitted once (propensity_match's model), matched per cell.
    fit = fit_propensity(df, covariates, treatment="arm", treated_level=treated_arm) if treated.any() and \
        (df["arm"] == control_arm).any() else None
    logit = fit.logit_ps.to_numpy() if fit is not None else None
    balance = LevelBalance(df, covariates, treated) if fit is not None else None
    survival = CoxData(df)
    rows = []
    for caliper in calipers:
        # One 1:k run per caliper gives the matchings of every ratio up to k.
        runs = match_rows_up_to_ratio(logit, treated, max(ratios), caliper, emulate=emulate) \
            if fit is not None and len(ratios) else None
        for ratio in ratios:
            if fit is None:  # an empty arm: nobody is matched (as propensity_match)
                keep, weights = np.zeros(len(df), dtype=bool), None
            else:
                match_of = runs[int(ratio) - 1]
                keep = match_of >= 0
                weights = matching_weights(treated, np.where(keep, match_of, np.nan))
            n_t, n_c = int((keep & treated).sum()), int((keep & ~treated).sum())
            cell = dict(caliper_sd=np.nan if caliper is None else float(caliper), ratio=int(ratio),
                        cell=grid_cell_label(caliper, int(ratio)), n_control=n_c, n_treated=n_t,
                        n_unmatched_treated=int(treated.sum()) - n_t)
            empty = "nobody matched" if n_t == 0 else ""
            smd = np.nan
            if not empty:
                per_level = balance.smd(weights, "treated")
                smd = float(per_level["smd"].abs().max()) if per_level["smd"].notna().any() else np.nan
            matched = survival.subset(keep) if not empty else None
            for ep, (tcol, ecol) in endpoints.items():
                if empty:
                    rows.append(dict(cell, smd_max=smd, endpoint=ep, hr=np.nan, ci_lower=np.nan, ci_upper=np.nan,
                                     p_value=np.nan, n_events=0, note=empty))
                    continue
                res = cox_fit(matched, tcol, ecol, ["arm"], levels)
                rows.append(dict(cell, smd_max=smd, endpoint=ep, n_events=res.n_events, **_arm_row(res, term)))
    return pd.DataFrame(rows, columns=["caliper_sd", "ratio", "cell", "n_control", "n_treated", "n_unmatched_treated",
                                       "smd_max", "endpoint", "hr", "ci_lower", "ci_upper", "p_value", "n_events",
                                       "note"])
