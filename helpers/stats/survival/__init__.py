r"""Survival analysis: Kaplan-Meier, log-rank, Cox regression, follow-up.

Every function reproduces what R's ``survival`` package (3.5) reports, to a
relative 1e-6 (``tests/test_survival.py`` quotes the R calls and values). The
index of the package (each module's docstring repeats its rows; everything is
imported from ``helpers.stats.survival``):

========================================  ===========  ===============================================
here                                      module       R
========================================  ===========  ===============================================
``kaplan_meier(t, e)``                    ``km``       ``survfit(Surv(t, e) ~ 1, conf.type = "log-log")``
``km_rates_at(t, e, [12, 36, 60])``       ``km``       ``summary(fit, times = c(12, 36, 60))``
``km_rates_reported(t, e, [12, 36, 60])`` ``km``       ``summary(fit, times = ..., extend = TRUE)``, NA
                                                       where no one is at risk
``km_median(t, e)``                       ``km``       ``quantile(fit, 0.5)`` / ``print(fit)``
``kaplan_meier(t, e, weights=w)``         ``km``       ``survfit(Surv(t, e) ~ 1, weights = w)`` (robust se
                                                       for non-integer weights, as R's default)
``logrank_test(t, e, g)``                 ``logrank``  ``survdiff(Surv(t, e) ~ g)``
``logrank_test(t, e, g, strata=s)``       ``logrank``  ``survdiff(Surv(t, e) ~ g + strata(s))``
``cox_fit(df, "t", "e", ["x"])``          ``cox``      ``coxph(Surv(t, e) ~ x, ties = "efron")``
``cox_fit(..., weights="w",               ``cox``      ``coxph(Surv(t, e) ~ x, weights = w, cluster = s)``
cluster="s")``                                         (robust se)
``cox_fit(..., strata="s")``              ``cox``      ``coxph(Surv(t, e) ~ x + strata(s))``
``treatment_effect(cox, "univariate")``   ``cox``      the arm's row of ``coxph(Surv(t, e) ~ arm)``
``cox_zph(df, "t", "e", ["x"])``          ``ph``       ``cox.zph(coxph(Surv(t, e) ~ x))`` (survival 3.x)
``rmst(t, e, 60)``                        ``rmst``     ``print(survfit(Surv(t, e) ~ 1), rmean = 60)``
``rmst_difference(t, e, g, 60, arms)``    ``rmst``     the same per arm, and the difference (Wald CI)
``median_followup(t, e)``                 ``km``       ``survfit(Surv(t, 1 - e) ~ 1)`` (reverse KM)
``fix_near_ties(t)``                      ``times``    ``aeqSurv`` (``timefix = TRUE``)
========================================  ===========  ===============================================

Conventions: times are in months (``helpers.data.derive``: days / 30.4375), events
are 1 = event, 0 = censored. Rows with a missing time or event are dropped, as
R's default ``na.action`` does, and near-tied times are merged
(``helpers.stats.survival.times``). Degenerate models never raise: ``cox_fit``
returns a result flagged ``estimable=False`` with the reason.
``helpers.stats.survival.wording`` writes time points in words ("1 year",
"1-, 3- and 5-year").
"""

from helpers.stats.survival.cox import (
                                  COX_EPS,
                                  COX_ITER_MAX,
                                  COX_TABLE_COLUMNS,
                                  COX_TOLER_CHOL,
                                  COX_TOLER_INF,
                                  TREATMENT_EFFECT_MODELS,
                                  CoxResult,
                                  cox_fit,
                                  treatment_effect,
                                  univariate_then_multivariate_cox,
)
from helpers.stats.survival.km import (
                                  KM_COLUMNS,
                                  ConfType,
                                  kaplan_meier,
                                  km_median,
                                  km_rates_at,
                                  km_rates_reported,
                                  median_followup,
                                  survival_confint,
)
from helpers.stats.survival.logrank import LogrankResult, logrank_test
from helpers.stats.survival.ph import ZphResult, cox_zph
from helpers.stats.survival.rmst import RMST_COLUMNS, Rmst, rmst, rmst_difference
from helpers.stats.survival.times import TIME_TIE_TOLERANCE, fix_near_ties
from helpers.stats.survival.wording import logrank_reason, not_estimable_reason, time_point_label, time_points_phrase

__all__ = [
    "ConfType", "KM_COLUMNS", "kaplan_meier", "km_rates_at", "km_rates_reported", "km_median", "median_followup",
    "survival_confint",
    "LogrankResult", "logrank_test", "ZphResult", "cox_zph",
    "Rmst", "rmst", "rmst_difference", "RMST_COLUMNS",
    "CoxResult", "cox_fit", "univariate_then_multivariate_cox", "treatment_effect", "TREATMENT_EFFECT_MODELS", "COX_TABLE_COLUMNS",
    "COX_ITER_MAX", "COX_EPS", "COX_TOLER_CHOL", "COX_TOLER_INF",
    "TIME_TIE_TOLERANCE", "fix_near_ties",
    "time_point_label", "time_points_phrase", "logrank_reason", "not_estimable_reason",
]
