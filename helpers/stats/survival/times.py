r"""Survival times as R's ``survival`` reads them: complete cases, near ties merged.

========================================  ===============================================
here                                      R
========================================  ===============================================
``fix_near_ties(t)``                      ``aeqSurv`` (``timefix = TRUE``)
========================================  ===============================================

Rows with a missing time or event are dropped, as R's default ``na.action``
does. Times that differ by less than :math:`\sqrt{\epsilon}` are treated as
tied, as R's ``timefix = TRUE`` (``aeqSurv``) does, so that e.g. 365 days
computed along two float paths is one time point.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

#: ``aeqSurv``'s tolerance: sqrt(.Machine$double.eps).
TIME_TIE_TOLERANCE: float = math.sqrt(float(np.finfo(float).eps))


def fix_near_ties(time: np.ndarray, tolerance: float = TIME_TIE_TOLERANCE) -> np.ndarray:
    r"""Merge times that differ only by floating-point noise (R's ``aeqSurv``).

    Sorted distinct times :math:`y_1 < y_2 < \dots` are tied to their
    predecessor when :math:`y_{k+1} - y_k \le \text{tol}` or
    :math:`(y_{k+1} - y_k) / \overline{|y|} \le \text{tol}`; each time is
    then replaced by the first time of its run.

    Examples
    --------
    >>> fix_near_ties(np.array([1.0, 1.0 + 1e-12, 2.0])).tolist()
    [1.0, 1.0, 2.0]
    """
    time = np.asarray(time, dtype=float)
    y = np.unique(time[np.isfinite(time)])
    if y.size < 2:
        return time
    dy = np.diff(y)
    tied = (dy <= tolerance) | (dy / np.mean(np.abs(y)) <= tolerance)
    if not tied.any():
        return time
    cuts = y[np.concatenate([[True], ~tied])]
    out = time.copy()
    ok = np.isfinite(time)
    out[ok] = cuts[np.searchsorted(cuts, time[ok], side="right") - 1]
    return out


def _clean_time_event(time, event) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Float times, 0/1 events, and the mask of kept (complete) rows."""
    t = np.asarray(time, dtype=float).ravel()
    raw = np.asarray(event)
    if raw.dtype.kind in "biuf":  # numbers already (0/1 columns): what to_numeric would give, without objects
        e = raw.astype(float).ravel()
    else:
        e = pd.to_numeric(pd.Series(np.asarray(event, dtype=object).ravel()), errors="coerce").to_numpy(float)
    if t.shape != e.shape:
        raise ValueError(f"time and event differ in length ({t.size} vs {e.size})")
    keep = ~(np.isnan(t) | np.isnan(e))
    t, e = t[keep], e[keep]
    if np.any(t < 0) or not np.all(np.isfinite(t)):
        raise ValueError("survival times must be finite and >= 0")
    if not np.all(np.isin(e, (0.0, 1.0))):
        raise ValueError("event must be coded 1 (event) / 0 (censored)")
    return fix_near_ties(t), e, keep
