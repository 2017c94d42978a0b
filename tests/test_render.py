"""The manuscript renderer (helpers.render) and the table display helper.

A tiny manuscript project is built in tmp_path: an executed notebook (made
with nbformat, outputs written in — nothing is executed) with a labelled
figure cell (PNG output), a labelled table cell (two-level HTML header from
helpers.report.display) and a plainly labelled cell embedded as a supplementary
figure; a results CSV read by a hidden setup cell; and an index.qmd using
inline code, embeds, cross-references and citations. The pip-only renderer
turns it into HTML, PDF and DOCX, which are checked from the files.
"""
from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
import yaml

from helpers.paths import ROOT
from helpers.render import RenderError, render
from helpers.report.display import show_df, show_table, table_html

pd = pytest.importorskip("pandas")


# --------------------------------------------------------------------------
# fixture
# --------------------------------------------------------------------------

def _png(width_in: float = 4.0, height_in: float = 3.0) -> str:
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig, ax = plt.subplots(figsize=(width_in, height_in), dpi=80)
    ax.step([0, 12, 36, 60], [1.0, 0.91, 0.76, 0.62], where="post", label="SBRT")
    ax.step([0, 12, 36, 60], [1.0, 1.0, 0.86, 0.78], where="post", label="SBRT+TACE")
    ax.set_xlabel("Months")
    ax.legend()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def baseline_frame() -> pd.DataFrame:
    cols = pd.MultiIndex.from_tuples([
        ("", "Variables"),
        ("Before matching", "SBRT group (n = 109)"),
        ("Before matching", "SBRT plus TACE group (n = 43)"),
        ("Before matching", "P-value"),
        ("After matching", "SBRT group (n = 68)"),
        ("After matching", "SBRT plus TACE group (n = 36)"),
        ("After matching", "P-value"),
        ("", "SMD"),
    ])
    rows = [
        ["Child-Pugh classification, n (%)", "", "", "0.972", "", "", "1.000", "0.091"],
        ["  A", "102 (93.578)", "41 (95.349)", "", "67 (98.529)", "35 (97.222)", "", ""],
        ["  B", "7 (6.422)", "2 (4.651)", "", "1 (1.471)", "1 (2.778)", "", ""],
    ]
    return pd.DataFrame(rows, columns=cols)


def _code_cell(source: str, outputs: list) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    cell.outputs = outputs
    return cell


def make_notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    table = show_df(baseline_frame())
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Survival\n\nKaplan–Meier estimates."),
        _code_cell('#| label: fig-km\n#| fig-cap: "Overall survival after matching."\n'
                   "plot_km(matched)",
                   [nbformat.v4.new_output("display_data", data={
                       "image/png": _png(), "text/plain": "<Figure size 320x240 with 1 Axes>"})]),
        _code_cell('#| label: tbl-baseline\n#| tbl-cap: "Baseline characteristics of the study population."\n'
                   "show_df(baseline)",
                   [nbformat.v4.new_output("execute_result", execution_count=3,
                                           data=table._repr_mimebundle_())]),
        _code_cell("#| label: love-plot\nplot_love(balance)",
                   [nbformat.v4.new_output("display_data", data={
                       "image/png": _png(5, 4), "text/plain": "<Figure>"})]),
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))


ARTICLE = """\
---
title: "A tiny manuscript: SBRT with or without TACE"
author:
  - name: Jane Roe
    affiliations:
      - ref: a1
    equal-contributor: true
  - name: John Doe
    affiliations:
      - ref: a1
      - ref: a2
    corresponding: true
    email: john@example.org
affiliations:
  - id: a1
    name: Test Hospital
    city: Beijing
    country: China
  - id: a2
    name: Test University
abstract: |
  **Background:** a fixture. **Results:** numbers come from CSV files.
keywords: [Fixture, Rendering]
---

```{python}
#| include: false
import pandas as pd
from helpers.paths import results_dir
r = pd.read_csv(results_dir() / "survival.csv").set_index("key")["value"]
def fmt_pct(x):
    return f"{100 * x:.1f}%"
```

## Introduction

Liver cancer is common [@bray2024]. Guidelines differ [@heimbach2018; @easl2018].

## Results

Five-year overall survival was `{python} fmt_pct(r["os_60_sbrt"])` after SBRT
(@fig-km); baseline characteristics are in @tbl-baseline and the balance in
@suppfig-love.

{{< embed build/notebooks/03_survival.ipynb#fig-km >}}

{{< embed build/notebooks/03_survival.ipynb#tbl-baseline >}}

::: {#suppfig-love}
{{< embed build/notebooks/03_survival.ipynb#love-plot >}}

Love plot of standardized mean differences.
:::

Floats written in the article itself are numbered too (@tbl-inline, @fig-inline).

| Quantity | Published | Reproduced |
|----------|----------:|-----------:|
| n matched | 104 | 104 |

: Published and reproduced counts. {#tbl-inline}

![A figure file referenced from the article.](figs/inline.png){#fig-inline}

## References {.unnumbered}

::: {#refs}
:::
"""


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    """A minimal manuscript project (copies of the real _quarto.yml, .bib, .csl)."""
    proj = tmp_path / "proj"
    proj.mkdir()
    for name in ("_quarto.yml", "references.bib"):
        shutil.copy(ROOT / name, proj / name)
    (proj / "docs").mkdir()
    shutil.copy(ROOT / "docs" / "vancouver-superscript.csl", proj / "docs")
    (proj / "helpers").symlink_to(ROOT / "helpers", target_is_directory=True)
    make_notebook(proj / "build" / "notebooks" / "03_survival.ipynb")
    (proj / "build" / "results").mkdir(parents=True)
    (proj / "build" / "results" / "survival.csv").write_text("key,value\nos_60_sbrt,0.618\n")
    (proj / "figs").mkdir()
    (proj / "figs" / "inline.png").write_bytes(base64.b64decode(_png(3, 2)))
    (proj / "index.qmd").write_text(ARTICLE, encoding="utf-8")
    return proj


def _norm(s: str) -> str:
    """Collapse whitespace, including the no-break space after "Figure"."""
    return re.sub(r"\s+", " ", s).strip()


def _render(proj: Path, **kw):
    return render(proj, proj / "build", engine="pip", log=lambda _m: None, **kw)


# --------------------------------------------------------------------------
# helpers.report.display
# --------------------------------------------------------------------------

def test_table_html_two_level_header():
    html = table_html(baseline_frame())
    head = html.split("</thead>")[0]
    assert head.count("<tr>") == 2
    assert '<th colspan="3" style="text-align: center">Before matching</th>' in head
    assert '<th rowspan="2" style="text-align: left">Variables</th>' in head
    assert '<th rowspan="2" style="text-align: center">SMD</th>' in head
    assert "\u2003A" in html  # indented level, survives every writer


def test_default_alignment_and_padding_indent():
    df = pd.DataFrame({"Step": ["0", "1"], "Criterion": ["Screened", "Tumour <= 7 cm"],
                       "n": [190, 176], "Rate": ["91.2 (81.4-95.9)", "76.5 (64.5-84.9)"]})
    html = table_html(df)
    assert '<th style="text-align: left">Criterion</th>' in html
    assert '<th style="text-align: center">n</th>' in html
    assert '<th style="text-align: center">Rate</th>' in html
    # CSS padding is dropped by Pandoc; show_table turns it into em spaces
    out = show_table('<table><tbody><tr><td style="text-align:left;padding-left:1.5em">A</td>'
                     "</tr></tbody></table>").html
    assert '<td style="text-align:left">\u2003A</td>' in out


def test_show_table_bundle_has_no_markdown():
    bundle = show_df(baseline_frame())._repr_mimebundle_()
    # text/markdown would win over text/html in Quarto's PDF/DOCX output and
    # flatten the two-level header (quarto-cli displayDataMimeType).
    assert set(bundle) == {"text/html", "text/plain"}
    assert show_table("<table><tr><td>1</td></tr></table>", "| 1 |").text == "| 1 |"
    with pytest.raises(ValueError):
        show_table("<p>not a table</p>")


# --------------------------------------------------------------------------
# _quarto.yml against Quarto's documented schema
# --------------------------------------------------------------------------

# Quarto's project schema (quarto-cli src/resources/schema/project.yml,
# "Project Options" on quarto.org) is closed: only these keys.
PROJECT_KEYS = {"title", "type", "render", "execute-dir", "output-dir", "lib-dir", "resources",
                "preview", "pre-render", "post-render"}
# "Manuscript Options" (quarto.org/docs/reference/projects/manuscripts.html).
MANUSCRIPT_KEYS = {"article", "code-links", "manuscript-url", "meca-bundle", "notebooks",
                   "resources", "environment"}
# crossref.custom items (schema document-crossref.yml: closed object,
# required kind/reference-prefix/key).
CUSTOM_XREF_KEYS = {"kind", "reference-prefix", "caption-prefix", "space-before-numbering", "key",
                    "latex-env", "latex-list-of-file-extension", "latex-list-of-description",
                    "caption-location"}
# Execution options (quarto.org Execution Options).
EXECUTE_KEYS = {"eval", "echo", "output", "warning", "error", "include", "cache", "freeze",
                "enabled", "daemon", "debug", "ipynb", "kernel"}


def test_quarto_yml_is_a_valid_manuscript_project():
    cfg = yaml.safe_load((ROOT / "_quarto.yml").read_text(encoding="utf-8"))
    assert cfg["project"]["type"] == "manuscript"
    assert set(cfg["project"]) <= PROJECT_KEYS
    assert not Path(cfg["project"]["output-dir"]).is_absolute()
    assert Path(cfg["project"]["output-dir"]).parts[:1] == ("build",)
    man = cfg.get("manuscript", {})
    assert set(man) <= MANUSCRIPT_KEYS
    # the article: manuscript.article, else index.qmd / index.ipynb
    assert man.get("article", "index.qmd") in ("index.qmd", "index.ipynb")
    assert set(cfg.get("execute", {})) <= EXECUTE_KEYS
    assert (ROOT / cfg["bibliography"]).exists()
    assert (ROOT / cfg["csl"]).exists()
    for item in cfg["crossref"]["custom"]:
        assert {"kind", "reference-prefix", "key"} <= set(item) <= CUSTOM_XREF_KEYS
        assert item["kind"] == "float"
        assert "-" not in item["key"]
    assert {c["key"] for c in cfg["crossref"]["custom"]} == {"suppfig", "supptbl"}
    assert set(cfg["format"]) == {"html", "typst", "docx"}


def test_references_bib_has_all_25_with_dois():
    """The paper's 25 references in its order, then the paper itself, then the report's own (the reviewer's
    appendix: STROBE, Austin's caliper)."""
    text = (ROOT / "references.bib").read_text(encoding="utf-8")
    keys = re.findall(r"^@\w+\{([^,]+),", text, re.MULTILINE)
    assert len(keys) == len(set(keys)) == 28
    assert keys[0] == "bray2024" and keys[24] == "liu2020" and keys[25] == "wu2026"
    assert keys[26:] == ["vonelm2007", "austin2011"]
    entries = re.split(r"\n(?=@)", text.split("\n@", 1)[1])
    without_doi = [k for k, e in zip(keys, entries) if "doi " not in e and "doi=" not in e]
    assert without_doi == ["nci2009"]  # the CTCAE v4.0 report has no DOI


# --------------------------------------------------------------------------
# pip-only render
# --------------------------------------------------------------------------

@pytest.mark.slow
def test_pip_render_outputs(project: Path):
    from bs4 import BeautifulSoup
    from pypdf import PdfReader

    result = _render(project)
    report = project / "build" / "report"
    assert set(result.outputs) == {"html", "pdf", "docx"}
    assert (result.figures, result.tables, result.supplementary) == (2, 2, 1)

    html = (report / "index.html").read_text(encoding="utf-8")
    soup = BeautifulSoup(html, "html.parser")
    ids = {t["id"] for t in soup.find_all(id=True)}

    fig = soup.find("figure", id="fig-km")
    assert fig is not None and fig.find("img")["src"].startswith("data:image/png;base64,")
    assert _norm(fig.find("figcaption").get_text(" ")).startswith("Figure 1:")
    supp = soup.find("figure", id="suppfig-love")
    assert _norm(supp.find("figcaption").get_text(" ")).startswith("Supplementary Figure 1:")

    table = soup.find("table", id="tbl-baseline")
    assert _norm(table.find("caption").get_text(" ")).startswith("Table 1:")
    head_rows = table.find("thead").find_all("tr")
    assert len(head_rows) == 2
    assert table.find("th", attrs={"colspan": "3"}).get_text(strip=True) == "Before matching"
    assert "102 (93.578)" in table.get_text()

    text = soup.get_text(" ", strip=True)
    assert "61.8%" in text                       # inline code from results CSV
    xrefs = {_norm(a.get_text(" ")): a["href"] for a in soup.select("a.quarto-xref")}
    assert xrefs == {"Figure 1": "#fig-km", "Table 1": "#tbl-baseline",
                     "Supplementary Figure 1": "#suppfig-love",
                     "Table 2": "#tbl-inline", "Figure 2": "#fig-inline"}
    assert _norm(soup.find("table", id="tbl-inline").find("caption").get_text(" ")).startswith(
        "Table 2: Published and reproduced counts.")
    inline_fig = soup.find("figure", id="fig-inline")
    assert inline_fig.find("img")["src"].startswith("data:image/png;base64,")
    assert _norm(inline_fig.find("figcaption").get_text(" ")).startswith("Figure 2:")
    for a in soup.find_all("a", href=True):
        if a["href"].startswith("#"):
            assert a["href"][1:] in ids, a["href"]

    refs = soup.find(id="refs")
    assert refs is not None and len(refs.select(".csl-entry")) == 3
    assert "Bray F, Laversanne M" in refs.get_text(" ")
    assert soup.find("sup") is not None and soup.select('a[href="#ref-bray2024"]')
    assert "??" not in text
    assert "{python}" not in html and "{{<" not in html

    # nothing is loaded from the network
    for tag, att in (("img", "src"), ("script", "src"), ("link", "href"), ("iframe", "src")):
        for t in soup.find_all(tag):
            assert not re.match(r"^(https?:)?//", t.get(att, "")), t
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", html)
    assert not re.search(r"@import", html)

    # source links land on a cell of the rendered notebook page
    links = [a["href"] for a in soup.select(".source-note a")]
    assert "notebooks/03_survival.html#fig-km" in links
    assert "notebooks/03_survival.html#love-plot" in links
    page = BeautifulSoup((report / "notebooks" / "03_survival.html").read_text(encoding="utf-8"),
                         "html.parser")
    for anchor in ("fig-km", "tbl-baseline", "love-plot"):
        assert page.find(id=anchor) is not None
    for t in page.find_all("script", src=True):
        assert not re.match(r"^(https?:)?//", t["src"])

    # PDF: captions, table text, references
    pdf_text = "\n".join(p.extract_text() for p in PdfReader(report / "index.pdf").pages)
    flat = _norm(pdf_text)
    for needle in ("Figure 1:", "Table 1:", "Supplementary Figure 1:", "Table 2:", "Figure 2:",
                   "Before matching",
                   "After matching", "102 (93.578)", "Jane Roe", "ABSTRACT", "61.8%",
                   "Bray F, Laversanne M", "Test Hospital"):
        assert needle in flat, needle
    assert "??" not in flat

    # DOCX: the table keeps its column groups (gridSpan) and captions
    with zipfile.ZipFile(report / "index.docx") as z:
        xml = _norm(z.read("word/document.xml").decode("utf-8"))
    assert 'w:gridSpan w:val="3"' in xml
    assert "Table 1:" in xml and "Figure 1:" in xml and "Before matching" in xml


@pytest.mark.slow
def test_unresolved_figure_reference_fails(project: Path):
    qmd = project / "index.qmd"
    qmd.write_text(qmd.read_text().replace("(@fig-km)", "(@fig-missing)"))
    with pytest.raises(RenderError, match=r"@fig-missing"):
        _render(project, formats=("html",))


@pytest.mark.slow
def test_cli_exits_nonzero_with_message(project: Path):
    qmd = project / "index.qmd"
    qmd.write_text(qmd.read_text().replace("(@fig-km)", "(@fig-missing)"))
    proc = subprocess.run([sys.executable, "-m", "helpers.render", "--project", str(project),
                           "--out", str(project / "build"), "--engine", "pip", "--to", "html"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 1
    assert "@fig-missing" in proc.stderr
    assert "pip-only" in proc.stdout


@pytest.mark.slow
@pytest.mark.parametrize("change, message", [
    (("[@bray2024]", "[@nobody2020]"), r"unresolved citation.*@nobody2020"),
    (("#fig-km >}}", "#fig-nope >}}"), r"no cell 'fig-nope' in 03_survival.ipynb"),
    (("03_survival.ipynb#tbl", "04_missing.ipynb#tbl"), r"04_missing.ipynb does not exist"),
    (('r["os_60_sbrt"]', 'r["no_such_key"]'), r"inline expression .*no_such_key"),
    (("a fixture.", "a fixture of `{python} 1 + 1` items."), r"front matter 'abstract' contains inline code"),
    (("::: {#suppfig-love}\n{{< embed build/notebooks/03_survival.ipynb#love-plot >}}\n\n"
      "Love plot of standardized mean differences.\n:::",
      "{{< embed build/notebooks/03_survival.ipynb#love-plot >}}"),
     r"unresolved cross-reference.*@suppfig-love"),
    (("(@tbl-inline, @fig-inline)", "(@tbl-inline, @fig-inline, @sec-results)"),
     r"unresolved cross-reference.*@sec-results"),
])
def test_broken_sources_fail_loudly(project: Path, change, message):
    qmd = project / "index.qmd"
    qmd.write_text(qmd.read_text().replace(*change))
    with pytest.raises(RenderError, match=message):
        _render(project, formats=("html",))


@pytest.mark.slow
def test_a_failed_render_keeps_the_previous_report(project: Path):
    """The pip-only renderer writes <out>/.report.partial and swaps it in only on success."""
    _render(project, formats=("html",))
    report = project / "build" / "report"
    before = {p.relative_to(report): p.read_bytes() for p in report.rglob("*") if p.is_file()}
    assert Path("index.html") in before and Path("notebooks/03_survival.html") in before
    qmd = project / "index.qmd"
    qmd.write_text(qmd.read_text().replace("(@fig-km)", "(@fig-missing)"))
    with pytest.raises(RenderError, match=r"@fig-missing(.|\n)*the previous report in .* is unchanged"):
        _render(project, formats=("html",))
    assert {p.relative_to(report): p.read_bytes() for p in report.rglob("*") if p.is_file()} == before
    assert not (project / "build" / ".report.old").exists()


@pytest.mark.slow
def test_out_dir_other_than_build(project: Path, tmp_path: Path):
    """--out elsewhere: embeds and results are read from there."""
    other = tmp_path / "other-build"
    shutil.copytree(project / "build", other)
    (other / "results" / "survival.csv").write_text("key,value\nos_60_sbrt,0.5\n")
    render(project, other, engine="pip", formats=("html",), log=lambda _m: None)
    assert "50.0%" in (other / "report" / "index.html").read_text(encoding="utf-8")


@pytest.mark.skipif(shutil.which("quarto") is None, reason="quarto is not on PATH")
@pytest.mark.slow
def test_quarto_renders_the_fixture(project: Path):
    result = render(project, project / "build", engine="quarto", log=lambda _m: None)
    assert {"html"} <= set(result.outputs)
    html = result.outputs["html"].read_text(encoding="utf-8")
    assert "Figure" in html and "Table" in html and "?@" not in html


def test_quarto_renders_a_build_elsewhere_from_a_staged_copy(tmp_path):
    """`make report OUT=elsewhere` with real Quarto: the sources and OUT's notebooks are copied."""
    from helpers.render.quarto import PROJECT_SOURCES, staged_project

    out = tmp_path / "elsewhere"
    (out / "notebooks").mkdir(parents=True)
    (out / "notebooks" / "01_eligibility.ipynb").write_text("{}")
    stage = staged_project(ROOT, out)
    assert stage == out / ".quarto-project"
    for name in PROJECT_SOURCES:
        assert (stage / name).exists(), name
    assert (stage / "index.qmd").read_text(encoding="utf-8") == (ROOT / "index.qmd").read_text(encoding="utf-8")
    assert (stage / "build" / "notebooks" / "01_eligibility.ipynb").read_text() == "{}"
    assert staged_project(ROOT, out) == stage  # a second render replaces the copy
