r"""Competing risks: the cumulative incidence of one event when another (death) can come first.

Status is coded 0 = censored, 1 = the event of interest (local failure), 2 = the competing event (death
without local failure before it).

==============================================  ====================================================================
here                                            R (survival 3.5, cmprsk 2.2)
==============================================  ====================================================================
``cumulative_incidence(t, s)``                  ``survfit(Surv(t, factor(s, 0:2, c("censor", "lf", "death"))) ~ 1)``
                                                (Aalen-Johansen ``pstate``, infinitesimal-jackknife ``std.err``,
                                                ``conf.type = "log"``)
``cif_at(t, s, [12, 36, 60])``                  ``summary(fit, times = c(12, 36, 60))``
``gray_test(t, s, g)``                          ``cmprsk::cuminc(t, s, g)$Tests[1, ]`` (Gray's test, ``rho = 0``)
``fine_gray(t, s, x)``                          ``cmprsk::crr(t, s, cov1 = x)`` (coefficients, ``var``)
``fine_gray_arm(t, s, g, arms)``                the same with ``cov1 = (g == arms[1])``: the subdistribution HR
==============================================  ====================================================================

**Cumulative incidence** (Aalen-Johansen). With :math:`n_j` at risk, :math:`d_{1j}` events of interest and
:math:`d_{2j}` competing events at the distinct times :math:`t_j`, and :math:`\hat S` the Kaplan-Meier curve
of either event,

.. math::

    \hat F_1(t) = \sum_{t_j \le t} \hat S(t_{j-1}) \frac{d_{1j}}{n_j}.

Its standard error is R's: the infinitesimal jackknife :math:`\sqrt{\sum_i U_i(t)^2}`, with :math:`U_i` the
derivative of :math:`\hat F_1(t)` with respect to patient :math:`i`'s case weight, computed by the recursion
:math:`U^{(1)}_i(t_j) = U^{(1)}_i(t_{j-1}) + U^{(0)}_i(t_{j-1}) d_{1j}/n_j + \hat S(t_{j-1})\,
\partial(d_{1j}/n_j)/\partial w_i`, :math:`\partial(d_{kj}/n_j)/\partial w_i = (dN_{ik}(t_j) - Y_i(t_j)
d_{kj}/n_j)/n_j` (and the same for :math:`\hat S = U^{(0)}`). One minus the Kaplan-Meier curve that censors
the competing event overstates :math:`F_1` whenever competing events occur: it counts the dead as if they could
still fail.

**Gray's test** (Gray 1988) compares the arms' subdistribution hazards of the event of interest,
:math:`\sum_t \{d_{1g}(t) - d_1(t) R_g(t) / R(t)\}` with :math:`R_g(t) = n_g(t)\{1 - \hat F_{1g}(t-)\}/\hat
S_g(t-)`; its variance is Gray's, as ``cmprsk``'s Fortran ``crstm`` computes it (ported line by line).

**Fine-Gray regression** (Fine & Gray 1999) is a proportional-hazards model of the subdistribution hazard:
at each time :math:`\tau` of an event of interest, the risk set keeps the patients who already had the
competing event, weighted by :math:`\hat G(\tau-)/\hat G(T_j-)` (:math:`\hat G` the Kaplan-Meier curve of
censoring), Breslow ties. The coefficient is found by ``crr``'s Newton-Raphson with step halving (``gtol =
1e-6``, ``maxiter = 10``); its variance is ``crr``'s sandwich :math:`I^{-1} \sum_i (\eta_i + \psi_i)^{\otimes
2} I^{-1}`, where :math:`\psi_i` accounts for estimating :math:`\hat G`. (``survival::finegray`` + a weighted
``coxph`` gives nearly the same coefficient but a robust variance without the :math:`\psi` term.)

Nothing raises on degenerate data: with no events of interest, a single arm, or an arm without events of
interest, the estimate is NaN and ``note`` says why.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from helpers.stats.survival.km import _z, survival_confint
from helpers.stats.survival.times import fix_near_ties

#: Status codes.
CENSORED, EVENT, COMPETING = 0, 1, 2

CIF_COLUMNS: tuple[str, ...] = ("time", "n_at_risk", "n_event", "n_competing", "n_censor", "cif", "se", "ci_lower",
                                "ci_upper", "cif_competing", "se_competing")


def _clean_time_status(time, status, *others) -> tuple[np.ndarray, ...]:
    """Float times (near ties merged), integer 0/1/2 status and the other columns, complete rows only."""
    t = np.asarray(time, dtype=float).ravel()
    s = pd.to_numeric(pd.Series(np.asarray(status, dtype=object).ravel()), errors="coerce").to_numpy(float)
    if t.shape != s.shape:
        raise ValueError(f"time and status differ in length ({t.size} vs {s.size})")
    rest = [pd.Series(np.asarray(o, dtype=object).ravel()) for o in others]
    keep = ~(np.isnan(t) | np.isnan(s))
    for o in rest:
        keep &= ~o.isna().to_numpy()
    t, s = t[keep], s[keep]
    if np.any(t < 0) or not np.all(np.isfinite(t)):
        raise ValueError("survival times must be finite and >= 0")
    if not np.all(np.isin(s, (CENSORED, EVENT, COMPETING))):
        raise ValueError("status must be coded 0 (censored), 1 (event of interest) or 2 (competing event)")
    return (fix_near_ties(t), s.astype(int), *(o.to_numpy()[keep] for o in rest))


def cumulative_incidence(time, status, conf_level: float = 0.95) -> pd.DataFrame:
    r"""Aalen-Johansen cumulative incidence of the event of interest and of the competing event.

    One row per distinct time, as R's ``survfit`` with a factor status (``pstate[, 2]`` and ``[, 3]``);
    ``se`` is R's ``std.err`` (infinitesimal jackknife) and the interval is R's default, on the log scale
    (:func:`helpers.stats.survival.survival_confint` with ``conf_type = "log"``). NaN where the incidence is 0.

    Parameters
    ----------
    time, status : array-like
        Follow-up time and status (0 censored, 1 event of interest, 2 competing event).
    conf_level : float
        Coverage of the pointwise interval.

    Returns
    -------
    pandas.DataFrame
        :data:`CIF_COLUMNS`.

    Examples
    --------
    R: ``f <- survfit(Surv(c(1, 2, 2, 3, 4), factor(c(1, 2, 0, 1, 0), 0:2)) ~ 1)``; ``f$pstate[, 2]`` is
    0.2 0.2 0.5 0.5, ``f$pstate[, 3]`` 0 0.2 0.2 0.2 and ``f$std.err[, 2]`` 0.1788854 0.1788854 0.2549510
    0.2549510.

    >>> cif = cumulative_incidence([1, 2, 2, 3, 4], [1, 2, 0, 1, 0])
    >>> cif["cif"].tolist(), cif["cif_competing"].tolist(), cif["se"].round(7).tolist()
    ([0.2, 0.2, 0.5, 0.5], [0.0, 0.2, 0.2, 0.2], [0.1788854, 0.1788854, 0.254951, 0.254951])
    """
    t, s = _clean_time_status(time, status)
    if t.size == 0:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in CIF_COLUMNS})
    times, at_time = np.unique(t, return_inverse=True)
    # Patients with the same time and status have the same influence at every step: one entry per
    # (time, status) with its number of patients m, so each step costs the distinct pairs, not the patients.
    pairs, m = np.unique(at_time * 3 + s, return_counts=True)
    t, s, m = times[pairs // 3], pairs % 3, m.astype(float)
    n = t.size
    u_free, u1, u2 = np.zeros(n), np.zeros(n), np.zeros(n)   # influence on S, F1, F2
    surv, f1, f2 = 1.0, 0.0, 0.0
    rows = []
    for tj in times:
        at_risk = t >= tj
        now = t == tj
        nj = float(m[at_risk].sum())
        dn1, dn2 = (now & (s == EVENT)).astype(float), (now & (s == COMPETING)).astype(float)
        d1, d2 = float(m @ dn1), float(m @ dn2)
        h1, h2 = d1 / nj, d2 / nj
        dh1, dh2 = (dn1 - at_risk * h1) / nj, (dn2 - at_risk * h2) / nj
        u1, u2, u_free = (u1 + u_free * h1 + surv * dh1, u2 + u_free * h2 + surv * dh2,
                          u_free * (1 - h1 - h2) - surv * (dh1 + dh2))
        f1, f2, surv = f1 + surv * h1, f2 + surv * h2, surv * (1 - h1 - h2)
        rows.append((tj, nj, d1, d2, float(m[now].sum()) - d1 - d2, f1,
                     math.sqrt(float((m * u1) @ u1)), f2, math.sqrt(float((m * u2) @ u2))))
    out = pd.DataFrame(rows, columns=["time", "n_at_risk", "n_event", "n_competing", "n_censor", "cif", "se",
                                      "cif_competing", "se_competing"])
    with np.errstate(divide="ignore", invalid="ignore"):
        lower, upper = survival_confint(out["cif"].to_numpy(), out["se"].to_numpy() / out["cif"].to_numpy(),
                                        conf_level, "log")
    out["ci_lower"], out["ci_upper"] = lower, upper
    for c in ("n_at_risk", "n_event", "n_competing", "n_censor"):
        out[c] = out[c].astype(int)
    return out[list(CIF_COLUMNS)]


def cif_at(time, status, months: Sequence[float], conf_level: float = 0.95) -> pd.DataFrame:
    """The cumulative incidence at given times, as R's ``summary(fit, times = months)``.

    The value at the last time at or before each month (0 before the first event); ``n_at_risk`` is the number
    followed at least that long. A time beyond the last follow-up is NaN with ``note`` saying so (R drops it).

    Returns
    -------
    pandas.DataFrame
        ``months, n_at_risk, cif, se, ci_lower, ci_upper, cif_competing, note``.

    Examples
    --------
    >>> cif_at([1, 2, 2, 3, 4], [1, 2, 0, 1, 0], [2.5, 9])[["months", "n_at_risk", "cif"]].round(2).values.tolist()
    [[2.5, 2.0, 0.2], [9.0, 0.0, nan]]
    """
    table = cumulative_incidence(time, status, conf_level)
    req = np.sort(np.asarray(list(months), dtype=float))
    grid = table["time"].to_numpy()
    last = grid[-1] if grid.size else -math.inf
    rows = []
    for m in req:
        k = int(np.searchsorted(grid, m, side="right")) - 1
        at_risk = int(table["n_at_risk"].to_numpy()[np.searchsorted(grid, m, side="left")]) if m <= last else 0
        if m > last:
            note = "no patients" if not grid.size else f"beyond the last follow-up ({last:.1f} months)"
            rows.append(dict(months=m, n_at_risk=at_risk, cif=math.nan, se=math.nan, ci_lower=math.nan,
                             ci_upper=math.nan, cif_competing=math.nan, note=note))
        elif k < 0:
            rows.append(dict(months=m, n_at_risk=at_risk, cif=0.0, se=0.0, ci_lower=math.nan, ci_upper=math.nan,
                             cif_competing=0.0, note=""))
        else:
            r = table.iloc[k]
            rows.append(dict(months=m, n_at_risk=at_risk, cif=r["cif"], se=r["se"], ci_lower=r["ci_lower"],
                             ci_upper=r["ci_upper"], cif_competing=r["cif_competing"], note=""))
    return pd.DataFrame(rows, columns=["months", "n_at_risk", "cif", "se", "ci_lower", "ci_upper", "cif_competing",
                                       "note"])


def _levels(g: np.ndarray, order: Sequence | None) -> list:
    present = list(pd.unique(g))
    if order is None:
        return sorted(present, key=str)
    return [lv for lv in order if lv in present] + sorted((lv for lv in present if lv not in order), key=str)


@dataclass(frozen=True)
class GrayResult:
    """Gray's test of equal cumulative incidence across groups; NaN with ``note`` when there is no test."""

    stat: float
    df: int
    p_value: float
    groups: tuple = ()
    score: tuple = ()
    note: str = ""


def _gray_scores(y: np.ndarray, m: np.ndarray, ig: np.ndarray, ng: int, rho: float
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Scores and variance of the first ``ng - 1`` groups (cmprsk's Fortran ``crst``, one stratum, y sorted)."""
    ng1 = ng - 1
    rs = np.bincount(ig, minlength=ng).astype(float)
    s, v = np.zeros(ng1), np.zeros((ng1, ng1))
    f1m, f1, skmm, skm = np.zeros(ng), np.zeros(ng), np.ones(ng), np.ones(ng)
    v3, v2, c = np.zeros(ng), np.zeros((ng1, ng)), np.zeros((ng, ng))
    fm = f = 0.0
    times, starts = np.unique(y, return_index=True)
    ends = np.append(starts[1:], y.size)
    for ll, lu in zip(starts, ends):
        d = np.zeros((3, ng))
        np.add.at(d, (m[ll:lu], ig[ll:lu]), 1.0)
        nd1, nd2 = d[1].sum(), d[2].sum()
        if nd1 or nd2:
            tr = tq = 0.0
            for i in range(ng):
                if rs[i] <= 0:
                    continue
                skm[i] = skmm[i] * (rs[i] - d[1, i] - d[2, i]) / rs[i]
                f1[i] = f1m[i] + skmm[i] * d[1, i] / rs[i]
                tr += rs[i] / skmm[i]
                tq += rs[i] * (1 - f1m[i]) / skmm[i]
            f = fm + nd1 / tr
            fb = (1 - fm) ** rho
            a = np.zeros((ng, ng))
            for i in range(ng):
                if rs[i] <= 0:
                    continue
                t1 = rs[i] / skmm[i]
                a[i, i] = fb * t1 * (1 - t1 / tr)
                if a[i, i] != 0:
                    c[i, i] += a[i, i] * nd1 / (tr * (1 - fm))
                for j in range(i + 1, ng):
                    if rs[j] <= 0:
                        continue
                    a[i, j] = -fb * t1 * rs[j] / (skmm[j] * tr)
                    if a[i, j] != 0:
                        c[i, j] += a[i, j] * nd1 / (tr * (1 - fm))
            il = np.tril_indices(ng, -1)
            a[il], c[il] = a.T[il], c.T[il]
            for i in range(ng1):
                if rs[i] > 0:
                    s[i] += fb * (d[1, i] - nd1 * rs[i] * (1 - f1m[i]) / (skmm[i] * tq))
            if nd1 > 0:
                for k in range(ng):
                    if rs[k] <= 0:
                        continue
                    t4 = 1 - (1 - f) / skm[k] if skm[k] > 0 else 1.0
                    t5 = 1 - (nd1 - 1) / (tr * skmm[k] - 1) if nd1 > 1 else 1.0
                    t3 = t5 * skmm[k] * nd1 / (tr * rs[k])
                    v3[k] += t4 * t4 * t3
                    t1 = a[:ng1, k] - t4 * c[:ng1, k]
                    v2[:, k] += t1 * t4 * t3
                    v += np.outer(t1, t1) * t3
            if nd2 > 0:
                for k in range(ng):
                    if skm[k] <= 0 or d[2, k] <= 0:
                        continue
                    t4 = (1 - f) / skm[k]
                    t5 = 1 - (d[2, k] - 1) / (rs[k] - 1) if d[2, k] > 1 else 1.0
                    t3 = t5 * skmm[k] ** 2 * d[2, k] / rs[k] ** 2
                    v3[k] += t4 * t4 * t3
                    t1 = t4 * c[:ng1, k]
                    v2[:, k] -= t1 * t4 * t3
                    v += np.outer(t1, t1) * t3
        np.subtract.at(rs, ig[ll:lu], 1.0)
        fm = f
        f1m, skmm = f1.copy(), skm.copy()
    cc = c[:ng1]
    v += (cc * v3) @ cc.T + cc @ v2.T + v2 @ cc.T
    return s, v


def gray_test(time, status, group, group_order: Sequence | None = None, rho: float = 0.0) -> GrayResult:
    r"""Gray's k-sample test of equal cumulative incidence of the event of interest (R ``cmprsk::cuminc``).

    :math:`\chi^2 = s^\top V^{-1} s` on (number of groups - 1) degrees of freedom, with :math:`s` the scores
    of all groups but the last and :math:`V` their variance (Gray 1988), weight :math:`(1 - \hat F_1(t-))^\rho`
    (``rho = 0``: the log-rank-like weight, cmprsk's default).

    Parameters
    ----------
    time, status, group : array-like
        Status 0 censored, 1 event of interest, 2 competing event.
    group_order : sequence, optional
        Order of the groups (default sorted, as R's factor); the statistic does not depend on it.
    rho : float
        Power of the weight function.

    Examples
    --------
    R: ``cuminc(1:8, c(1, 1, 2, 0, 1, 2, 2, 0), rep(c("A", "B"), each = 4))$Tests[1, ]`` gives stat
    2.3022605143, pv 0.1291858668, df 1.

    >>> r = gray_test([1, 2, 3, 4, 5, 6, 7, 8], [1, 1, 2, 0, 1, 2, 2, 0], list("AAAABBBB"))
    >>> round(r.stat, 10), round(r.p_value, 10), r.df
    (2.3022605143, 0.1291858668, 1)
    """
    t, s, g = _clean_time_status(time, status, group)
    levels = _levels(g, group_order)
    k = len(levels)
    if k < 2:
        return GrayResult(math.nan, 0, math.nan, tuple(levels), note="fewer than two groups: no test")
    if not np.any(s == EVENT):
        return GrayResult(math.nan, k - 1, math.nan, tuple(levels), note="no events of interest: no test")
    order = np.argsort(t, kind="stable")
    code = np.array([levels.index(v) for v in g], dtype=int)
    score, var = _gray_scores(t[order], s[order], code[order], k, rho)
    if np.linalg.matrix_rank(var) < k - 1:
        return GrayResult(math.nan, k - 1, math.nan, tuple(levels), tuple(score), "singular variance: no test")
    stat = float(score @ np.linalg.solve(var, score))
    return GrayResult(stat, k - 1, float(stats.chi2.sf(stat, k - 1)), tuple(levels), tuple(score))


@dataclass(frozen=True)
class FineGrayResult:
    """A Fine-Gray fit: coefficients, their variance (crr's ``var``) and convergence; NaN with ``note``."""

    coef: np.ndarray
    var: np.ndarray
    n: int
    n_events: int
    converged: bool
    iterations: int
    note: str = ""
    se: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "se", np.sqrt(np.diag(self.var)))


def _censoring_km_left(t: np.ndarray, s: np.ndarray) -> np.ndarray:
    """:math:`\\hat G(T_i-)`: the Kaplan-Meier curve of censoring just before each time (crr's ``uuu``)."""
    times, idx = np.unique(t, return_inverse=True)
    n_at = np.cumsum(np.bincount(idx, minlength=times.size)[::-1])[::-1].astype(float)
    cens = np.bincount(idx, weights=(s == CENSORED).astype(float), minlength=times.size)
    g = np.cumprod(1 - cens / n_at)
    return np.concatenate([[1.0], g[:-1]])[idx]


class _FineGray:
    """Risk-set weights of crr at the distinct times of the event of interest, and the partial likelihood."""

    def __init__(self, t: np.ndarray, s: np.ndarray, x: np.ndarray) -> None:
        self.t, self.s, self.x = t, s, x
        self.tau, self.d = np.unique(t[s == EVENT], return_counts=True)
        g = _censoring_km_left(t, s)
        g_tau = g[[np.flatnonzero(t == tk)[0] for tk in self.tau]]    # G(tau-): tau is a patient's time
        at_risk = t[None, :] >= self.tau[:, None]
        had_competing = (t[None, :] < self.tau[:, None]) & (s == COMPETING)[None, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            self.w = np.where(at_risk, 1.0, np.where(had_competing, g_tau[:, None] / g[None, :], 0.0))
        self.sum_x = np.array([x[(t == tk) & (s == EVENT)].sum(axis=0) for tk in self.tau]).reshape(-1, x.shape[1])

    def moments(self, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        r = self.w * np.exp(self.x @ b)[None, :]                      # K x n
        s0 = r.sum(axis=1)
        s1 = r @ self.x                                               # K x p
        s2 = np.einsum("kn,np,nq->kpq", r, self.x, self.x)
        return s0, s1, s2

    def loglik(self, b: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """crr's ``crrfsv``: minus the log partial likelihood, its gradient and its Hessian."""
        s0, s1, s2 = self.moments(b)
        xbar = s1 / s0[:, None]
        lik = float(-(self.sum_x @ b).sum() + (self.d * np.log(s0)).sum())
        grad = -self.sum_x.sum(axis=0) + (self.d[:, None] * xbar).sum(axis=0)
        hess = np.einsum("k,kpq->pq", self.d, s2 / s0[:, None, None] - np.einsum("kp,kq->kpq", xbar, xbar))
        return lik, grad, hess

    def sandwich(self, b: np.ndarray, info: np.ndarray) -> np.ndarray:
        """crr's ``crrvv``: :math:`I^{-1} \\sum_i (\\eta_i + \\psi_i)^{\\otimes 2} I^{-1}`."""
        t, s, x = self.t, self.s, self.x
        s0, s1, _ = self.moments(b)
        xbar = s1 / s0[:, None]
        risk = np.exp(x @ b)
        # eta: the score residual of each patient
        k_of = np.searchsorted(self.tau, t)
        failed = s == EVENT
        eta = np.zeros_like(x)
        eta[failed] = x[failed] - xbar[k_of[failed]]
        coef = self.w * (self.d / s0)[:, None] * risk[None, :]        # K x n
        eta -= coef.sum(axis=0)[:, None] * x - coef.T @ xbar
        # psi: estimating the censoring distribution. q(c) = sum over event times tau_k >= c and competing
        # events before c of coef * (x_j - xbar_k); a suffix (in k) / prefix (in j) double cumulative sum.
        comp = np.flatnonzero(s == COMPETING)
        comp = comp[np.argsort(t[comp], kind="stable")]
        b3 = coef[:, comp][:, :, None] * (x[comp][None, :, :] - xbar[:, None, :])   # K x n2 x p
        cum = np.cumsum(b3[::-1], axis=0)[::-1]                        # suffix sums over k
        cum = np.concatenate([np.zeros((cum.shape[0], 1, x.shape[1])), np.cumsum(cum, axis=1)], axis=1)
        cum = np.concatenate([cum, np.zeros((1, *cum.shape[1:]))], axis=0)
        times, idx = np.unique(t, return_inverse=True)
        n_at = np.cumsum(np.bincount(idx, minlength=times.size)[::-1])[::-1].astype(float)
        n_cens = np.bincount(idx, weights=(s == CENSORED).astype(float), minlength=times.size)
        q = cum[np.searchsorted(self.tau, times, side="left"), np.searchsorted(t[comp], times, side="left")]
        q = np.where(n_cens[:, None] > 0, q, 0.0)
        compensator = np.cumsum(n_cens[:, None] * q / n_at[:, None] ** 2, axis=0)
        psi = -compensator[idx] + np.where(s == CENSORED, 1.0, 0.0)[:, None] * (q / n_at[:, None])[idx]
        u = eta + psi
        h = np.linalg.inv(info)
        return h @ (u.T @ u) @ h.T


def fine_gray(time, status, x, gtol: float = 1e-6, maxiter: int = 10) -> FineGrayResult:
    r"""Fine-Gray proportional subdistribution hazards regression, as R's ``cmprsk::crr(time, status, x)``.

    Parameters
    ----------
    time, status : array-like
        Status 0 censored, 1 event of interest, 2 competing event.
    x : array-like, shape (n,) or (n, p)
        Fixed covariates (``cov1``).
    gtol, maxiter
        crr's convergence settings: stop when :math:`\max_j |g_j| \max(|b_j|, 1) < \max(|\ell|, 1)\,`gtol.

    Returns
    -------
    FineGrayResult
        ``coef``, ``var`` and ``se`` (crr's sandwich), ``converged``; NaN with ``note`` when there are no
        events of interest or the information is singular.

    Examples
    --------
    R: ``f <- crr(1:8, c(1, 1, 2, 0, 1, 2, 2, 0), cov1 = rep(0:1, each = 4))``; ``f$coef`` -1.3956526263,
    ``sqrt(f$var)`` 0.9614326022.

    >>> r = fine_gray([1, 2, 3, 4, 5, 6, 7, 8], [1, 1, 2, 0, 1, 2, 2, 0], [0, 0, 0, 0, 1, 1, 1, 1])
    >>> round(float(r.coef[0]), 10), round(float(r.se[0]), 10), r.converged
    (-1.3956526263, 0.9614326022, True)
    """
    xm = np.asarray(x, dtype=float)
    xm = xm.reshape(len(xm), -1)
    t, s, *cols = _clean_time_status(time, status, *xm.T)
    xm = np.column_stack(cols).astype(float) if cols else np.zeros((t.size, 0))
    p = xm.shape[1]
    nan = FineGrayResult(np.full(p, np.nan), np.full((p, p), np.nan), int(t.size), int(np.sum(s == EVENT)),
                         False, 0)
    if not np.any(s == EVENT):
        return FineGrayResult(nan.coef, nan.var, nan.n, 0, False, 0, "no events of interest")
    model = _FineGray(t, s, xm)
    b = np.zeros(p)
    converged, it = False, 0
    for it in range(maxiter + 1):
        lik, grad, hess = model.loglik(b)
        if np.max(np.abs(grad) * np.maximum(np.abs(b), 1)) < max(abs(lik), 1) * gtol:
            converged = True
            break
        if it == maxiter:
            break
        try:
            step = -np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            return FineGrayResult(nan.coef, nan.var, nan.n, nan.n_events, False, it, "singular information")
        halvings = 0
        new = model.loglik(b + step)[0]
        while not np.isfinite(new) or new > lik + 1e-4 * float(step @ grad):
            halvings += 1
            step = step * 0.5
            new = model.loglik(b + step)[0]
            if halvings > 20:
                break
        if halvings > 20:
            break
        b = b + step
    info = model.loglik(b)[2]
    if np.linalg.matrix_rank(info) < p:
        return FineGrayResult(nan.coef, nan.var, nan.n, nan.n_events, False, it, "singular information")
    note = "" if converged else f"did not converge in {maxiter} iterations"
    return FineGrayResult(b, model.sandwich(b, info), nan.n, nan.n_events, converged, it, note)


FINE_GRAY_COLUMNS = ("shr", "ci_lower", "ci_upper", "p_value", "coef", "se", "n", "n_events", "note")


def fine_gray_arm(time, status, group, arms: Sequence[str], conf_level: float = 0.95) -> dict[str, object]:
    """The subdistribution hazard ratio of ``arms[1]`` vs ``arms[0]`` (R ``crr(t, s, cov1 = g == arms[1])``).

    Returns
    -------
    dict
        :data:`FINE_GRAY_COLUMNS`: ``shr`` with its Wald CI (``exp(coef +- z se)``) and p, the coefficient and
        its standard error, patients and events of interest; NaN with ``note`` when an arm is empty or has no
        event of interest (the subdistribution HR would be 0 or infinite), or the fit does not converge.
    """
    t, s, g = _clean_time_status(time, status, group)
    out = dict(shr=math.nan, ci_lower=math.nan, ci_upper=math.nan, p_value=math.nan, coef=math.nan, se=math.nan,
               n=int(t.size), n_events=int(np.sum(s == EVENT)), note="")
    empty = [a for a in arms if not np.any(g == a)]
    without = [a for a in arms if a not in empty and not np.any((g == a) & (s == EVENT))]
    if empty or without:
        out["note"] = "; ".join([f"no patients in {a}" for a in empty] + [f"no events in {a}" for a in without])
        return out
    keep = np.isin(g, list(arms))
    res = fine_gray(t[keep], s[keep], (g[keep] == arms[1]).astype(float))
    if res.note:
        out["note"] = res.note
        return out
    z = _z(conf_level)
    coef, se = float(res.coef[0]), float(res.se[0])
    out.update(shr=math.exp(coef), ci_lower=math.exp(coef - z * se), ci_upper=math.exp(coef + z * se),
               p_value=float(2 * stats.norm.sf(abs(coef / se))), coef=coef, se=se)
    return out
