"""Local control with death as a competing event (notebook 06): the tables and curves of the competing-risk view.

The paper analysed local control by Kaplan-Meier, censoring patients at death. In a cohort where many die
before any local failure, one minus that Kaplan-Meier curve is the incidence of local failure in a world where
nobody dies, and it overstates the incidence that patients actually experience. The competing-risk view
reports, per cohort (before and after matching) and arm:

=========================  ========================================================  =============================
table                      R                                                         computed by
=========================  ========================================================  =============================
``competing_risk_rates``   ``summary(survfit(Surv(lc_months, factor(lc_status,       :func:`cif_at`,
                           0:2)) ~ arm), times = months)`` (Aalen-Johansen) beside   :func:`km_rates_reported`
                           ``1 - summary(survfit(Surv(lc_months, lc_status == 1)
                           ~ arm, conf.type = "log-log"), times = months)$surv``
``competing_risk_tests``   ``cmprsk::cuminc(lc_months, lc_status, arm)$Tests[1, ]``  :func:`gray_test`,
                           and ``cmprsk::crr(lc_months, lc_status, cov1 = arm ==     :func:`fine_gray_arm`
                           "SBRT+TACE")``
``competing_risk_curves``  the curves of the figure (``plot(survfit(...))``)         :func:`cumulative_incidence`,
                                                                                     :func:`kaplan_meier`
=========================  ========================================================  =============================

The time and status columns are ``lc_months`` and ``lc_status`` (:func:`helpers.data.derive.add_endpoints`:
0 censored, 1 local failure, 2 death without local failure). Nothing raises on degenerate data (an arm without
patients or without local failures, nobody matched): the numbers are NaN and ``note`` says why.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from helpers.stats.survival import (
    cif_at,
    cumulative_incidence,
    fine_gray_arm,
    gray_test,
    kaplan_meier,
    km_rates_reported,
)
from helpers.stats.survival.competing import COMPETING, EVENT

TIME, STATUS = "lc_months", "lc_status"
RATE_COLUMNS = ("cohort", "arm", "months", "n_at_risk", "cif", "cif_lower", "cif_upper", "km_failure",
                "km_lower", "km_upper", "note")
TEST_COLUMNS = ("cohort", "n", "n_local_failure", "n_death", "gray_chi2", "gray_df", "gray_p", "gray_note", "shr",
                "ci_lower", "ci_upper", "shr_p", "shr_note")
COUNT_COLUMNS = ("cohort", "arm", "n", "n_local_failure", "n_death", "n_censored")


def _arm(df: pd.DataFrame, arm: str) -> pd.DataFrame:
    return df[df["arm"] == arm]


def competing_risk_counts(cohorts: Mapping[str, pd.DataFrame], arms: Sequence[str]) -> pd.DataFrame:
    """Patients, local failures, deaths without local failure and censored patients per cohort and arm."""
    rows = []
    for cohort, df in cohorts.items():
        for arm in arms:
            s = _arm(df, arm)[STATUS]
            rows.append(dict(cohort=cohort, arm=arm, n=len(s), n_local_failure=int((s == EVENT).sum()),
                             n_death=int((s == COMPETING).sum()), n_censored=int((s == 0).sum())))
    return pd.DataFrame(rows, columns=list(COUNT_COLUMNS))


def competing_risk_rates(cohorts: Mapping[str, pd.DataFrame], arms: Sequence[str], months: Sequence[float]
                         ) -> pd.DataFrame:
    """The cumulative incidence of local failure (Aalen-Johansen, 95% CI on the log scale, R's default) and one
    minus the Kaplan-Meier curve that censors deaths (log-log CI, the report's KM interval), per cohort, arm and
    time point. Proportions (0-1); NaN with ``note`` where no patient is followed that long or the arm is empty.
    """
    rows = []
    for cohort, df in cohorts.items():
        for arm in arms:
            g = _arm(df, arm)
            cif = cif_at(g[TIME], g[STATUS], months)
            km = km_rates_reported(g[TIME], (g[STATUS] == EVENT).astype(int), months)
            km = km.set_index("months").reindex(cif["months"])
            for c, k in zip(cif.itertuples(), km.itertuples()):
                note = c.note or ("no patients" if g.empty else "")
                rows.append(dict(cohort=cohort, arm=arm, months=c.months, n_at_risk=c.n_at_risk, cif=c.cif,
                                 cif_lower=c.ci_lower, cif_upper=c.ci_upper, km_failure=1 - k.survival,
                                 km_lower=1 - k.ci_upper, km_upper=1 - k.ci_lower, note=note))
    return pd.DataFrame(rows, columns=list(RATE_COLUMNS))


def competing_risk_tests(cohorts: Mapping[str, pd.DataFrame], arms: Sequence[str]) -> pd.DataFrame:
    """Gray's test and the Fine-Gray subdistribution hazard ratio of ``arms[1]`` vs ``arms[0]`` per cohort."""
    rows = []
    for cohort, df in cohorts.items():
        df = df[df["arm"].isin(list(arms))]
        gray = gray_test(df[TIME], df[STATUS], df["arm"], group_order=list(arms))
        fg = fine_gray_arm(df[TIME], df[STATUS], df["arm"], arms)
        rows.append(dict(cohort=cohort, n=len(df), n_local_failure=int((df[STATUS] == EVENT).sum()),
                         n_death=int((df[STATUS] == COMPETING).sum()), gray_chi2=gray.stat, gray_df=gray.df,
                         gray_p=gray.p_value, gray_note=gray.note.removesuffix(": no test"), shr=fg["shr"],
                         ci_lower=fg["ci_lower"], ci_upper=fg["ci_upper"], shr_p=fg["p_value"],
                         shr_note=fg["note"]))
    return pd.DataFrame(rows, columns=list(TEST_COLUMNS))


def competing_risk_curves(cohorts: Mapping[str, pd.DataFrame], arms: Sequence[str]
                          ) -> dict[tuple[str, str], pd.DataFrame]:
    """Per (cohort, arm): ``time``, ``cif`` (Aalen-Johansen) and ``km_failure`` (1 - KM censoring deaths), from
    time 0, one row per distinct time (empty for an arm without patients)."""
    curves = {}
    for cohort, df in cohorts.items():
        for arm in arms:
            g = _arm(df, arm)
            cif = cumulative_incidence(g[TIME], g[STATUS])
            km = kaplan_meier(g[TIME], (g[STATUS] == EVENT).astype(int))
            curve = pd.DataFrame({"time": cif["time"], "cif": cif["cif"],
                                  "km_failure": 1 - km["survival"].to_numpy() if len(km) else np.zeros(0)})
            if len(curve):
                curve = pd.concat([pd.DataFrame({"time": [0.0], "cif": [0.0], "km_failure": [0.0]}), curve],
                                  ignore_index=True)
            curves[(cohort, arm)] = curve
    return curves
