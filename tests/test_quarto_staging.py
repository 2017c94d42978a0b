"""helpers.render.quarto without a real Quarto: the staged copy, the report swap, failures.

A stand-in ``quarto`` (a small Python script given as ``exe``) plays the CLI:
it records its command line and working folder, then writes outputs or fails.
tests/test_quarto.py renders with the real CLI where one is on PATH.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

from helpers.paths import ROOT
from helpers.render.errors import RenderError
from helpers.render.quarto import STAGE_NAME, STAGE_OUTPUT, render_quarto, replace_report, staged_project

FAKE_QUARTO = """#!{python}
import json, os, sys
from pathlib import Path
args = sys.argv[1:]
Path(os.environ["FAKE_LOG"]).write_text(json.dumps({{"args": args, "cwd": os.getcwd()}}))
out = Path(args[args.index("--output-dir") + 1])
out.mkdir(parents=True, exist_ok=True)
(Path.cwd() / "index.typ").write_text("intermediate")  # as Quarto leaves it in the project
if os.environ.get("FAKE_FAIL"):
    (out / "index.html").write_text("half-written")
    print("ERROR: The cell no-such-cell does not exist in notebook", file=sys.stderr)
    sys.exit(1)
for name in ("index.html", "index.pdf", "index.docx"):
    if name != os.environ.get("FAKE_SKIP"):
        (out / name).write_text("new " + name)
"""


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    proj = tmp_path / "proj"
    for name in ("_quarto.yml", "index.qmd", "references.bib"):
        (proj / name).parent.mkdir(parents=True, exist_ok=True)
        (proj / name).write_text((ROOT / name).read_text(encoding="utf-8"), encoding="utf-8")
    for folder in ("docs", "figs", ".git", ".venv", "build", "_manuscript"):
        (proj / folder).mkdir()
        (proj / folder / "file.txt").write_text(folder)
    return proj


@pytest.fixture()
def out(tmp_path: Path) -> Path:
    out = tmp_path / "run"
    (out / "notebooks").mkdir(parents=True)
    (out / "notebooks" / "03_survival.ipynb").write_text("{}")
    (out / "report").mkdir()
    (out / "report" / "index.html").write_text("old report")
    return out


@pytest.fixture()
def fake_quarto(tmp_path: Path, monkeypatch) -> tuple[str, Path]:
    exe = tmp_path / "quarto"
    exe.write_text(FAKE_QUARTO.format(python=sys.executable))
    exe.chmod(0o755)
    log = tmp_path / "fake-quarto.json"
    monkeypatch.setenv("FAKE_LOG", str(log))
    return str(exe), log


def test_staged_project_copies_files_links_folders_and_copies_notebooks(project: Path, out: Path):
    stage = staged_project(project, out)
    assert stage == out / STAGE_NAME
    for name in ("_quarto.yml", "index.qmd", "references.bib"):
        assert (stage / name).is_file() and not (stage / name).is_symlink()
        assert (stage / name).read_bytes() == (project / name).read_bytes()
    for folder in ("docs", "figs"):  # the article's resources, read where they are
        assert (stage / folder).is_symlink() and (stage / folder).resolve() == (project / folder).resolve()
    for folder in (".git", ".venv", "build", "_manuscript"):
        assert not (stage / folder / "file.txt").exists(), folder
    # real copies: Quarto writes *_files/ beside the notebooks and refuses a linked build/
    nb = stage / "build" / "notebooks" / "03_survival.ipynb"
    assert nb.read_text() == "{}" and not nb.is_symlink() and not (stage / "build").is_symlink()
    assert (stage / ".gitignore").read_text().split() == ["/.quarto/", "**/*.quarto_ipynb"]


def test_staged_project_leaves_out_the_folder_that_holds_out(project: Path):
    out = project / "runs" / "mine"
    (out / "notebooks").mkdir(parents=True)
    stage = staged_project(project, out)
    assert not (stage / "runs").exists()


def test_staged_project_needs_a_manuscript_project(tmp_path: Path, out: Path):
    with pytest.raises(RenderError, match="_quarto.yml, index.qmd: not a manuscript project"):
        staged_project(tmp_path, out)


def test_replace_report_swaps_folders(tmp_path: Path):
    new, report = tmp_path / "new", tmp_path / "report"
    new.mkdir()
    (new / "index.html").write_text("new")
    report.mkdir()
    (report / "stale.html").write_text("old")
    replace_report(new, report)
    assert sorted(p.name for p in report.iterdir()) == ["index.html"]
    assert not new.exists() and not (tmp_path / ".report.old").exists()
    (tmp_path / "fresh").mkdir()
    replace_report(tmp_path / "fresh", tmp_path / "first")  # no earlier report
    assert (tmp_path / "first").is_dir()


def test_render_quarto_renders_the_staged_copy_and_replaces_the_report(project, out, fake_quarto):
    exe, log = fake_quarto
    outputs = render_quarto(project, out, exe=exe, log=lambda _m: None)
    assert outputs == {f: out / "report" / f"index.{f}" for f in ("html", "pdf", "docx")}
    assert (out / "report" / "index.html").read_text() == "new index.html"
    call = json.loads(log.read_text())
    assert call["args"] == ["render", str(out / STAGE_NAME), "--output-dir", STAGE_OUTPUT]
    assert Path(call["cwd"]) == out / STAGE_NAME
    # Quarto's intermediates went to the copy, which is gone; the project is as it was
    assert not (out / STAGE_NAME).exists()
    assert not (project / "index.typ").exists()
    assert sorted(p.name for p in (out / "notebooks").iterdir()) == ["03_survival.ipynb"]


def test_render_quarto_passes_the_formats(project, out, fake_quarto):
    exe, log = fake_quarto
    render_quarto(project, out, exe=exe, formats=("html", "pdf"), log=lambda _m: None)
    assert json.loads(log.read_text())["args"][-2:] == ["--to", "html,typst"]


def test_a_failed_render_keeps_the_previous_report_and_says_why(project, out, fake_quarto, monkeypatch):
    exe, _ = fake_quarto
    monkeypatch.setenv("FAKE_FAIL", "1")
    lines: list[str] = []
    with pytest.raises(RenderError) as err:
        render_quarto(project, out, exe=exe, log=lines.append)
    message = str(err.value)
    assert "quarto render failed with exit code 1" in message
    assert "The cell no-such-cell does not exist in notebook" in message
    assert f"the previous report in {out / 'report'} is unchanged" in message
    assert f"working copy is in {out / STAGE_NAME}" in message
    assert sorted(p.name for p in (out / "report").iterdir()) == ["index.html"]
    assert (out / "report" / "index.html").read_text() == "old report"
    assert any("no-such-cell" in ln for ln in lines)  # Quarto's output was passed on


def test_a_render_without_an_output_keeps_the_previous_report(project, out, fake_quarto, monkeypatch):
    exe, _ = fake_quarto
    monkeypatch.setenv("FAKE_SKIP", "index.pdf")
    with pytest.raises(RenderError, match="exited 0 but wrote no index.pdf"):
        render_quarto(project, out, exe=exe, log=lambda _m: None)
    assert (out / "report" / "index.html").read_text() == "old report"


def test_render_quarto_needs_the_executed_notebooks(project, tmp_path, fake_quarto):
    exe, _ = fake_quarto
    with pytest.raises(RenderError, match="run the analysis first"):
        render_quarto(project, tmp_path / "empty", exe=exe, log=lambda _m: None)


def test_quarto_inputs_are_the_article_and_the_executed_notebooks():
    """_quarto.yml: Quarto renders index.qmd and build/notebooks/*.ipynb only, with the project's filter."""
    cfg = yaml.safe_load((ROOT / "_quarto.yml").read_text(encoding="utf-8"))
    assert cfg["project"]["render"] == ["index.qmd", "build/notebooks/*.ipynb"]
    assert "notebooks" not in cfg["manuscript"]  # the notebooks are the render list's .ipynb
    filters = cfg["filters"]
    assert [(f["at"], Path(f["path"]).name) for f in filters] == [("pre-ast", "source-notes.lua"),
                                                                 ("pre-ast", "result-numbers.lua")]
    assert all((ROOT / f["path"]).is_file() for f in filters)
    assert cfg["notebook-links"] is False and cfg["tbl-cap-location"] == "top"
    supptbl = next(c for c in cfg["crossref"]["custom"] if c["key"] == "supptbl")
    assert supptbl["caption-location"] == "top"
    gitignore = (ROOT / ".gitignore").read_text(encoding="utf-8").split()
    assert {"/.quarto/", "**/*.quarto_ipynb", "/index.typ", "/site_libs/"} <= set(gitignore)
