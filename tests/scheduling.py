"""How `make test` shares its slow work between pytest-xdist workers (``--dist loadgroup``).

The slow tests share builds: the session's default build (``default_build``) and one run per
degenerate case (``tests/test_degenerate.py``). Each build must be made once, on the worker that runs
all its tests, so those tests carry an ``xdist_group`` mark (``tests/conftest.py``).

pytest-xdist 3.8 passes a test's group to the scheduler by appending ``@group`` to the test's node id
on the worker, which pytest 9.2 ignores (it keeps structured ids): the groups were lost, every test
was scheduled alone and each degenerate case ran on both workers (pytest-xdist issue #1386). So the
groups travel another way: each worker writes ``{node id: group}`` into a folder the controller
names (``workerinput``), and :class:`GroupScheduling` reads it when the worker's collection
arrives. It is xdist's own ``loadgroup`` scheduler otherwise, with one change: the work units go
out in collection order, which ``conftest.py`` sorts heaviest first, instead of by their number of
tests (a build of one test is longer than a module of a hundred fast ones; longest first keeps both
workers busy to the end).
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from xdist.scheduler import LoadGroupScheduling

GROUPS_KEY = "hcc_xdist_groups"


def group_of(item: pytest.Item) -> str | None:
    """The ``xdist_group`` of a test (marks joined as xdist joins them), or None."""
    names = {str(m.args[0] if m.args else m.kwargs.get("name", "default")) for m in item.iter_markers("xdist_group")}
    return "_".join(sorted(names)) if names else None


def write_groups(config: pytest.Config, items: Sequence[pytest.Item]) -> None:
    """On a worker: record each grouped test's group for the controller (no-op elsewhere)."""
    workerinput = getattr(config, "workerinput", None)
    if not workerinput or GROUPS_KEY not in workerinput:
        return
    groups = {item.nodeid: g for item in items if (g := group_of(item)) is not None}
    path = Path(workerinput[GROUPS_KEY]) / f"{workerinput['workerid']}.json"
    path.write_text(json.dumps(groups), encoding="utf-8")


class GroupScheduling(LoadGroupScheduling):
    """xdist's ``loadgroup`` with the groups read from the workers' files, units in collection order.

    A test's work unit is its group if it has one, else the test alone (as ``loadgroup``).
    """

    def __init__(self, config: pytest.Config, folder: Path, log=None) -> None:
        super().__init__(config, log)
        self.folder = folder
        self.groups: dict[str, str] = {}
        config.option.loadscopereorder = False  # keep conftest's heaviest-first order

    def add_node_collection(self, node, collection: Sequence[str]) -> None:
        path = self.folder / f"{node.workerinput['workerid']}.json"
        self.groups.update(json.loads(path.read_text(encoding="utf-8")) if path.exists() else {})
        super().add_node_collection(node, collection)

    def _split_scope(self, nodeid: str) -> str:
        group = self.groups.get(nodeid)
        if group is None:  # not in the workers' files: xdist's own rule (a "@group" suffix once xdist is fixed)
            return super()._split_scope(nodeid)
        # A group's unit name cannot be taken for a test's node id (node ids contain "::").
        return f"group {group}"
