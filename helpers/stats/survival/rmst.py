r"""Restricted mean survival time (RMST): the area under the Kaplan-Meier curve up to :math:`\tau`.

========================================  ===============================================
here                                      R (survival 3.x)
========================================  ===============================================
``rmst(t, e, tau)``                       ``print(survfit(Surv(t, e) ~ 1), rmean = tau)``
                                          (``*rmean``, ``*se(rmean)``)
``rmst_difference(t, e, g, tau, arms)``   the same per arm; difference and its normal CI
========================================  ===============================================

.. math::

    \mathrm{RMST}(\tau) = \int_0^\tau \hat S(t)\,dt, \qquad
    \widehat{\mathrm{Var}} = \sum_{t_j \le \tau} A_j^2 \frac{d_j}{n_j (n_j - d_j)}, \quad
    A_j = \int_{t_j}^{\tau} \hat S(t)\,dt,

over the distinct times :math:`t_j` with :math:`n_j` at risk and :math:`d_j`
events (a term with :math:`n_j = d_j` counts 0, as in R). The difference of
two arms' RMST has variance the sum of theirs (independent arms) and a Wald
CI. RMST is read in months: "on average, over the first :math:`\tau`
months, patients lived this long". It needs no proportional hazards.

Where :math:`\tau` is beyond an arm's last follow-up time the curve would
have to be carried flat past the data (R does so silently): that arm's RMST
is reported as not estimable, with the reason.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from helpers.stats.survival.km import _z, kaplan_meier
from helpers.stats.survival.times import _clean_time_event


@dataclass(frozen=True)
class Rmst:
    """One arm's RMST up to ``tau`` with its standard error; NaN with ``note`` when not estimable."""

    tau: float
    rmst: float
    se: float
    n: int
    note: str = ""


def rmst(time, event, tau: float) -> Rmst:
    """RMST up to ``tau`` and its standard error, as R's ``print(survfit(...), rmean = tau)``.

    Examples
    --------
    R's ``aml``, maintained arm: ``print(survfit(Surv(time, status) ~ 1, data = aml[aml$x == "Maintained", ]),
    rmean = 40)`` gives rmean 28.8977, se(rmean) 3.46758.

    >>> r = rmst([9, 13, 13, 18, 23, 28, 31, 34, 45, 48, 161], [1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0], 40)
    >>> round(r.rmst, 4), round(r.se, 4)
    (28.8977, 3.4676)
    """
    t, e, _ = _clean_time_event(time, event)
    if t.size == 0:
        return Rmst(tau, math.nan, math.nan, 0, "no patients")
    if not tau > 0:
        raise ValueError(f"tau must be > 0 months; found {tau!r}")
    if tau > t.max():
        return Rmst(tau, math.nan, math.nan, int(t.size),
                    f"tau = {tau:g} months is beyond the last follow-up ({t.max():.1f} months)")
    km = kaplan_meier(t, e)
    keep = km["time"].to_numpy() <= tau
    times = km["time"].to_numpy()[keep]
    surv = km["survival"].to_numpy()[keep]
    n, d = km["n_at_risk"].to_numpy(float)[keep], km["n_event"].to_numpy(float)[keep]
    with np.errstate(divide="ignore", invalid="ignore"):
        hh = np.where(n - d == 0, 0.0, d / (n * (n - d)))
    edges = np.concatenate([[0.0], times, [tau]])
    heights = np.concatenate([[1.0], surv])
    rect = np.diff(edges) * heights                # area of each step, from 0 to tau
    after = np.cumsum(rect[::-1])[::-1][1:]        # A_j: area from t_j to tau
    return Rmst(tau, float(rect.sum()), float(math.sqrt(np.sum(after ** 2 * hh))), int(t.size))


RMST_COLUMNS = ("arm", "tau", "rmst", "se", "ci_lower", "ci_upper", "p_value", "n", "note")


def rmst_difference(time, event, group, tau: float, arms: Sequence[str], conf_level: float = 0.95) -> pd.DataFrame:
    """Each arm's RMST (with its Wald CI) and the difference ``arms[1] - arms[0]`` with CI and p.

    Returns
    -------
    pandas.DataFrame
        :data:`RMST_COLUMNS`: one row per arm, then a row ``arm = "difference"``
        (``rmst`` the difference in months, ``se``, ``ci_lower``, ``ci_upper``,
        two-sided Wald ``p_value``). An arm that is not estimable makes the
        difference not estimable too, with the same reason.
    """
    z = _z(conf_level)
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=float)
    g = np.asarray(group, dtype=object)
    rows = []
    per_arm = []
    for arm in arms:
        r = rmst(t[g == arm], e[g == arm], tau)
        per_arm.append(r)
        rows.append(dict(arm=arm, tau=tau, rmst=r.rmst, se=r.se, ci_lower=r.rmst - z * r.se,
                         ci_upper=r.rmst + z * r.se, p_value=math.nan, n=r.n, note=r.note))
    a, b = per_arm
    diff, se = b.rmst - a.rmst, math.sqrt(a.se ** 2 + b.se ** 2)
    note = "; ".join(f"{arm}: {r.note}" for arm, r in zip(arms, per_arm) if r.note)
    p = float(2 * stats.norm.sf(abs(diff / se))) if se > 0 else math.nan
    rows.append(dict(arm="difference", tau=tau, rmst=diff, se=se, ci_lower=diff - z * se, ci_upper=diff + z * se,
                     p_value=p, n=a.n + b.n, note=note))
    return pd.DataFrame(rows, columns=list(RMST_COLUMNS))
