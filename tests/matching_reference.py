"""The matching as it was before the "next free" links: MatchIt 4.5.1's scans, one control at a time.

The reference for ``helpers.stats.matching.nearest_caliper_match_rows`` (``tests/test_matching_fast.py``):
a line-for-line port of MatchIt 4.5.1 ``src/nn_matchC_vec.cpp`` (``replace = FALSE``, no exact
constraints) that walks over every taken control. Its tie and order rules are those written in
``match_nearest_caliper``'s docstring. Quadratic in a block of tied scores: for small cohorts only.
"""
from __future__ import annotations

import numpy as np

from helpers.stats.matching.nearest import _choose, _prepare


def reference_match_rows(distance: np.ndarray, is_treated: np.ndarray, ratio: int = 2,
                         caliper_sd: float | None = 0.02, order: str = "largest",
                         emulate: str = "matchit-4.5.1") -> np.ndarray:
    """Row of the treated unit of each unit's matched set, or -1 (as ``nearest_caliper_match_rows``)."""
    caliper, gap, pass_over_next_row, start_of, control_rows, control_dist, chooser_rows = _prepare(
        distance, is_treated, caliper_sd, order, emulate)
    n_controls = len(control_rows)
    available = [True] * n_controls
    n_available = n_controls
    match_of = np.full(len(start_of), -1, dtype=np.int64)
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
            right = start
            while right < n_controls and (not available[right] or control_rows[right] in passed_over):
                right += 1
            chosen = _choose(d, left, right, control_dist, gap, caliper)
            if chosen < 0:
                continue
            available[chosen] = False
            n_available -= 1
            controls_of[row].append(control_rows[chosen])
            match_of[control_rows[chosen]] = row
            match_of[row] = row
    return match_of
