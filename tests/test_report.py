"""The rendered manuscript, checked from the files themselves (HTML parsed, PDF text extracted)."""
from __future__ import annotations

import re

import pytest
from bs4 import BeautifulSoup
from pypdf import PdfReader

from helpers.paths import ROOT


@pytest.fixture(scope="module")
def report(default_build):
    from helpers.render import render

    render(ROOT, default_build, engine="pip")
    return default_build / "report"


@pytest.fixture(scope="module")
def pdf_text(report) -> str:
    """The PDF's text, extracted once for the module's tests (pypdf takes seconds per extraction)."""
    return " ".join(page.extract_text() for page in PdfReader(report / "index.pdf").pages)


@pytest.mark.slow
def test_html_has_every_table_and_figure_captioned_and_cross_referenced(report):
    html = (report / "index.html").read_text(encoding="utf-8")
    soup = BeautifulSoup(html, "html.parser")
    ids = {t.get("id") for t in soup.find_all(id=True)}
    for label in ["tbl-flow", "tbl-baseline", "fig-ps-density", "tbl-km-rates", "fig-km", "tbl-treatment-hr",
                  "tbl-progression", "tbl-toxicity", "tbl-published-vs-reproduced", "suppfig-flow-diagram",
                  "suppfig-love-plot"] + [f"fig-forest-{e}-{c}" for c in ("before", "after") for e in ("os", "pfs", "lc")]:
        assert label in ids, label
    for a in soup.find_all("a", href=re.compile(r"^#(fig|tbl|suppfig)-")):
        assert a["href"][1:] in ids, a["href"]
    text = soup.get_text(" ")
    assert "??" not in text and "{python}" not in text and "{{<" not in text
    assert "synthetic" in text.lower()
    assert "Data: the default synthetic cohort, calibrated to the published aggregates (cohort.csv, 190" in \
        " ".join(text.split())
    assert len(soup.find_all("table")) >= 7
    # no resource loaded from the network
    for tag in soup.find_all(["script", "img", "link", "iframe"]):
        src = tag.get("src") or (tag.get("href") if tag.name == "link" else None) or ""
        assert not src.startswith(("http://", "https://", "//")), src


@pytest.mark.slow
def test_pdf_text_has_tables_figures_and_references(report, pdf_text):
    text = pdf_text.replace("\xa0", " ")
    for needle in ("Table 1", "Figure 1", "Supplementary Figure 1", "Supplementary Figure 2", "Before matching",
                   "After matching", "References", "Bray"):
        assert needle in text, needle
    assert "??" not in text
    assert (report / "index.docx").stat().st_size > 50_000


@pytest.mark.slow
def test_report_shows_aggregates_only(report, pdf_text):
    """No patient identifier and no individual date in any rendered page, the PDF or the Word file."""
    import zipfile

    from degenerate_cases import find_private_values, private_values

    from helpers.paths import COHORT_CSV

    ids, dates = private_values(COHORT_CSV)
    assert len(ids) == 190 and len(dates) > 500
    texts = {p.name: p.read_text(encoding="utf-8")
             for p in [report / "index.html", *sorted((report / "notebooks").glob("*.html"))]}
    texts["index.pdf"] = pdf_text
    with zipfile.ZipFile(report / "index.docx") as z:
        texts["index.docx"] = z.read("word/document.xml").decode("utf-8")
    assert len(texts) >= 8
    for name, text in texts.items():
        assert find_private_values(text, ids, dates) == [], name
    # and the check itself finds them when they are there
    some_id, some_date = sorted(ids)[0], sorted(dates)[0]
    assert find_private_values(f"row {some_id} on {some_date}", ids, dates) == sorted([some_id, some_date])


@pytest.mark.slow
def test_no_rendered_file_names_a_machine_path(report, pdf_text):
    """No absolute path of the checkout in any rendered file, nor in any part of the DOCX (pandoc's
    citeproc once left the bibliography's and the style's paths in docProps/custom.xml). The build
    folder itself is named as the test gave it (absolute), as a user's OUT would be."""
    import zipfile

    paths = re.compile(re.escape(str(ROOT)))
    pages = [report / "index.html", *sorted((report / "notebooks").glob("*.html"))]
    for page in pages:
        assert not paths.search(page.read_text(encoding="utf-8")), page.name
    with zipfile.ZipFile(report / "index.docx") as docx:
        for part in docx.namelist():
            found = paths.search(docx.read(part).decode("utf-8", "replace"))
            assert not found, (part, found and found.group(0))
    assert not paths.search(pdf_text)


#: Numbers the article types on purpose: constants of the methods and of the literature, not results of a run.
#: Each is removed (with its context) before checking that every other number in the prose is a link.
TYPED_ON_PURPOSE = (
    "50-70%",                      # Introduction: recurrence rate from the literature, cited
    "notebook 00",                 # a notebook's name
    "SHA-256",                     # a checksum's name
    "BED = D(1 + d/(α/β))",        # the formula
    "CTCAE v4.0", "MatchIt 4.5.1",  # versions of the grading system and of the software the paper used
    "30.4375 days",                # days per month, a convention (helpers.data.derive)
    "Table 1", "Table 2",          # names of the paper's tables
    "1-, 3- and 5-year",           # the paper's (and the calibration's) time points, as published
    "at least 5", "n ≥ 40", "between 1 and 5", "all 22 published",  # the Table 1 test rule, as the paper states it
    "95%", "“<0.001” below 0.001", "1e-6",  # reporting conventions (helpers.report.fmt) and the R agreement bound
    "grade 1-2", "5% level",       # a category's name; the significance level of the wording
)


def _article_prose(soup: BeautifulSoup) -> BeautifulSoup:
    """The article's paragraphs without floats, captions, source lines, references, front matter and links."""
    main = soup.find("main") or soup.body
    for tag in main.select("figure, table, .source-note, #refs, .references, header, nav, .abstract, "
                           "#title-block-header, a.quarto-xref, a[href^='#ref-'], a[role=doc-biblioref], sup"):
        tag.decompose()
    return main


@pytest.mark.slow
def test_every_inline_number_links_to_the_cell_that_computed_it(report, default_build):
    """Issue 11 item 2: each number of the HTML article links to the notebook page and cell that computed it,
    titled with its results row, and the row names that notebook and cell."""
    from helpers.results import read_index, read_numbers

    soup = BeautifulSoup((report / "index.html").read_text(encoding="utf-8"), "html.parser")
    links = soup.select("a.result-number")
    assert len(links) >= 100
    numbers = read_numbers(default_build)
    origins = set(zip(numbers["notebook"], numbers["cell"])) | set(
        zip(read_index(default_build)["notebook"], read_index(default_build)["cell"]))
    pages: dict[str, BeautifulSoup] = {}
    for a in links:
        page, cell = a["href"].split("#")
        if page not in pages:
            pages[page] = BeautifulSoup((report / page).read_text(encoding="utf-8"), "html.parser")
        assert pages[page].find(id=cell) is not None, f"{a.text!r} links to {a['href']}, which has no such cell"
        notebook = page.removeprefix("notebooks/").removesuffix(".html")
        assert (notebook, cell) in origins, f"{a.text!r}: no results row or file comes from {notebook}, {cell}"
        title = a.get("title", "")
        assert f"notebook {notebook}" in title, (a.text, title)
        if title.startswith("results/numbers.csv: "):
            keys = dict(kv.split("=", 1) for kv in title.removeprefix("results/numbers.csv: ")
                        .split(" (notebook")[0].split(", "))
            rows = numbers
            for col, value in keys.items():
                rows = rows[rows[col] == value]
            assert len(rows) == 1 and (rows["notebook"].iloc[0], rows["cell"].iloc[0]) == (notebook, cell), title
    # the matched OS hazard ratio of the text is the treatment_hr row of notebook 03's treatment-HR cell
    hr = next(a for a in links if "quantity=treatment_hr, cohort=after, arm=SBRT+TACE, endpoint=OS" in a["title"])
    row = numbers[(numbers["quantity"] == "treatment_hr") & (numbers["cohort"] == "after")
                  & (numbers["endpoint"] == "OS")].iloc[0]
    assert " ".join(hr.text.split()) == f"HR {row['value']:.2f}, 95% CI {row['ci_lower']:.2f}\u2013{row['ci_upper']:.2f}"
    assert hr["href"] == "notebooks/03_survival.html#tbl-treatment-hr"
    # and no other number is left in the prose, apart from the constants typed on purpose
    prose = _article_prose(soup)
    for a in prose.select("a.result-number"):
        a.decompose()
    text = " ".join(prose.get_text(" ").split())
    for phrase in TYPED_ON_PURPOSE:
        text = text.replace(phrase, " ")
    assert not re.findall(r"\S*\d\S*", text), re.findall(r".{0,40}\d.{0,20}", text)
