"""The fast matching (``nearest_caliper_match_rows``, "next free" links) equals the reference scans.

``matching_reference.reference_match_rows`` is the matching as it was: MatchIt 4.5.1's
``nn_matchC_vec`` walking over every taken control (its agreement with MatchIt itself is
``test_matching.py``'s, with the R calls quoted there). Here both run on random cohorts,
with heavy ties (a few covariate patterns, so blocks of equal distances in which treated and
controls interleave in the data) and without, with more or fewer controls than treated,
caliper and none, ratios 1-3, every ``m.order`` and every emulation, and must return the
same matched sets row for row.
"""
from __future__ import annotations

import numpy as np
import pytest
from matching_reference import reference_match_rows

from helpers.stats.matching import EMULATIONS, MATCH_ORDERS, nearest_caliper_match_rows

CALIPERS = (None, 0.02, 0.3, 2.0)


def random_distances(rng: np.random.Generator, n: int, ties: str) -> np.ndarray:
    """Distances of ``n`` units: ``"heavy"`` (1-4 binary covariates: 2-16 values), ``"some"`` or ``"none"``."""
    if ties == "heavy":
        k = int(rng.integers(1, 5))
        covariates = rng.random((n, k)) < rng.uniform(0.2, 0.7, size=k)
        return covariates @ rng.normal(0, 1.5, size=k) + rng.normal(0, 0.5)
    if ties == "some":
        return np.round(rng.normal(0, 2, size=n), 1)
    return rng.normal(0, 2, size=n)


def _cases(seed: int):
    rng = np.random.default_rng(seed)
    for ties in ("heavy", "some", "none"):
        for treated_share in (0.15, 0.4, 0.7):
            n = int(rng.integers(2, 120))
            yield ties, rng.random(n) < treated_share, random_distances(rng, n, ties)


@pytest.mark.parametrize("emulate", EMULATIONS)
@pytest.mark.parametrize("order", MATCH_ORDERS)
@pytest.mark.parametrize("ratio", [1, 2, 3])
def test_fast_matching_equals_the_reference_on_random_cohorts(ratio, order, emulate):
    for seed in range(4):
        for ties, treated, distance in _cases(1000 * ratio + seed):
            for caliper in CALIPERS:
                expected = reference_match_rows(distance, treated, ratio, caliper, order, emulate)
                got = nearest_caliper_match_rows(distance, treated, ratio, caliper, order, emulate)
                assert got.tolist() == expected.tolist(), (seed, ties, caliper, treated.mean())


@pytest.mark.parametrize("emulate", EMULATIONS)
def test_fast_matching_equals_the_reference_on_a_large_tied_block(emulate):
    # 3,000 patients, 10 binary covariates with rare levels: a few hundred distinct distances,
    # the largest block holds hundreds of patients (the registry setting, scaled down).
    rng = np.random.default_rng(14)
    covariates = rng.random((3000, 10)) < np.linspace(0.05, 0.5, 10)
    distance = covariates @ rng.normal(0, 0.8, size=10) - 0.7
    treated = rng.random(3000) < 1 / (1 + np.exp(-distance))
    for ratio, caliper, order in [(2, 0.02, "largest"), (3, None, "smallest"), (1, 0.3, "data")]:
        expected = reference_match_rows(distance, treated, ratio, caliper, order, emulate)
        got = nearest_caliper_match_rows(distance, treated, ratio, caliper, order, emulate)
        assert got.tolist() == expected.tolist(), (ratio, caliper, order)
        assert (expected >= 0).sum() > 1000  # many matches: the links are exercised


def test_the_reference_is_todays_algorithm_on_the_hand_checked_case():
    # The docstring example of match_nearest_caliper (R: see test_matching.py): 1:2, no caliper.
    rows = reference_match_rows(np.array([2.0, 1.0, 1.9, 1.1, 1.5, 0.0]), np.array([1, 1, 0, 0, 0, 0]),
                                ratio=2, caliper_sd=None)
    assert rows.tolist() == [0, 1, 0, 1, 0, 1]


@pytest.mark.parametrize("emulate", EMULATIONS)
def test_every_ratio_from_one_run_equals_its_own_run(emulate):
    # match_rows_up_to_ratio (the matching grid): the state after pass r of a 1:3 run is the 1:r matching,
    # also where the controls run out (treated shares of 0.4 and 0.7 at ratio 3) and with the 4.5.1 pass-over.
    from helpers.stats.matching import match_rows_up_to_ratio
    for seed in range(3):
        for ties, treated, distance in _cases(77 + seed):
            for caliper in CALIPERS:
                for order in MATCH_ORDERS:
                    runs = match_rows_up_to_ratio(distance, treated, 3, caliper, order, emulate=emulate)
                    for ratio, got in enumerate(runs, start=1):
                        want = nearest_caliper_match_rows(distance, treated, ratio, caliper, order, emulate)
                        assert got.tolist() == want.tolist(), (seed, ties, caliper, order, ratio)
