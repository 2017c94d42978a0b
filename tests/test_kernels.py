"""The notebooks' forked kernels (``helpers.kernels``): one new process per notebook, nothing shared but imports."""
from __future__ import annotations

import json

import nbformat
import pytest
from nbclient import NotebookClient

from helpers import kernels
from helpers.paths import ROOT, notebook_sources

PROBE = """
import json, os, sys
print(json.dumps({"pid": os.getpid(), "ppid": os.getppid(), "seen": "x" in globals(),
                  "pandas_preloaded": "pandas" in sys.modules, "helpers_preloaded": "helpers.paths" in sys.modules,
                  "cwd": os.getcwd(), "probe": os.environ.get("HCC_PROBE")}))
x = 1
"""


def _run_probe(tmp_path, monkeypatch, value: str) -> dict:
    monkeypatch.setenv("HCC_PROBE", value)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(PROBE)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    NotebookClient(nb, kernel_name="python3", kernel_manager_class=kernels.ForkingKernelManager,
                   resources={"metadata": {"path": str(tmp_path)}}, timeout=60).execute()
    return json.loads(nb.cells[0].outputs[0]["text"])


def test_each_notebook_gets_a_new_forked_process_with_its_own_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    with kernels.forked_kernels(("pandas", "helpers.paths"), cwd=ROOT) as zygote:
        first = _run_probe(tmp_path, monkeypatch, "one")
        second = _run_probe(tmp_path, monkeypatch, "two")
    assert first["pid"] != second["pid"] and first["ppid"] == second["ppid"] == zygote.process.pid
    assert not first["seen"] and not second["seen"]  # nothing left by the previous notebook
    assert first["pandas_preloaded"] and second["pandas_preloaded"]  # the point: imports already done
    assert first["helpers_preloaded"]  # the project's modules too (found from the zygote's cwd)
    assert (first["probe"], second["probe"]) == ("one", "two")  # the environment of the launch, not the zygote's
    assert first["cwd"] == str(tmp_path)
    assert zygote.process.returncode == 0  # ended with the block


def test_a_kernel_whose_import_time_environment_differs_is_a_new_interpreter(tmp_path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    with kernels.forked_kernels(("pandas",)):
        _run_probe(tmp_path, monkeypatch, "zygote started")
        monkeypatch.setenv("MPLBACKEND", "svg")  # matplotlib reads it when imported: the zygote's would be wrong
        probe = _run_probe(tmp_path, monkeypatch, "exec")
    assert not probe["pandas_preloaded"] and probe["probe"] == "exec"


def test_a_module_that_fails_to_import_is_left_to_the_notebook(tmp_path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    with kernels.forked_kernels(("pandas", "helpers.no_such_module")):
        probe = _run_probe(tmp_path, monkeypatch, "still starts")
    assert probe["pandas_preloaded"] and probe["probe"] == "still starts"


def test_outside_forked_kernels_the_manager_says_what_is_missing(tmp_path, monkeypatch):
    with pytest.raises(Exception, match="forked_kernels"):
        _run_probe(tmp_path, monkeypatch, "no zygote")


def test_the_preloaded_modules_are_the_helpers_the_notebooks_import(tmp_path):
    found = kernels.notebook_imports(notebook_sources())
    assert "helpers.results" in found and "helpers.report.figures" in found
    assert all(m.startswith("helpers") for m in found)
    (tmp_path / "a.py").write_text("import helpers.x, os\nfrom helpers.y import z\nfrom . import w\n"
                                   "def f():\n    from helpers.q import r\n")
    (tmp_path / "broken.py").write_text("def (:\n")
    assert kernels.notebook_imports([tmp_path / "a.py", tmp_path / "broken.py"]) == (
        "helpers.q", "helpers.x", "helpers.y")


def test_the_kernel_mode_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv(kernels.KERNELS_ENV, "fresh")
    assert kernels.default_mode() == "fresh"
    monkeypatch.setenv(kernels.KERNELS_ENV, "spawn")
    with pytest.raises(ValueError, match="HCC_KERNELS='spawn'"):
        kernels.default_mode()
