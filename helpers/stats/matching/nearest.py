r"""The matching: greedy 1:k nearest-neighbour caliper matching, as R MatchIt 4.5.1.

================================================  =====================================================
here                                              R (MatchIt 4.5.1)
================================================  =====================================================
``match_nearest_caliper(logit, treated, ids)``    ``matchit(..., method = "nearest", ratio = 2,``
                                                  ``caliper = 0.02, std.caliper = TRUE)``
``caliper_width(distance, 0.02)``                 ``0.02 * sd(distance)`` (``std.caliper = TRUE``)
================================================  =====================================================

A port of MatchIt's C++ routine ``nn_matchC_vec``: the algorithm, the order
in which treated units choose (``m.order``), the tie rules and MatchIt
4.5.1's two quirks (``emulate``) are written in
:func:`match_nearest_caliper`'s docstring, beside the code;
:func:`nearest_caliper_match_rows` is the array-only core (for simulations
that match thousands of times).

Where MatchIt walks from a treated unit's place over every control already
taken, one at a time -- quadratic in the size of a block of tied scores, and
registry cohorts with ten binary covariates have blocks of tens of thousands
-- the core keeps two "next free control" forests (union-find with path
halving) over the sorted controls, to the left and to the right, and jumps
over taken controls. Matching is then a sort plus nearly constant time per
control taken (under 2 s of CPU for 10^6 patients instead of minutes), with the
same matched sets: MatchIt's scans are kept as the reference in
``tests/matching_reference.py``, and the two are compared on random,
tie-heavy cohorts in ``tests/test_matching_fast.py``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

#: Orders in which treated units choose (MatchIt's ``m.order``).
MATCH_ORDERS: tuple[str, ...] = ("largest", "smallest", "data")

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
    _check(distance, ratio, order, emulate)

    match_of = nearest_caliper_match_rows(distance, treated, int(ratio), caliper_sd, order, emulate)
    matched = match_of >= 0
    match_id = pd.array(ids.take(np.where(matched, match_of, 0)), dtype=_nullable(ids.dtype))
    match_id[~matched] = pd.NA
    return pd.DataFrame({"patient_id": ids.to_numpy(), "treated": treated.astype(int),
                         "matched": matched.astype(int), "match_id": match_id, "distance": distance})


def _check(distance: np.ndarray, ratio: int, order: str, emulate: str) -> None:
    """The arguments :func:`match_nearest_caliper` refuses, with what to fix."""
    if not np.all(np.isfinite(distance)):
        raise ValueError("The propensity distance has missing or infinite values; check the propensity model notes.")
    if order not in MATCH_ORDERS:
        raise ValueError(f"order must be one of {MATCH_ORDERS}, not {order!r}.")
    if emulate not in EMULATIONS:
        raise ValueError(f"emulate must be one of {EMULATIONS}, not {emulate!r}.")
    if int(ratio) != ratio or ratio < 1:
        raise ValueError(f"ratio must be a whole number >= 1, not {ratio!r}.")


def match_rows_up_to_ratio(logit_ps, is_treated, ratio: int = 2, caliper_sd: float | None = 0.02,
                           order: str = "largest", *, emulate: str = "matchit-4.5.1") -> list[np.ndarray]:
    """The matchings of :func:`match_nearest_caliper` at ratios 1, 2, ..., ``ratio`` from one run.

    1:k matching does k passes, each treated unit taking one more control per pass, and its first k - 1
    passes are those of 1:(k - 1) matching (MatchIt 4.5.1's pass-over looks only at earlier passes, and
    matching stops where the controls run out, at the same point whatever the ratio): the state after
    pass r is the 1:r matching.

    Returns
    -------
    list of numpy.ndarray
        For ratio r = 1..``ratio`` (item r - 1): each unit's row of the treated unit of its matched set, or
        -1 if unmatched (as :func:`nearest_caliper_match_rows`).

    Examples
    --------
    >>> [m.tolist() for m in match_rows_up_to_ratio([2.0, 1.0, 1.9, 1.1, 1.5, 0.0], [1, 1, 0, 0, 0, 0],
    ...                                              ratio=2, caliper_sd=None)]
    [[0, 1, 0, 1, -1, -1], [0, 1, 0, 1, 0, 1]]
    """
    distance = np.asarray(logit_ps, dtype=float)
    treated = np.asarray(is_treated).astype(bool)
    if len(treated) != len(distance):
        raise ValueError(f"logit_ps and is_treated must have the same length ({len(distance)}, {len(treated)}).")
    _check(distance, ratio, order, emulate)
    return nearest_caliper_match_rows(distance, treated, int(ratio), caliper_sd, order, emulate, each_pass=True)


def _nullable(dtype) -> str | object:
    if pd.api.types.is_integer_dtype(dtype):
        return "Int64"
    return "string" if pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype) else dtype


def nearest_caliper_match_rows(distance: np.ndarray, is_treated: np.ndarray, ratio: int = 2,
                               caliper_sd: float | None = 0.02, order: str = "largest",
                               emulate: str = "matchit-4.5.1", *, each_pass: bool = False
                               ) -> np.ndarray | list[np.ndarray]:
    """Array-only core of :func:`match_nearest_caliper` (same algorithm and arguments, no checks).

    Returns, for each unit, the row number of the treated unit of its matched
    set (a matched treated unit points to itself), or -1 if unmatched; with
    ``each_pass``, a list of these after each of the ``ratio`` passes
    (:func:`match_rows_up_to_ratio`).

    Examples
    --------
    >>> nearest_caliper_match_rows(np.array([0.0, 0.1, 0.2, 0.3]), np.array([1, 0, 0, 0]),
    ...                            caliper_sd=None, emulate="none").tolist()
    [0, 0, 0, -1]
    """
    caliper, _, pass_over_next_row, start_of, control_rows, control_dist, chooser_rows = _prepare(
        distance, is_treated, caliper_sd, order, emulate)
    n_controls = len(control_rows)
    # MatchIt 4.5.1 src/nn_matchC_vec.cpp (replace = FALSE, no exact constraints) without its
    # scans: MatchIt walks over taken controls one at a time (quadratic in a block of tied
    # scores); here two "next free" forests (union-find with path halving) jump over them.
    # free_left[p + 1] leads to the free position <= p (0: none); free_right[p] to the free one >= p
    # (n_controls: none). Taking position p links p + 1 to p (left) and p to p + 1 (right).
    free_left = list(range(n_controls + 1))
    free_right = list(range(n_controls + 1))

    def nearest_free(links: list[int], i: int) -> int:
        while links[i] != i:
            links[i] = links[links[i]]
            i = links[i]
        return i

    chooser_dist = np.asarray(distance, dtype=float)[chooser_rows].tolist()
    chooser_start = start_of[chooser_rows].tolist()
    n_available = n_controls
    match_of = [-1] * len(start_of)  # a list: item by item faster than an array
    controls_of: dict[int, list[int]] = {row: [] for row in chooser_rows}
    truncate = emulate == "matchit-4.5.1-int-abs"  # _prepare's gap(), inline in the loop

    after_pass: list[np.ndarray] = []

    def result() -> np.ndarray | list[np.ndarray]:
        # Once the controls have run out, the later passes change nothing.
        final = np.array(match_of, dtype=np.int64)
        return after_pass + [final.copy() for _ in range(ratio - len(after_pass))] if each_pass else final

    for pass_no in range(ratio):
        for row, d, start in zip(chooser_rows, chooser_dist, chooser_start):
            if n_available == 0:
                return result()
            # MatchIt 4.5.1 (pass >= 2): the row after each control already taken is passed over.
            passed_over = {c + 1 for c in controls_of[row]} if pass_no and pass_over_next_row else ()
            left = nearest_free(free_left, start) - 1
            while left >= 0 and control_rows[left] in passed_over:
                left = nearest_free(free_left, left) - 1
            right = nearest_free(free_right, start)
            while right < n_controls and control_rows[right] in passed_over:
                right = nearest_free(free_right, right + 1)
            # _choose, inline (the hot path): a side whose candidate lies beyond the caliper gives none; of
            # two, the closer wins, the left one if equally close (a gap is the same both ways).
            gap_left = gap_right = 0.0
            if left >= 0:
                gap_left = abs(int(d - control_dist[left])) if truncate else abs(d - control_dist[left])
                if gap_left > caliper:
                    left = -1
            if right < n_controls:
                gap_right = abs(int(d - control_dist[right])) if truncate else abs(d - control_dist[right])
                if gap_right > caliper:
                    right = -1
            else:
                right = -1
            if left >= 0 and right >= 0:
                chosen = left if gap_left <= gap_right else right
            elif left < 0 and right < 0:
                continue
            else:
                chosen = max(left, right)
            free_left[chosen + 1] = chosen
            free_right[chosen] = chosen + 1
            n_available -= 1
            controls_of[row].append(control_rows[chosen])
            match_of[control_rows[chosen]] = row
            match_of[row] = row
        if each_pass and pass_no < ratio - 1:
            after_pass.append(np.array(match_of, dtype=np.int64))
    return result()


def _prepare(distance, is_treated, caliper_sd, order, emulate):
    """What both matchings (this module's and the reference scans of the tests) start from.

    The caliper, the distance difference ``gap(a, b)`` (C's ``int abs(int)`` on a double with
    ``emulate="matchit-4.5.1-int-abs"``: truncated towards zero first), whether the 4.5.1
    pass-over applies, and MatchIt's layout: the controls sorted (stably) by distance
    (``control_rows``, ``control_dist``, lists), for each unit the number of controls sorted
    before it in the stable sort of all units (``start_of``, where its scans start), and the
    treated rows in the order they choose (``chooser_rows``, a list).
    """
    distance = np.asarray(distance, dtype=float)
    treated = np.asarray(is_treated).astype(bool)
    caliper = caliper_width(distance, caliper_sd)
    if emulate == "matchit-4.5.1-int-abs":
        def gap(a: float, b: float) -> float:
            return abs(int(a - b))
    else:
        def gap(a: float, b: float) -> float:
            return abs(a - b)
    sorted_rows = np.argsort(distance, kind="stable")
    is_control_sorted = ~treated[sorted_rows]
    controls_before = np.cumsum(is_control_sorted) - is_control_sorted
    start_of = np.empty(len(distance), dtype=np.int64)
    start_of[sorted_rows] = controls_before
    control_rows = sorted_rows[is_control_sorted]
    treated_rows = np.flatnonzero(treated)
    chooser_rows = treated_rows[_treated_order(distance[treated_rows], order)].tolist()
    return (caliper, gap, emulate != "none", start_of, control_rows.tolist(), distance[control_rows].tolist(),
            chooser_rows)


def _choose(d: float, left: int, right: int, control_dist: list[float], gap, caliper: float) -> int:
    """The control a treated unit at distance ``d`` takes of its nearest free ones (positions; -1: none).

    A side with no candidate (``left`` < 0, ``right`` = the number of controls) or whose candidate
    lies farther than the caliper gives none; of two, the closer wins, the left one if equally close.
    """
    if left >= 0 and gap(d, control_dist[left]) > caliper:
        left = -1
    if right >= len(control_dist) or gap(d, control_dist[right]) > caliper:
        right = -1
    if left >= 0 and right >= 0:
        return left if gap(control_dist[left], d) <= gap(control_dist[right], d) else right
    return max(left, right)
