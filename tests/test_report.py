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
def test_pdf_text_has_tables_figures_and_references(report):
    reader = PdfReader(report / "index.pdf")
    text = " ".join(page.extract_text() for page in reader.pages).replace("\xa0", " ")
    for needle in ("Table 1", "Figure 1", "Supplementary Figure 1", "Supplementary Figure 2", "Before matching",
                   "After matching", "References", "Bray"):
        assert needle in text, needle
    assert "??" not in text
    assert (report / "index.docx").stat().st_size > 50_000


@pytest.mark.slow
def test_report_shows_aggregates_only(report):
    """No patient identifier and no individual date in any rendered page, the PDF or the Word file."""
    import zipfile

    from degenerate_cases import find_private_values, private_values
    from helpers.paths import COHORT_CSV

    ids, dates = private_values(COHORT_CSV)
    assert len(ids) == 190 and len(dates) > 500
    texts = {p.name: p.read_text(encoding="utf-8")
             for p in [report / "index.html", *sorted((report / "notebooks").glob("*.html"))]}
    texts["index.pdf"] = " ".join(page.extract_text() for page in PdfReader(report / "index.pdf").pages)
    with zipfile.ZipFile(report / "index.docx") as z:
        texts["index.docx"] = z.read("word/document.xml").decode("utf-8")
    assert len(texts) >= 8
    for name, text in texts.items():
        assert find_private_values(text, ids, dates) == [], name
    # and the check itself finds them when they are there
    some_id, some_date = sorted(ids)[0], sorted(dates)[0]
    assert find_private_values(f"row {some_id} on {some_date}", ids, dates) == sorted([some_id, some_date])


@pytest.mark.slow
def test_no_rendered_file_names_a_machine_path(report):
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
    pdf_text = " ".join(p.extract_text() for p in PdfReader(report / "index.pdf").pages)
    assert not paths.search(pdf_text)
