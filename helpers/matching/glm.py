r"""Propensity scores and 1:k nearest-neighbour caliper matching, as R MatchIt does them.

The paper matched with R MatchIt 4.5.1::

    matchit(treat ~ <10 covariates>, method = "nearest", distance = "glm",
            link = "linear.logit", ratio = 2, caliper = 0.02, std.caliper = TRUE,
            replace = FALSE)            # default m.order = "largest"

This module reproduces that call in two steps:

- :func:`fit_propensity` -- the logistic regression (R ``glm(..., family =
  binomial)``, replayed iteration for iteration by :func:`fit_logit_irls`);
- :func:`match_nearest_caliper` -- greedy nearest-neighbour matching on the
  logit of the propensity score, a port of MatchIt 4.5.1's C++ routine
  ``nn_matchC_vec`` with its tie rules and its two quirks (see ``emulate``):
  a control is sometimes passed over in the second pass, and some builds
  truncate distance differences to whole numbers, which voids a caliper
  below 1 logit.

:func:`fit_logit_irls` and :func:`nearest_caliper_match_rows` are the
array-only fast paths (for simulations that match thousands of times).

The tests compare both steps with MatchIt output captured from R
(``tests/test_matching.py``; ``make crosscheck`` re-runs R on random data).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special

from helpers.derive import TABLE1_VARIABLES
from helpers.schema import CONTROL_ARM, TREATED_ARM

#: Levels of the Table 1 columns, reference first (the dummy coding of the model).
_TABLE1_LEVELS: dict[str, tuple[str, ...]] = {v.column: v.levels for v in TABLE1_VARIABLES}

# R's glm.control() defaults and the constants of R's C logit link (src/library/stats/src/family.c).
GLM_MAX_ITER: int = 25
GLM_EPSILON: float = 1e-8
_DBL_EPS: float = float(np.finfo(float).eps)
_ETA_THRESH: float = 30.0
# A column whose residual norm (after the earlier columns) is below this share of
# its own norm is aliased: R's dqrdc2 uses 1e-11; binary designs alias exactly.
_ALIAS_TOL: float = 1e-7

MATCH_ORDERS: tuple[str, ...] = ("largest", "smallest", "data")

_Z_975: float = float(special.ndtri(0.975))  # 1.959964, for 95% Wald intervals


# --------------------------------------------------------------------------- fit


@dataclass(frozen=True)
class LogitFit:
    """Result of :func:`fit_logit_irls` (all arrays follow the columns of ``X``)."""

    beta: np.ndarray
    """Coefficients; NaN for aliased columns (as R's ``coef()`` gives NA)."""
    linear_predictor: np.ndarray
    """:math:`\\eta = X\\beta` per row (aliased columns count as 0)."""
    covariance: np.ndarray
    """Unscaled covariance :math:`(X^\\top W X)^{-1}`; NaN rows/columns for aliased columns."""
    aliased: np.ndarray
    """True where a column is a linear combination of the columns before it."""
    converged: bool
    iterations: int
    deviance: float

    @property
    def probability(self) -> np.ndarray:
        """Fitted probabilities :math:`1 / (1 + e^{-\\eta})`."""
        return _logit_inverse(self.linear_predictor)


def _logit_inverse(eta: np.ndarray) -> np.ndarray:
    # R's binomial()$linkinv: exp(eta) clamped to [DBL_EPSILON, 1/DBL_EPSILON] beyond |eta| > 30.
    e = np.exp(eta)
    if np.abs(eta).max(initial=0.0) > _ETA_THRESH:
        e = np.where(eta < -_ETA_THRESH, _DBL_EPS, np.where(eta > _ETA_THRESH, 1.0 / _DBL_EPS, e))
    return e / (1.0 + e)


def _logit_mu_eta(eta: np.ndarray) -> np.ndarray:
    # R's binomial()$mu.eta: d mu / d eta = e^eta / (1 + e^eta)^2, DBL_EPSILON beyond |eta| > 30.
    e = np.exp(eta)
    out = e / (1.0 + e) ** 2
    if np.abs(eta).max(initial=0.0) > _ETA_THRESH:
        out = np.where(np.abs(eta) > _ETA_THRESH, _DBL_EPS, out)
    return out


def _binomial_deviance(y: np.ndarray, mu: np.ndarray) -> float:
    # -2 log-likelihood; y is 0/1.
    return float(-2.0 * (np.log(mu[y > 0.5]).sum() + np.log1p(-mu[y <= 0.5]).sum()))


def _linear_predictor(columns: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """``X @ beta`` column by column, so that patients with the same covariates get bit-identical scores.

    A BLAS product may round identical rows differently in the last bit; then
    ties between patients with the same covariates would no longer be ties,
    and the matching's tie rules (as in R, where they are ties) would not apply.
    """
    eta = columns[0] * beta[0]
    for column, b in zip(columns[1:], beta[1:]):
        eta += column * b
    return eta


def _weighted_least_squares(Xw: np.ndarray, zw: np.ndarray, w: np.ndarray) -> np.ndarray:
    # Normal equations are 4x faster than a QR/SVD solve and accurate to ~1e-12 while the
    # weights are of one order; near separation (weights spanning > 1e4) use lstsq, as R uses QR.
    if w.max() <= 1e4 * w.min():
        try:
            return np.linalg.solve(Xw.T @ Xw, Xw.T @ zw)
        except np.linalg.LinAlgError:
            pass
    return np.linalg.lstsq(Xw, zw, rcond=None)[0]


def _aliased_columns(X: np.ndarray) -> np.ndarray:
    """Columns that are linear combinations of earlier columns (R's pivoting keeps the earlier one)."""
    aliased = np.zeros(X.shape[1], dtype=bool)
    norms = np.linalg.norm(X, axis=0)
    r_diag = np.abs(np.diag(np.linalg.qr(X, mode="r"))) if X.shape[0] >= X.shape[1] else np.zeros(X.shape[1])
    if X.shape[0] >= X.shape[1] and np.all(r_diag > _ALIAS_TOL * np.maximum(norms, 1e-300)):
        return aliased  # full rank: the usual case, one QR
    kept: list[int] = []
    for j in range(X.shape[1]):
        if norms[j] == 0.0:
            aliased[j] = True
            continue
        if kept:
            coef, *_ = np.linalg.lstsq(X[:, kept], X[:, j], rcond=None)
            resid = np.linalg.norm(X[:, j] - X[:, kept] @ coef)
        else:
            resid = norms[j]
        if resid <= _ALIAS_TOL * norms[j]:
            aliased[j] = True
        else:
            kept.append(j)
    return aliased


def fit_logit_irls(X: np.ndarray, y: np.ndarray, *, max_iter: int = GLM_MAX_ITER,
                   epsilon: float = GLM_EPSILON) -> LogitFit:
    r"""Logistic regression by iteratively reweighted least squares, exactly as R's ``glm.fit``.

    The fast path under :func:`fit_propensity`: a numeric design matrix in, the
    coefficients out, in well under a millisecond for 152 rows.

    Algorithm (R ``glm.fit`` with ``binomial()`` and ``glm.control()`` defaults):

    1. start from :math:`\mu_i = (y_i + 1/2)/2`, :math:`\eta_i = \log\{\mu_i/(1-\mu_i)\}`;
    2. repeat: working response :math:`z = \eta + (y-\mu)/\mu'(\eta)` and weights
       :math:`w = \mu'(\eta)^2 / \{\mu(1-\mu)\}`; solve the weighted least squares
       :math:`\beta = \arg\min \sum_i w_i (z_i - x_i^\top\beta)^2`; update
       :math:`\eta = X\beta`, :math:`\mu = 1/(1+e^{-\eta})` and the deviance
       :math:`D = -2\sum_i \{y_i\log\mu_i + (1-y_i)\log(1-\mu_i)\}`;
    3. stop when :math:`|D - D_\text{old}| / (|D| + 0.1) < \epsilon` (``epsilon = 1e-8``),
       or after ``max_iter = 25`` iterations (then ``converged`` is False).

    R's clamping of the link at :math:`|\eta| > 30` is reproduced, so under
    (quasi-)separation the coefficients drift the same way as in R and the
    scores stay finite. Columns that are linear combinations of earlier
    columns are aliased (coefficient NaN, as R's NA) and left out of the fit.

    Parameters
    ----------
    X : (n, p) array
        Design matrix, including the intercept column.
    y : (n,) array of 0/1
        Outcome (1 = treated).
    max_iter, epsilon : int, float
        R's ``glm.control(maxit, epsilon)``.

    Returns
    -------
    LogitFit

    Examples
    --------
    One binary covariate: the fit reproduces the 2x2 table. Treated 1 of 4
    without the factor and 3 of 4 with it, so the intercept is
    :math:`\log(1/3)` and the slope the log odds ratio :math:`\log 9`.

    >>> X = np.column_stack([np.ones(8), [0, 0, 0, 0, 1, 1, 1, 1]])
    >>> y = np.array([1, 0, 0, 0, 1, 1, 1, 0])
    >>> fit = fit_logit_irls(X, y)
    >>> np.round(fit.beta, 6).tolist(), round(float(np.log(1 / 3)), 6), round(float(np.log(9)), 6)
    ([-1.098612, 2.197225], -1.098612, 2.197225)
    >>> fit.converged, fit.iterations
    (True, 4)
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    n, p = X.shape
    aliased = _aliased_columns(X)
    Xk = X[:, ~aliased]
    columns_k = np.ascontiguousarray(Xk.T)

    mu = (y + 0.5) / 2.0
    eta = np.log(mu / (1.0 - mu))
    dev_old = _binomial_deviance(y, mu)
    beta_k = np.zeros(Xk.shape[1])
    converged = False
    iterations = 0
    Xw = Xk
    for iterations in range(1, max_iter + 1):
        mu_eta = _logit_mu_eta(eta)
        z = eta + (y - mu) / mu_eta
        w = np.sqrt(mu_eta ** 2 / (mu * (1.0 - mu)))
        Xw = Xk * w[:, None]
        beta_k = _weighted_least_squares(Xw, z * w, w)
        eta = _linear_predictor(columns_k, beta_k)
        mu = _logit_inverse(eta)
        dev = _binomial_deviance(y, mu)
        if abs(dev - dev_old) / (abs(dev) + 0.1) < epsilon:
            converged = True
            break
        dev_old = dev

    beta = np.full(p, np.nan)
    beta[~aliased] = beta_k
    covariance = np.full((p, p), np.nan)
    # As R's summary.glm: (X'WX)^-1 with the weights of the last least-squares step.
    covariance[np.ix_(~aliased, ~aliased)] = np.linalg.inv(Xw.T @ Xw)
    return LogitFit(beta=beta, linear_predictor=eta, covariance=covariance, aliased=aliased,
                    converged=converged, iterations=iterations, deviance=dev)


@dataclass(frozen=True)
class PropensityFit:
    """Result of :func:`fit_propensity`. Series are indexed like the input data frame."""

    propensity_score: pd.Series
    """Fitted probability of being in the treated arm."""
    logit_ps: pd.Series
    """Linear predictor (logit of the propensity score): MatchIt's ``distance`` with ``link = "linear.logit"``."""
    is_treated: pd.Series
    """1 for the treated arm, 0 for the control arm."""
    coefficients: pd.DataFrame
    """One row per model term (index as R names it, e.g. ``sex_groupMale``): ``variable``,
    ``level``, ``reference``, ``estimate`` (log odds ratio), ``std_error``, ``z_value``,
    ``p_value``, ``odds_ratio``, ``or_ci_low``, ``or_ci_high`` (95% Wald)."""
    covariates: tuple[str, ...]
    """The covariates that entered the model (single-level ones are left out)."""
    converged: bool
    notes: list[str] = field(default_factory=list)
    """Plain-language remarks on the fit (left-out covariates, separation, ...)."""


def _covariate_levels(column: str, values: np.ndarray) -> tuple[list, list[str]]:
    """Levels present in ``values``, reference first, and notes on unexpected ones."""
    present = set(values.tolist())
    notes: list[str] = []
    if column in _TABLE1_LEVELS:
        declared = [lv for lv in _TABLE1_LEVELS[column] if lv in present]
        extra = sorted(present - set(_TABLE1_LEVELS[column]))
        if extra:
            notes.append(f"{column} has level(s) {', '.join(map(repr, extra))} beyond the Table 1 "
                         f"levels {list(_TABLE1_LEVELS[column])}; each is modelled as its own category.")
        return declared + extra, notes
    return sorted(present), notes


def _treatment_indicator(df: pd.DataFrame, treatment: pd.Series | str, treated_level: str) -> tuple[np.ndarray, str]:
    """1 for the treated arm, 0 for the other; and the name of the other (control) arm."""
    arm = np.asarray(df[treatment] if isinstance(treatment, str) else treatment, dtype=object)
    if len(arm) != len(df):
        raise ValueError(f"The treatment has {len(arm)} values but the data have {len(df)} patients.")
    missing = pd.isna(arm)
    if missing.any():
        raise ValueError(f"The treatment arm is missing for {int(missing.sum())} patient(s) "
                         f"({_describe_rows(df, missing)}); record the arm or exclude them before matching.")
    arm = arm.astype(str)
    arms = sorted(set(arm.tolist()))
    if treated_level not in arms:
        raise ValueError(f"No patient is in the treated arm {treated_level!r}; the arms in the data are {arms}.")
    if len(arms) != 2:
        raise ValueError(f"Propensity matching compares two arms, but the data have {len(arms)}: {arms}.")
    control_level = arms[0] if arms[1] == treated_level else arms[1]
    return (arm == treated_level).astype(np.int8), control_level


def _describe_rows(df: pd.DataFrame, mask: np.ndarray, limit: int = 5) -> str:
    rows = df.loc[np.asarray(mask, dtype=bool)]
    labels = rows["patient_id"].astype(str).tolist() if "patient_id" in df.columns else list(map(str, rows.index))
    more = f", and {len(labels) - limit} more" if len(labels) > limit else ""
    return ("patient_id " if "patient_id" in df.columns else "rows ") + ", ".join(labels[:limit]) + more


def _separation_notes(column: str, values: np.ndarray, levels: list, treated: np.ndarray,
                      arm_names: tuple[str, str]) -> list[str]:
    """A level whose patients are all in one arm has an infinite odds ratio (separation)."""
    notes = []
    for level in levels:
        in_level = values == level
        n_level, n_treated = int(in_level.sum()), int(treated[in_level].sum())
        if n_treated in (0, n_level):
            arm = arm_names[1] if n_treated else arm_names[0]
            notes.append(f"All {n_level} patient(s) with {column} = {level!r} are in {arm}: the odds ratio "
                         f"of this category cannot be estimated (separation), and their propensity scores "
                         f"are pushed towards {1 if n_treated else 0}; they can hardly be matched.")
    return notes


def fit_propensity(df: pd.DataFrame, covariates: Sequence[str], treatment: pd.Series | str = "arm",
                   treated_level: str = TREATED_ARM) -> PropensityFit:
    r"""Propensity score: logistic regression of the treated arm on categorical covariates.

    Model (R: ``glm(treat ~ x1 + ... + xk, family = binomial)``):

    .. math:: \operatorname{logit} \Pr(\text{treated}_i) = \beta_0 + \sum_j \sum_{l \ne \text{ref}_j}
              \beta_{jl}\,[x_{ij} = l]

    Each covariate is dummy-coded against its reference level: the first level
    of ``helpers.derive.TABLE1_VARIABLES`` for a Table 1 column (levels not
    listed there follow, sorted), else the first level in sorted order. Only
    levels present in the data get a dummy. The fit is :func:`fit_logit_irls`,
    which replays R's ``glm.fit``; the linear predictor agrees with R to
    about 1e-14 (the tests require 1e-6).

    Problems that do not stop the analysis are reported in ``notes``:
    a covariate with a single level in the data (left out of the model), a
    category whose patients are all in one arm (separation: its coefficient
    drifts to +-infinity as in R, the scores stay finite), non-convergence,
    fitted probabilities of numerically 0 or 1, and aliased covariates.

    Parameters
    ----------
    df : DataFrame
        One row per patient.
    covariates : sequence of str
        Categorical columns of ``df`` (e.g. ``helpers.derive.PROPENSITY_COVARIATES``).
    treatment : str or Series
        Column of ``df`` (or a Series of the same length) holding the arm.
    treated_level : str
        The value of ``treatment`` that codes the treated arm (1); the other
        value is the control arm (0).

    Returns
    -------
    PropensityFit

    Raises
    ------
    ValueError
        If a covariate or the arm is missing for some patients (the message
        names them), or the treatment does not have exactly two arms.

    Examples
    --------
    >>> d = pd.DataFrame({"arm": ["SBRT+TACE"] * 4 + ["SBRT"] * 4,
    ...                   "sex_group": ["Male", "Male", "Male", "Female", "Male", "Female", "Female", "Female"],
    ...                   "pvtt_group": ["Without"] * 8})
    >>> fit = fit_propensity(d, ["sex_group", "pvtt_group"])
    >>> fit.coefficients[["estimate", "odds_ratio"]].round(4)
                   estimate  odds_ratio
    term
    (Intercept)     -1.0986      0.3333
    sex_groupMale    2.1972      9.0000
    >>> fit.notes
    ["pvtt_group has a single level in the data ('Without'); it is left out of the propensity model."]
    >>> fit.propensity_score.round(2).tolist()
    [0.75, 0.75, 0.75, 0.25, 0.75, 0.25, 0.25, 0.25]
    """
    treated, control_level = _treatment_indicator(df, treatment, treated_level)
    notes: list[str] = []
    missing = [c for c in covariates if c not in df.columns]
    if missing:
        raise ValueError(f"Propensity covariate(s) {missing} are not columns of the data.")

    columns = [np.ones(len(df))]
    terms: list[tuple[str, str, str, str]] = [("(Intercept)", "", "", "")]
    used: list[str] = []
    for column in covariates:
        values = df[column].to_numpy()
        missing = pd.isna(values)
        if missing.any():
            raise ValueError(f"Propensity covariate {column!r} is missing for {int(missing.sum())} "
                             f"patient(s) ({_describe_rows(df, missing)}); complete it or exclude "
                             f"these patients before matching (MatchIt refuses missing covariates too).")
        if column in _TABLE1_LEVELS:
            values = values.astype(str)  # Table 1 levels are text ("0"/"1" for ECOG)
        levels, level_notes = _covariate_levels(column, values)
        notes += level_notes
        if len(levels) < 2:
            notes.append(f"{column} has a single level in the data ({levels[0]!r}); "
                         f"it is left out of the propensity model.")
            continue
        used.append(column)
        notes += _separation_notes(column, values, levels, treated, (control_level, treated_level))
        for level in levels[1:]:
            columns.append((values == level).astype(float))
            terms.append((f"{column}{level}", column, str(level), str(levels[0])))

    X = np.column_stack(columns)
    fit = fit_logit_irls(X, treated)
    notes += _fit_notes(fit, terms)

    se = np.sqrt(np.diag(fit.covariance))
    z_value = fit.beta / se
    with np.errstate(over="ignore"):  # a separated category's odds ratio and CI are infinite
        coefficients = _coefficient_table(terms, fit.beta, se, z_value)
    return PropensityFit(
        propensity_score=pd.Series(fit.probability, index=df.index, name="propensity_score"),
        logit_ps=pd.Series(fit.linear_predictor, index=df.index, name="logit_ps"),
        is_treated=pd.Series(treated, index=df.index, name="treated"),
        coefficients=coefficients, covariates=tuple(used), converged=fit.converged, notes=notes)


def _coefficient_table(terms: list[tuple[str, str, str, str]], beta: np.ndarray, se: np.ndarray,
                       z_value: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {"variable": [t[1] for t in terms], "level": [t[2] for t in terms], "reference": [t[3] for t in terms],
         "estimate": beta, "std_error": se, "z_value": z_value,
         "p_value": special.erfc(np.abs(z_value) / np.sqrt(2.0)), "odds_ratio": np.exp(beta),
         "or_ci_low": np.exp(beta - _Z_975 * se), "or_ci_high": np.exp(beta + _Z_975 * se)},
        index=pd.Index([t[0] for t in terms], name="term"))


def _fit_notes(fit: LogitFit, terms: list[tuple[str, str, str, str]]) -> list[str]:
    notes = []
    for (term, *_), is_aliased in zip(terms, fit.aliased):
        if is_aliased:
            notes.append(f"{term} is determined by the covariates before it (collinear); "
                         f"its coefficient is not estimable and it does not change the scores.")
    if not fit.converged:
        notes.append(f"The logistic regression did not converge in {fit.iterations} iterations "
                     f"(as R's glm would warn); usually a sign of separation. The scores are those "
                     f"after the last iteration, as R would give.")
    eps = 10 * _DBL_EPS
    p = fit.probability
    n_extreme = int(np.sum((p > 1 - eps) | (p < eps)))
    if n_extreme:
        notes.append(f"{n_extreme} patient(s) have a fitted propensity of numerically 0 or 1 "
                     f"(R: 'fitted probabilities numerically 0 or 1 occurred').")
    return notes


# ------------------------------------------------------------------------- match

#: What :func:`match_nearest_caliper` reproduces (its ``emulate`` argument).
EMULATIONS: tuple[str, ...] = ("matchit-4.5.1", "matchit-4.5.1-int-abs", "none")


def caliper_width(distance: np.ndarray, caliper_sd: float | None) -> float:
    r"""The caliper on the distance scale, as MatchIt's ``std.caliper = TRUE``.

    .. math:: c = \text{caliper\_sd} \times \operatorname{SD}(d_1, \dots, d_n)

    with the SD (denominator :math:`n-1`) over *all* units, treated and control
    pooled (MatchIt: ``sd(distance[!discarded])``, nothing is discarded here).
    ``inf`` when there is no caliper, or when all distances are equal (MatchIt
    then drops the caliper).

    Examples
    --------
    >>> round(caliper_width(np.array([0.0, 1.0, 2.0, 3.0]), 0.02), 6)   # 0.02 x SD 1.290994
    0.02582
    """
    distance = np.asarray(distance, dtype=float)
    if caliper_sd is None or distance.size == 0 or np.all(distance == distance[0]):
        return float("inf")
    return float(abs(caliper_sd) * np.std(distance, ddof=1))


def _treated_order(distance_treated: np.ndarray, order: str) -> np.ndarray:
    # R's order() is stable: tied treated units keep their data order, also when decreasing.
    if order == "largest":
        return np.argsort(-distance_treated, kind="stable")
    if order == "smallest":
        return np.argsort(distance_treated, kind="stable")
    return np.arange(len(distance_treated))


def match_nearest_caliper(logit_ps, is_treated, ids, ratio: int = 2, caliper_sd: float | None = 0.02,
                          order: str = "largest", *, emulate: str = "matchit-4.5.1") -> pd.DataFrame:
    r"""Greedy 1:``ratio`` nearest-neighbour matching without replacement, within a caliper.

    Reproduces R MatchIt 4.5.1 ``matchit(..., method = "nearest", distance =
    "glm", link = "linear.logit", ratio = 2, caliper = 0.02, std.caliper = TRUE,
    replace = FALSE)`` given its distance (``logit_ps``): a port of MatchIt's C++
    routine ``nn_matchC_vec``, tie rules and quirks included.

    Algorithm

    1. Caliper :math:`c` = ``caliper_sd`` x SD of the distance over all units
       (pooled, ``ddof = 1``; see :func:`caliper_width`).
    2. Sort all units by distance, ascending, stably (ties keep data order).
    3. Order the treated units: ``"largest"`` distance first (MatchIt's
       default for the ATT), ``"smallest"`` first, or ``"data"`` order; ties
       keep data order (R's ``order()`` is stable).
    4. Do ``ratio`` passes. In each pass every treated unit in turn takes one
       more control: from its place in the sorted list, the nearest still
       unmatched control to the left and the nearest to the right; a side
       whose candidate lies farther than :math:`c` gives none. The closer
       candidate wins; if equally close, the left (smaller distance) one. So
       every treated unit gets its first control before any gets its second,
       and a control, once taken, is gone.
    5. A treated unit with no control within the caliper is unmatched; one
       with fewer than ``ratio`` keeps the ones it got. A difference exactly
       equal to :math:`c` is inside the caliper.

    Tie rules (they follow from the stable sorts in 2 and 3 and the scan in 4):

    - treated units with equal distance choose in data order (``ids`` order);
    - among controls at equal distance on the same side, the one nearest in
      sorted position is taken: on the left (smaller distances) the *last* in
      data order, on the right the *first* in data order;
    - a control tied with the treated unit itself sits left of it if it comes
      earlier in the data, right of it if later; with a zero difference on both
      sides the left one is taken. So among controls tied with the treated
      unit, those before it in the data go first (nearest first), then those
      after it (nearest first).

    MatchIt 4.5.1 quirks, selected by ``emulate``:

    - ``"matchit-4.5.1"`` (default): in the 2nd and later passes a treated
      unit passes over the control that comes *right after*, in data order, a
      control it already has (MatchIt compares 0-based row numbers with the
      1-based ones it stored; the passed-over control stays available to
      other treated units). Distances are compared exactly. This is MatchIt
      4.5.1 wherever C++ ``abs()`` on a double works.
    - ``"matchit-4.5.1-int-abs"``: additionally, every difference of two
      distances is truncated to an integer before it is compared, as MatchIt
      4.5.1 does when its unqualified ``abs()`` resolves to C's ``int abs(int)``
      -- so on the Debian ``r-cran-matchit`` 4.5.1 build that the tests use,
      and per github.com/kosukeimai/MatchIt/issues/163 ("Caliper not working
      as intended on versions 4.5.1 - 4.5.3") on CRAN builds too. A caliper
      below 1 then admits any control less than 1 logit away, and of two
      candidates the left one wins unless the right one is a whole unit
      closer. Use only to reproduce such a run; it does not do what the
      Methods describe.
    - ``"none"``: the algorithm above without quirks.

    Because ties are broken by data order, the matched sets (not only which
    of two equivalent controls is used) can change when the rows are
    reordered; MatchIt behaves the same. Where MatchIt stops with an error
    this function returns a result: when no unit is matched ("No units were
    matched"), and when the distance takes only two values (MatchIt refuses
    a caliper then; here it is applied).

    Parameters
    ----------
    logit_ps : array-like of float
        The distance: logit of the propensity score (``PropensityFit.logit_ps``).
    is_treated : array-like of bool or 0/1
        Arm indicator (1 = treated).
    ids : array-like
        Unique patient identifiers, in the same order (the data order that
        decides ties).
    ratio : int
        Controls per treated unit (:math:`k` of 1:k).
    caliper_sd : float or None
        Caliper in standard deviations of the distance; None for no caliper.
    order : {"largest", "smallest", "data"}
        Order in which treated units choose (MatchIt's ``m.order``).
    emulate : {"matchit-4.5.1", "matchit-4.5.1-int-abs", "none"}
        Which MatchIt behaviour to reproduce (see above).

    Returns
    -------
    DataFrame
        One row per input unit, in input order: ``patient_id``, ``treated``
        (0/1), ``matched`` (0/1), ``match_id`` (the ``patient_id`` of the treated
        unit of its matched set; NA when unmatched), ``distance``.

    Examples
    --------
    Two treated (T1, T2) and four controls on the logit scale, no caliper, 1:2.
    Pass 1: T1 (largest) takes C1, T2 takes C2; pass 2: T1 takes C3, T2 C4.

    >>> m = match_nearest_caliper([2.0, 1.0, 1.9, 1.1, 1.5, 0.0], [1, 1, 0, 0, 0, 0],
    ...                           ["T1", "T2", "C1", "C2", "C3", "C4"], ratio=2, caliper_sd=None)
    >>> m["match_id"].tolist()
    ['T1', 'T2', 'T1', 'T2', 'T1', 'T2']

    With a caliper of 0.25 SD (SD = 0.77, c = 0.19) only C1 and C2 are close enough:

    >>> m = match_nearest_caliper([2.0, 1.0, 1.9, 1.1, 1.5, 0.0], [1, 1, 0, 0, 0, 0],
    ...                           ["T1", "T2", "C1", "C2", "C3", "C4"], ratio=2, caliper_sd=0.25)
    >>> m["match_id"].tolist()
    ['T1', 'T2', 'T1', 'T2', <NA>, <NA>]

    The 4.5.1 pass-over: T has C1 after pass 1, so in pass 2 it passes over
    C2 (the next row after C1) and takes C3; without the quirk it takes C2.

    >>> args = ([0.0, 0.1, 0.2, 0.3], [1, 0, 0, 0], ["T", "C1", "C2", "C3"])
    >>> match_nearest_caliper(*args, caliper_sd=None)["match_id"].tolist()
    ['T', 'T', <NA>, 'T']
    >>> match_nearest_caliper(*args, caliper_sd=None, emulate="none")["match_id"].tolist()
    ['T', 'T', 'T', <NA>]
    """
    distance = np.asarray(logit_ps, dtype=float)
    treated = np.asarray(is_treated).astype(bool)
    ids = pd.Index(ids)
    n = len(distance)
    if not (len(treated) == len(ids) == n):
        raise ValueError(f"logit_ps, is_treated and ids must have the same length ({n}, {len(treated)}, {len(ids)}).")
    if not ids.is_unique:
        raise ValueError(f"Patient ids must be unique; repeated: {sorted(map(str, ids[ids.duplicated()].unique()))[:5]}.")
    if not np.all(np.isfinite(distance)):
        raise ValueError("The propensity distance has missing or infinite values; check the propensity model notes.")
    if order not in MATCH_ORDERS:
        raise ValueError(f"order must be one of {MATCH_ORDERS}, not {order!r}.")
    if emulate not in EMULATIONS:
        raise ValueError(f"emulate must be one of {EMULATIONS}, not {emulate!r}.")
    if int(ratio) != ratio or ratio < 1:
        raise ValueError(f"ratio must be a whole number >= 1, not {ratio!r}.")

    match_of = nearest_caliper_match_rows(distance, treated, int(ratio), caliper_sd, order, emulate)
    matched = match_of >= 0
    match_id = pd.array(ids.take(np.where(matched, match_of, 0)), dtype=_nullable(ids.dtype))
    match_id[~matched] = pd.NA
    return pd.DataFrame({"patient_id": ids.to_numpy(), "treated": treated.astype(int),
                         "matched": matched.astype(int), "match_id": match_id, "distance": distance})


def _nullable(dtype) -> str | object:
    if pd.api.types.is_integer_dtype(dtype):
        return "Int64"
    return "string" if pd.api.types.is_string_dtype(dtype) or dtype == object else dtype


def nearest_caliper_match_rows(distance: np.ndarray, is_treated: np.ndarray, ratio: int = 2,
                               caliper_sd: float | None = 0.02, order: str = "largest",
                               emulate: str = "matchit-4.5.1") -> np.ndarray:
    """Array-only core of :func:`match_nearest_caliper` (same algorithm and arguments, no checks).

    Returns, for each unit, the row number of the treated unit of its matched
    set (a matched treated unit points to itself), or -1 if unmatched.

    Examples
    --------
    >>> nearest_caliper_match_rows(np.array([0.0, 0.1, 0.2, 0.3]), np.array([1, 0, 0, 0]),
    ...                            caliper_sd=None, emulate="none").tolist()
    [0, 0, 0, -1]
    """
    distance = np.asarray(distance, dtype=float)
    treated = np.asarray(is_treated).astype(bool)
    caliper = caliper_width(distance, caliper_sd)
    pass_over_next_row = emulate != "none"
    int_abs = emulate == "matchit-4.5.1-int-abs"

    # Port of MatchIt 4.5.1 src/nn_matchC_vec.cpp for replace = FALSE, no exact/anti-exact
    # constraints. Controls sit in an array sorted (stably) by distance; a treated unit
    # starts its scans at the number of controls sorted before it.
    sorted_rows = np.argsort(distance, kind="stable")
    is_control_sorted = ~treated[sorted_rows]
    controls_before = np.cumsum(is_control_sorted) - is_control_sorted
    start_of = np.empty(len(distance), dtype=np.int64)
    start_of[sorted_rows] = controls_before
    control_rows = sorted_rows[is_control_sorted].tolist()
    control_dist = distance[sorted_rows[is_control_sorted]].tolist()
    n_controls = len(control_rows)

    # C's int abs(int) applied to a double: the difference is truncated towards zero first.
    gap = (lambda a, b: abs(int(a - b))) if int_abs else (lambda a, b: abs(a - b))

    treated_rows = np.flatnonzero(treated)
    chooser_rows = treated_rows[_treated_order(distance[treated_rows], order)].tolist()
    available = [True] * n_controls
    n_available = n_controls
    match_of = np.full(len(distance), -1, dtype=np.int64)
    controls_of: dict[int, list[int]] = {row: [] for row in chooser_rows}

    for pass_no in range(ratio):
        for row in chooser_rows:
            if n_available == 0:
                return match_of
            # MatchIt 4.5.1 (pass >= 2): the row after each control already taken is passed over.
            passed_over = {c + 1 for c in controls_of[row]} if pass_no and pass_over_next_row else ()
            d = float(distance[row])
            start = int(start_of[row])
            left = start - 1
            while left >= 0 and (not available[left] or control_rows[left] in passed_over):
                left -= 1
            if left >= 0 and gap(d, control_dist[left]) > caliper:
                left = -1
            right = start
            while right < n_controls and (not available[right] or control_rows[right] in passed_over):
                right += 1
            if right >= n_controls or gap(d, control_dist[right]) > caliper:
                right = -1
            if left >= 0 and right >= 0:
                chosen = left if gap(control_dist[left], d) <= gap(control_dist[right], d) else right
            elif left >= 0 or right >= 0:
                chosen = max(left, right)
            else:
                continue
            available[chosen] = False
            n_available -= 1
            controls_of[row].append(control_rows[chosen])
            match_of[control_rows[chosen]] = row
            match_of[row] = row
    return match_of


@dataclass(frozen=True)
class PropensityMatch:
    """Result of :func:`propensity_match`: the fit (None if no model could be fitted) and one row per patient."""

    fit: PropensityFit | None
    matched_cohort: pd.DataFrame
    """``patient_id, arm, propensity_score, logit_ps, matched (0/1), match_id`` in the input's order."""
    caliper: float
    notes: list[str]


def propensity_match(df: pd.DataFrame, covariates: Sequence[str], *, treated_arm: str = TREATED_ARM,
                     control_arm: str = CONTROL_ARM, ratio: int = 2, caliper_sd: float | None = 0.02,
                     id_col: str = "patient_id") -> PropensityMatch:
    """Fit the propensity model and match, or say why nobody can be matched.

    :func:`fit_propensity` then :func:`match_nearest_caliper` on its logit.
    When one arm has no patients (e.g. every SBRT+TACE patient failed an
    eligibility criterion) there is nothing to model or match: the result
    has no fit, every patient is unmatched, and ``notes`` says why, so that
    the report can go on and state it.

    Examples
    --------
    >>> d = pd.DataFrame({"patient_id": ["a", "b", "c"], "arm": ["SBRT"] * 3, "sex_group": ["Male"] * 3})
    >>> m = propensity_match(d, ["sex_group"])
    >>> m.fit is None, m.matched_cohort["matched"].tolist(), m.notes
    (True, [0, 0, 0], ['No SBRT+TACE patient is in the analysis (3 SBRT): no propensity model is fitted and nobody is matched.'])
    """
    counts = df["arm"].value_counts()
    n_treated, n_control = int(counts.get(treated_arm, 0)), int(counts.get(control_arm, 0))
    base = pd.DataFrame({id_col: df[id_col].to_numpy(), "arm": df["arm"].to_numpy()})
    if n_treated == 0 or n_control == 0:
        empty, present = (treated_arm, control_arm) if n_treated == 0 else (control_arm, treated_arm)
        note = (f"No {empty} patient is in the analysis ({max(n_treated, n_control)} {present}): "
                "no propensity model is fitted and nobody is matched.")
        out = base.assign(propensity_score=np.nan, logit_ps=np.nan, matched=0,
                          match_id=pd.Series([pd.NA] * len(df), dtype=object))
        return PropensityMatch(fit=None, matched_cohort=out, caliper=float("nan"), notes=[note])
    fit = fit_propensity(df, covariates, treatment="arm", treated_level=treated_arm)
    is_treated = (df["arm"] == treated_arm).to_numpy()
    logit = fit.logit_ps.to_numpy()
    matches = match_nearest_caliper(logit, is_treated, df[id_col].to_numpy(), ratio=ratio, caliper_sd=caliper_sd)
    out = base.assign(propensity_score=fit.propensity_score.to_numpy(), logit_ps=logit,
                      matched=matches["matched"].to_numpy().astype(int), match_id=matches["match_id"].to_numpy())
    return PropensityMatch(fit=fit, matched_cohort=out, caliper=caliper_width(logit, caliper_sd), notes=list(fit.notes))
