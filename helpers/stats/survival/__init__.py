r"""Survival analysis: Kaplan-Meier, log-rank, Cox regression, follow-up.

Every function reproduces what R's ``survival`` package (3.5) reports, to a
relative 1e-6 (``tests/test_survival.py`` quotes the R calls and values). The
index of the package (each module's docstring repeats its rows; everything is
imported from ``helpers.stats.survival``):

========================================  =============  ========================================
Conventions: times are in months (``helpers.data.derive``: days / 30.4375), events
are 1 = event, 0 = censored. Rows with a missing time or event are dropped, as
R's default ``na.action`` does, and near-tied times are merged
(``helpers.stats.survival.times``). Degenerate models never raise: ``cox_fit``
returns a result flagged ``estimable=False`` with the reason.
``helpers.stats.survival.wording`` writes time points in words ("1 year",
"1-, 3- and 5-year").
"""

from helpers.stats.survival.competing import (
                                  CIF_COLUMNS,
                                  FINE_GRAY_COLUMNS,
                                  FineGrayResult,
                                  GrayResult,
                                  cif_at,
                                  cumulative_incidence,
                                  fine_gray,
                                  fine_gray_arm,
                                  gray_test,
)
from helpers.stats.survival.cox import (
                                  COX_EPS,
                                  COX_ITER_MAX,
                                  COX_TABLE_COLUMNS,
                                  COX_TOLER_CHOL,
                                  COX_TOLER_INF,
                                  TREATMENT_EFFECT_MODELS,
                                  CoxData,
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
    "CIF_COLUMNS", "cumulative_incidence", "cif_at", "GrayResult", "gray_test", "FineGrayResult", "fine_gray",
    "fine_gray_arm", "FINE_GRAY_COLUMNS",
    "CoxData", "CoxResult", "cox_fit", "univariate_then_multivariate_cox", "treatment_effect", "TREATMENT_EFFECT_MODELS", "COX_TABLE_COLUMNS",
    "COX_ITER_MAX", "COX_EPS", "COX_TOLER_CHOL", "COX_TOLER_INF",
    "TIME_TIE_TOLERANCE", "fix_near_ties",
    "time_point_label", "time_points_phrase", "logrank_reason", "not_estimable_reason",
]
