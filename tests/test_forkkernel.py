"""The test suite's forked kernels (``forkkernel.py``): one new process per notebook, nothing shared but imports."""
from __future__ import annotations

import json

import forkkernel
import nbformat
from nbclient import NotebookClient

PROBE = """
import json, os, sys
print(json.dumps({"pid": os.getpid(), "ppid": os.getppid(), "seen": "x" in globals(),
                  "pandas_preloaded": "pandas" in sys.modules, "cwd": os.getcwd(),
                  "probe": os.environ.get("HCC_PROBE")}))
x = 1
"""


def _run_probe(tmp_path, monkeypatch, value: str) -> dict:
    monkeypatch.setenv("HCC_PROBE", value)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(PROBE)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    NotebookClient(nb, kernel_name="python3", kernel_manager_class=forkkernel.ForkingKernelManager,
                   resources={"metadata": {"path": str(tmp_path)}}, timeout=60).execute()
    return json.loads(nb.cells[0].outputs[0]["text"])


def test_each_notebook_gets_a_new_forked_process_with_its_own_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    first = _run_probe(tmp_path, monkeypatch, "one")
    second = _run_probe(tmp_path, monkeypatch, "two")
    zygote = forkkernel._get_zygote().process.pid
    assert first["pid"] != second["pid"] and first["ppid"] == second["ppid"] == zygote
    assert not first["seen"] and not second["seen"]  # nothing left by the previous notebook
    assert first["pandas_preloaded"] and second["pandas_preloaded"]  # the point: imports already done
    assert (first["probe"], second["probe"]) == ("one", "two")  # the environment of the launch, not the zygote's
    assert first["cwd"] == str(tmp_path)


def test_a_kernel_whose_import_time_environment_differs_is_a_new_interpreter(tmp_path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    _run_probe(tmp_path, monkeypatch, "zygote started")
    monkeypatch.setenv("MPLBACKEND", "svg")  # matplotlib reads it when imported: the zygote's would be wrong
    probe = _run_probe(tmp_path, monkeypatch, "exec")
    assert not probe["pandas_preloaded"] and probe["probe"] == "exec"
