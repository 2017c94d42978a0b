r"""The propensity model: logistic regression as R's ``glm(treat ~ ..., family = binomial)``.

==============================================  ==================================================
here                                            R
==============================================  ==================================================
``fit_propensity(df, covariates)``              ``glm(treat ~ <covariates>, family = binomial)``
``fit_logit_irls(X, y)``                        ``glm.fit(X, y, family = binomial())`` (IRLS)
==============================================  ==================================================

:func:`fit_logit_irls` replays R's iteratively reweighted least squares
iteration for iteration (``glm.control()`` defaults, R's C logit link,
aliased columns as ``dqrdc2`` finds them); :func:`fit_propensity` builds the
dummy-coded design from the Table 1 levels (reference first), fits it and
words separation and aliasing as notes. The logit of the fitted score is
MatchIt's ``distance`` with ``link = "linear.logit"``.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special

from helpers.data.derive import TABLE1_VARIABLES
from helpers.data.schema import TREATED_ARM

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

_Z_975: float = float(special.ndtri(0.975))  # 1.959964, for 95% Wald intervals


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
    for iterations in range(1, max_iter + 1):  # noqa: B007 (the count is read after the loop)
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


def _covariate_levels(column: str, values: np.ndarray | _Coded) -> tuple[list, list[str]]:
    """Levels present in ``values``, reference first, and notes on unexpected ones."""
    present = values.present() if isinstance(values, _Coded) else set(values.tolist())
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


class _Coded:
    """A covariate column as integer codes over its distinct values: ``values == level`` without comparing
    every patient's value (text at registry scale), the same masks."""

    def __init__(self, values: np.ndarray, as_text: bool) -> None:
        codes, uniques = pd.factorize(values, use_na_sentinel=False)
        uniques = np.asarray(uniques, dtype=object)
        if as_text:  # each distinct value's text once (str() per value, as ndarray.astype(str) does)
            text = np.array([str(u) for u in uniques], dtype=object)
            recode, uniques = pd.factorize(text)
            codes = recode[codes]
            uniques = np.asarray(uniques, dtype=object)
        self.codes, self.uniques = codes, uniques
        self._position = {u: i for i, u in enumerate(uniques.tolist())}

    def present(self) -> set:
        return set(self.uniques.tolist())

    def mask(self, level) -> np.ndarray:
        position = self._position.get(level)
        return np.zeros(self.codes.size, dtype=bool) if position is None else self.codes == position


def _separation_notes(column: str, values: _Coded, levels: list, treated: np.ndarray,
                      arm_names: tuple[str, str]) -> list[str]:
    """A level whose patients are all in one arm has an infinite odds ratio (separation)."""
    notes = []
    for level in levels:
        in_level = values.mask(level)
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
    of ``helpers.data.derive.TABLE1_VARIABLES`` for a Table 1 column (levels not
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
        Categorical columns of ``df`` (e.g. ``helpers.data.derive.PROPENSITY_COVARIATES``).
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
        values = _Coded(values, as_text=column in _TABLE1_LEVELS)  # Table 1 levels are text ("0"/"1" for ECOG)
        levels, level_notes = _covariate_levels(column, values)
        notes += level_notes
        if len(levels) < 2:
            notes.append(f"{column} has a single level in the data ({levels[0]!r}); "
                         f"it is left out of the propensity model.")
            continue
        used.append(column)
        notes += _separation_notes(column, values, levels, treated, (control_level, treated_level))
        for level in levels[1:]:
            columns.append(values.mask(level).astype(float))
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
