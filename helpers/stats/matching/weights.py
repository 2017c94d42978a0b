r"""Matching weights, as R MatchIt attaches them to the matched data (``m$weights``, ``match.data()$weights``).

==============================================  ======================================================
here                                            R (MatchIt 4.5.1)
==============================================  ======================================================
``matching_weights(is_treated, match_id)``      ``matchit(..., method = "nearest", replace = FALSE)$weights``
                                                (estimand ATT)
==============================================  ======================================================

For 1:k matching without replacement and the ATT, MatchIt gives every
matched treated patient weight 1 and every unmatched patient weight 0. A
matched control in a set with :math:`k_s` controls (one treated patient)
first gets :math:`1/k_s`; the control weights are then scaled to sum to the
number of matched controls :math:`n_c`:

.. math:: w_j = \frac{1}{k_{s(j)}} \cdot \frac{n_c}{\sum_{s} k_s \cdot (1/k_s)}
          = \frac{1}{k_{s(j)}} \cdot \frac{n_c}{S}

with :math:`S` the number of matched sets. When every set is full the
controls all weigh 1; a control that is the only control of its treated
patient weighs twice as much as one of two. Weighted analyses of the
matched cohort (e.g. ``coxph(..., weights = weights, cluster = subclass)``)
use these weights; the matched set (``match_id``) is MatchIt's ``subclass``.

Examples
--------
>>> matching_weights([1, 0, 0, 1, 0, 0], ["a", "a", "a", "d", "d", None]).tolist()   # sets of 2 and 1
[1.0, 0.75, 0.75, 1.0, 1.5, 0.0]
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def matching_weights(is_treated: Sequence[bool] | np.ndarray, match_id: Sequence[object] | pd.Series) -> np.ndarray:
    """MatchIt's ATT matching weights for matching without replacement (see the module docstring).

    Parameters
    ----------
    is_treated : array-like of bool
        Treated (True) or control (False), one per patient.
    match_id : array-like
        The matched set of each patient (the treated patient's id), missing if unmatched.

    Returns
    -------
    numpy.ndarray of float
        1 for matched treated patients, the scaled :math:`1/k_s` for matched controls, 0 if unmatched.
    """
    treated = np.asarray(is_treated).astype(bool)
    arraylike = (pd.Series, pd.Index, np.ndarray, pd.api.extensions.ExtensionArray)
    values = match_id if isinstance(match_id, arraylike) else np.asarray(list(match_id), dtype=object)
    sets = pd.factorize(values)[0]  # the matched set's number; -1 if missing (unmatched)
    matched = sets >= 0
    weights = np.zeros(len(treated), dtype=float)
    weights[matched & treated] = 1.0
    controls = matched & ~treated
    if controls.any():
        per_set = np.bincount(sets[controls])[sets[controls]]  # the controls of each control's set
        raw = 1.0 / per_set.astype(float)
        weights[controls] = raw * controls.sum() / raw.sum()
    return weights
