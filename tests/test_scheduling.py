"""`make test`'s parallel run keeps each build's tests on one worker, the slowest first (``scheduling.py``).

A small suite is run with ``-n 2 --dist loadgroup`` and this project's ``conftest.py``: three groups
of tests record the worker that ran them. Under pytest-xdist's own ``loadgroup`` on pytest 9.2, the
groups are lost (pytest-xdist issue #1386) and this test fails.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

SUITE = '''
import os
import pytest

def _ran(name):
    with open(os.environ["RAN_LOG"], "a") as f:
        f.write(f"{name} {os.environ.get('PYTEST_XDIST_WORKER')}\\n")

GROUPS = [pytest.param(g, marks=pytest.mark.xdist_group(g), id=g) for g in ("g1", "g2", "g3")]

@pytest.mark.parametrize("group", GROUPS)
def test_first(group):
    _ran(group)

@pytest.mark.parametrize("group", GROUPS)
def test_second(group):
    _ran(group)

@pytest.mark.slow
@pytest.mark.xdist_group("g3")
def test_slow_in_g3():
    _ran("g3")

@pytest.mark.parametrize("i", range(12))
def test_fast(i):
    _ran("fast")
'''


def test_each_group_runs_on_one_worker_and_the_slow_group_first(pytester: pytest.Pytester, monkeypatch):
    here = Path(__file__).parent
    for name in ("conftest.py", "scheduling.py"):
        shutil.copy(here / name, pytester.path / name)
    monkeypatch.setenv("PYTHONPATH", str(here.parent))  # conftest.py imports helpers
    pytester.makeini("[pytest]\nmarkers =\n    slow: slow\n    r_crosscheck: R\n")
    pytester.makepyfile(test_suite=SUITE)
    log = pytester.path / "ran.log"
    monkeypatch.setenv("RAN_LOG", str(log))
    result = pytester.runpytest_subprocess("-n", "2", "--dist", "loadgroup", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=19)
    ran = [line.split() for line in log.read_text().splitlines()]
    workers = {}
    for group, worker in ran:
        workers.setdefault(group, set()).add(worker)
    assert {g: len(w) for g, w in workers.items() if g != "fast"} == {"g1": 1, "g2": 1, "g3": 1}
    assert workers["fast"] == {"gw0", "gw1"}  # the ungrouped tests are spread
    # the group with a slow test is handed out first: it is the first thing its worker runs
    (g3_worker,) = workers["g3"]
    assert next(group for group, worker in ran if worker == g3_worker) == "g3"
