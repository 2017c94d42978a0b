"""Shared test options: R cross-checks run only with --run-r (make crosscheck); tests that share a build
run on one worker of `make test`'s parallel run (pytest-xdist, ``--dist loadgroup``; see ``scheduling.py``),
the slowest first."""
from __future__ import annotations

import os
import shutil
import tempfile

import pytest
import scheduling

_GROUPS_DIR = pytest.StashKey[str]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-r", action="store_true", default=False,
                     help="run the cross-checks that call Rscript (survival, MatchIt)")


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        # The session's default build is made once per worker that needs it: keep its users on one worker.
        if "default_build" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("default_build"))
    _slowest_first(items)
    scheduling.write_groups(config, items)
    if config.getoption("--run-r"):
        if shutil.which("Rscript") is None:
            raise pytest.UsageError("--run-r needs Rscript with the survival and MatchIt packages")
        return
    skip = pytest.mark.skip(reason="R cross-check: run with `make crosscheck` (pytest --run-r)")
    for item in items:
        if "r_crosscheck" in item.keywords:
            item.add_marker(skip)


def _slowest_first(items: list[pytest.Item]) -> None:
    """Order the tests so that the groups with the most ``slow`` tests come first, then single slow tests, then the rest.

    A stable sort: within a group, and among the fast tests, the order of the files stays. The
    parallel run hands out work in this order (``scheduling.GroupScheduling``), so the long builds
    start at once on both workers and the fast tests fill the gaps at the end.
    """
    slow_in: dict[str | None, int] = {}
    for item in items:
        if item.get_closest_marker("slow"):
            group = scheduling.group_of(item)
            slow_in[group] = slow_in.get(group, 0) + 1

    def weight(item: pytest.Item) -> int:
        group = scheduling.group_of(item)
        if group is not None:
            return slow_in.get(group, 0)
        return 1 if item.get_closest_marker("slow") else 0

    items.sort(key=weight, reverse=True)


def pytest_configure(config: pytest.Config) -> None:
    # On the controller of a parallel run: the folder in which the workers leave their tests' groups.
    if getattr(config, "workerinput", None) is None and config.pluginmanager.hasplugin("xdist"):
        config.stash[_GROUPS_DIR] = tempfile.mkdtemp(prefix="hcc-xdist-groups-")


def pytest_unconfigure(config: pytest.Config) -> None:
    folder = config.stash.get(_GROUPS_DIR, None)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:  # pytest-xdist: the controller prepares a worker
    node.workerinput[scheduling.GROUPS_KEY] = node.config.stash[_GROUPS_DIR]


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    if config.getvalue("dist") != "loadgroup":
        return None
    from pathlib import Path

    return scheduling.GroupScheduling(config, Path(config.stash[_GROUPS_DIR]), log)


@pytest.fixture(scope="session")
def default_build(tmp_path_factory):
    """One papermill run of every notebook on the default (synthetic) cohort, shared by the slow tests."""
    from helpers import pipeline
    from helpers.paths import ADVERSE_EVENTS_CSV, COHORT_CSV

    out = tmp_path_factory.mktemp("run") / "build"
    # the inputs named relative to the working directory, as `make report` names them (data/cohort.csv)
    # kernels forked from a preloaded process; test_two_runs_write_byte_identical_results compares a fresh run
    assert pipeline.run(os.path.relpath(COHORT_CSV), os.path.relpath(ADVERSE_EVENTS_CSV), str(out), {},
                        kernels="fork") == 0
    return out


@pytest.fixture(scope="session")
def default_cohorts():
    """The analysis cohort ``before`` and ``after`` matching, as notebooks 01 and 02 make it (default parameters).

    Computed from the committed data by the helpers directly (no papermill), in a second or two.
    """
    from helpers.data.derive import add_endpoints, add_table1_categories
    from helpers.data.eligibility import add_eligibility, criteria
    from helpers.data.load import load_study
    from helpers.data.schema import CONTROL_ARM, TREATED_ARM
    from helpers.parameters import notebook_parameters
    from helpers.paths import ADVERSE_EVENTS_CSV, COHORT_CSV
    from helpers.stats.matching import propensity_match

    p = {q.name: q.default for q in notebook_parameters()}
    study = load_study(COHORT_CSV, ADVERSE_EVENTS_CSV)
    crits = criteria(p["study_start"], p["study_end"], p["max_diameter_cm"], p["min_months_since_treatment"],
                     p["min_residual_liver_cc"])
    screened = add_eligibility(study.cohort, crits)
    eligible = screened[screened["eligible"]].reset_index(drop=True)
    analysis = add_endpoints(add_table1_categories(eligible, alpha_beta=p["alpha_beta"]), cutoff=p["data_cutoff"])
    match = propensity_match(analysis, p["covariates"], treated_arm=TREATED_ARM, control_arm=CONTROL_ARM,
                             ratio=p["ratio"], caliper_sd=p["caliper_sd"])
    m = match.matched_cohort
    in_matched = analysis["patient_id"].isin(m.loc[m["matched"] == 1, "patient_id"])
    return {"before": analysis, "after": analysis[in_matched].reset_index(drop=True)}
