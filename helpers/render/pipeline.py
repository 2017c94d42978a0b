"""The pip-only renderer: Quarto article → HTML, PDF (Typst) and DOCX.

Steps:

1. read ``_quarto.yml`` and the article's front matter (merged like Quarto);
2. run the article's python cells and inline expressions, expand shortcodes
   (:mod:`.qmd`) — the notebooks themselves are *not* executed;
3. parse the result with Pandoc, pull embedded cell outputs from the
   executed notebooks, number figures/tables/supplementary items and
   resolve ``@``-references (:mod:`.floats`);
4. check every citation key against the bibliography, run citeproc once;
5. write ``index.html`` (standalone, resources embedded, no network),
   ``index.docx`` and ``index.pdf`` (Typst source compiled with the ``typst``
   package, embedded fonts only), plus one HTML page per embedded notebook.
"""
from __future__ import annotations

import datetime
import json
import multiprocessing
import os
import re
import shutil
import sys
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import floats as fl
from . import notebooks as nbs
from . import numbers as num
from . import pandoc_ast as pa
from .errors import RenderError
from .meta import NON_DOCUMENT_KEYS, author_marks, deep_merge, load_project, normalize_authors, split_front_matter
from .qmd import Executor, Preprocessor, check_front_matter_inline_code
from .quarto import replace_report

TEMPLATES = Path(__file__).resolve().parent / "templates"
FORMATS = ("html", "pdf", "docx")

# Front-matter keys pandoc must not see as document metadata (the renderer
# handles them itself or they configure Quarto only).
_DROP_FOR_PANDOC = NON_DOCUMENT_KEYS | {"author", "authors", "affiliations", "bibliography", "csl",
                                        "crossref", "link-citations", "toc", "number-sections",
                                        "notebook-links", "notebook-view", "citeproc",
                                        "tbl-cap-location"}


@dataclass
class RenderResult:
    renderer: str
    outputs: dict[str, Path] = field(default_factory=dict)
    notebook_pages: list[Path] = field(default_factory=list)
    figures: int = 0
    tables: int = 0
    supplementary: int = 0


def _bib_keys(paths: list[Path]) -> set[str]:
    keys: set[str] = set()
    for p in paths:
        if not p.exists():
            raise RenderError(f"bibliography file {p} does not exist")
        text = p.read_text(encoding="utf-8")
        if p.suffix == ".json":
            keys |= {str(item["id"]) for item in json.loads(text)}
        elif p.suffix in (".yaml", ".yml"):
            data = yaml.safe_load(text) or {}
            keys |= {str(item["id"]) for item in data.get("references", [])}
        else:
            for kind, key in re.findall(r"^\s*@(\w+)\s*\{\s*([^,\s]+)\s*,", text, re.MULTILINE):
                if kind.lower() not in ("string", "comment", "preamble"):
                    keys.add(key)
    return keys


def _as_list(v: Any) -> list[Any]:
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


class _PagePool:
    """The notebook pages, rendered in worker processes while the article is written.

    Every executed notebook of the build gets its page at once, with an anchor
    at each labelled cell (what an embed or an inline number links to); the
    renderer later takes the pages it needs (:meth:`page`), renders in
    this process any that needs other anchors (a cell id or tag), and removes
    the pages nothing links to. A page that failed is rendered again in this
    process, where its error is reported.
    """

    def __init__(self, notebooks: list[Path], pages: Path) -> None:
        self.pages = pages
        self.futures: dict[Path, Future] = {}
        if not notebooks:
            self.pool = None
            return
        workers = max(1, min(len(notebooks), (os.cpu_count() or 2) - 1, 4))
        context = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")
        self.pool = ProcessPoolExecutor(workers, mp_context=context)
        for nb in notebooks:
            self.futures[nb.resolve()] = self.pool.submit(
                nbs.render_notebook_page, nb, self.path(nb), back_href="../index.html")

    def path(self, notebook: Path) -> Path:
        return self.pages / f"{notebook.stem}.html"

    def page(self, notebook: Path, labels: list[str]) -> list[str] | None:
        """The anchors of ``notebook``'s page if it was rendered here with every one of ``labels``, else None."""
        future = self.futures.pop(notebook.resolve(), None)
        if future is None:
            return None
        try:
            anchors = future.result()
        except Exception:  # noqa: BLE001 - rendered again by the caller, which reports the error
            return None
        return anchors if set(labels) <= set(anchors) else None

    def close(self) -> None:
        """Wait for the workers; remove the pages nobody took."""
        if self.pool is None:
            return
        self.pool.shutdown(wait=True, cancel_futures=True)
        for notebook in self.futures:
            self.path(notebook).unlink(missing_ok=True)
        self.futures.clear()


class PipRenderer:
    def __init__(self, project_dir: Path, out_dir: Path, formats: tuple[str, ...] = FORMATS,
                 log: Callable[[str], None] = print) -> None:
        self.project = project_dir.resolve()
        self.out = out_dir.resolve()
        self.formats = tuple(formats)
        unknown = set(self.formats) - set(FORMATS)
        if unknown:
            raise RenderError(f"unknown output format(s) {sorted(unknown)}; choose from {FORMATS}")
        self.log = log
        self.config = load_project(self.project)
        self.article = self.config.article
        self.report = self.out / "report"
        self.work = self.out / ".render"
        self.media = self.work / "media"

    # ------------------------------------------------------------------
    def map_build_path(self, p: Path) -> Path:
        """Embeds name build/...; with another --out, read from there."""
        p = p.resolve()
        default_build = (self.project / "build").resolve()
        if self.out != default_build:
            try:
                return self.out / p.relative_to(default_build)
            except ValueError:
                pass
        return p

    def notebook_href(self, cell: nbs.EmbeddedCell) -> str:
        return self.number_href(cell.stem, cell.label)

    @staticmethod
    def number_href(notebook: str, cell: str) -> str:
        """The notebook page at a cell, relative to the article."""
        return f"notebooks/{notebook}.html#{cell}"

    # ------------------------------------------------------------------
    def render(self) -> RenderResult:
        """Render into ``<out>/.report.partial``, which replaces ``<out>/report`` on success.

        A failed render leaves the previous ``<out>/report`` as it was; the
        error says so, and the partial output stays for inspection.
        """
        final = self.report
        self.report = self.out / ".report.partial"
        try:
            result = self._render()
        except RenderError as exc:
            kept = (f"the previous report in {final} is unchanged" if final.exists()
                    else f"no report was written to {final}")
            raise RenderError(f"{exc}\n  ({kept}; the partial output is in {self.report})") from exc
        finally:
            staged, self.report = self.report, final
        replace_report(staged, final)
        result.outputs = {f: final / p.relative_to(staged) for f, p in result.outputs.items()}
        result.notebook_pages = [final / p.relative_to(staged) for p in result.notebook_pages]
        return result

    def _wrote(self, path: Path) -> None:
        """Log an output under the name it has once the report is in place."""
        self.log(f"  wrote {self.out / 'report' / path.relative_to(self.report)}")

    def _render(self) -> RenderResult:
        if not self.article.exists():
            raise RenderError(f"article {self.article} not found")
        if self.article.suffix != ".qmd":
            raise RenderError(f"the pip-only renderer reads .qmd articles, not {self.article.name}")
        nbs.clear_cache()
        text = self.article.read_text(encoding="utf-8")
        front, body, fm_lines = split_front_matter(text, self.article.name)
        check_front_matter_inline_code(front, self.article.name)
        meta = deep_merge(self.config.document_defaults(), front)
        execute = deep_merge(self.config.execute, front.get("execute") or {})

        shutil.rmtree(self.report, ignore_errors=True)
        shutil.rmtree(self.work, ignore_errors=True)
        self.report.mkdir(parents=True)
        self.media.mkdir(parents=True)
        notebooks = sorted(p for p in (self.out / "notebooks").glob("*.ipynb") if not p.name.startswith("."))
        self._pages = _PagePool(notebooks, self.report / "notebooks")
        try:
            return self._render_article(front, body, fm_lines, meta, execute)
        finally:
            self._pages.close()

    def _render_article(self, front: dict[str, Any], body: str, fm_lines: int, meta: dict[str, Any],
                        execute: dict[str, Any]) -> RenderResult:

        # 1-2. code cells, inline code, shortcodes
        executor = Executor(self.article.parent, {"HCC_BUILD_DIR": str(self.out), "MPLBACKEND": "Agg"})
        pre = Preprocessor(self.article, meta, executor, execute).run(body, fm_lines + 1)
        if "`{python}" in pre.markdown:
            line = next(ln for ln in pre.markdown.splitlines() if "`{python}" in ln)
            raise RenderError(f"inline code left unevaluated (split over lines?): {line.strip()}")

        pandoc_meta = {k: v for k, v in meta.items() if k not in _DROP_FOR_PANDOC}
        if str(pandoc_meta.get("date", "")) in ("today", "now", "last-modified"):
            # Quarto's date keywords
            stamp = (datetime.date.fromtimestamp(self.article.stat().st_mtime)
                     if pandoc_meta["date"] == "last-modified" else datetime.date.today())
            pandoc_meta["date"] = stamp.isoformat()
        md = "---\n" + yaml.safe_dump(pandoc_meta, allow_unicode=True, sort_keys=False) + "---\n\n" + pre.markdown
        (self.work / "index.md").write_text(md, encoding="utf-8")
        doc = pa.read(md, "markdown")

        # 3. floats and cross-references
        kinds, delim = fl.crossref_kinds(meta.get("crossref"))
        builder = fl.FloatBuilder(kinds, delim, self.media, "media", self.notebook_href,
                                  self.map_build_path)
        doc["blocks"] = builder.process(doc["blocks"])
        citations = builder.resolve_references(doc)

        # 4. citations
        bib_paths = [(self.article.parent / b).resolve() for b in _as_list(meta.get("bibliography"))]
        if citations:
            if not bib_paths:
                raise RenderError("citations " + ", ".join("@" + c for c in sorted(set(citations)))
                                  + " but no 'bibliography' in the front matter or _quarto.yml")
            missing = sorted(set(citations) - _bib_keys(bib_paths))
            if missing:
                raise RenderError("unresolved citation(s) " + ", ".join("@" + m for m in missing)
                                  + f": not in {', '.join(p.name for p in bib_paths)}")
        self._add_template_meta(doc, meta, builder)
        doc = self._citeproc(doc, meta, bib_paths)

        # 5. outputs
        result = RenderResult(renderer="pip-only (pandoc + typst)")
        fmt_map = {"html": self._write_html, "pdf": self._write_pdf, "docx": self._write_docx}
        # The formats are written at the same time: each writer works on its own copy of the document
        # (floats.finalize) and most of its time is pandoc's (a process of its own) or typst's.
        with ThreadPoolExecutor(max_workers=max(1, len(self.formats))) as writers:
            written = {fmt: writers.submit(fmt_map[fmt], doc, meta) for fmt in self.formats}
            for fmt in self.formats:
                result.outputs[fmt] = written[fmt].result()
        result.notebook_pages = self._notebook_pages(builder, num.number_cells(doc))
        if "html" in result.outputs:
            self._check_html(result.outputs["html"])
        counts = builder.counters
        result.figures = counts.get("fig", 0)
        result.tables = counts.get("tbl", 0)
        result.supplementary = sum(v for k, v in counts.items() if k not in ("fig", "tbl"))
        return result

    # ------------------------------------------------------------------
    def _add_template_meta(self, doc: pa.Node, meta: dict[str, Any], builder: fl.FloatBuilder) -> None:
        m = doc["meta"]
        authors, affs = normalize_authors(meta)

        def md_inlines(s: str) -> list[pa.Node]:
            blocks = pa.read_blocks(s, "markdown")
            return blocks[0]["c"] if blocks and blocks[0]["t"] in ("Para", "Plain") else pa.text_inlines(s)

        if authors:
            m["hcc-authors"] = pa.meta_list([
                pa.meta_map({"name": pa.meta_inlines(md_inlines(a.name)),
                             "marks": pa.meta_inlines([pa.Str(author_marks(a, affs))]) if author_marks(a, affs) else pa.meta_bool(False)})
                for a in authors])
            m["author-meta"] = pa.meta_list([pa.meta_text(a.name) for a in authors])
            family = authors[0].name.split()[-1]
            m["hcc-running-head"] = pa.meta_text(f"{family} et al." if len(authors) > 1 else authors[0].name)
        else:
            m["hcc-running-head"] = pa.meta_text("")
        if affs:
            m["hcc-affiliations"] = pa.meta_list([
                pa.meta_map({"number": pa.meta_string(str(a.number)),
                             "text": pa.meta_inlines(md_inlines(a.text))}) for a in affs])
        notes = []
        if any(a.equal_contributor for a in authors):
            notes.append(pa.meta_inlines([pa.Superscript([pa.Str("#")]), *pa.text_inlines("Contributed equally to this work.")]))
        corr = [a for a in authors if a.corresponding]
        if corr:
            inl: list[pa.Node] = [pa.Superscript([pa.Str("*")]), *pa.text_inlines("Correspondence to:"), pa.Space()]
            for i, a in enumerate(corr):
                if i:
                    inl += [pa.Str(";"), pa.Space()]
                inl += pa.text_inlines(a.name)
                if a.email:
                    inl += [pa.Space(), pa.Str("("), pa.Link([pa.Str(a.email)], f"mailto:{a.email}"), pa.Str(")")]
            notes.append(pa.meta_inlines(inl))
        if notes:
            m["hcc-author-notes"] = pa.meta_list(notes)
        m.setdefault("abstract-title", pa.meta_text("Abstract"))
        title = pa.stringify(m.get("title", {}).get("c", [])) if "title" in m else self.article.stem
        m["pagetitle"] = pa.meta_text(title)
        lang = str(meta.get("lang", "en"))
        lang_parts = lang.split("-")
        m["hcc-lang"] = pa.meta_string(lang_parts[0].lower())
        if len(lang_parts) > 1:
            m["hcc-region"] = pa.meta_string(lang_parts[1].upper())
        m["pandoc-version"] = pa.meta_string(pa.pandoc_version())
        others = [(f, label) for f, label in (("pdf", "PDF (Typst)"), ("docx", "Word (DOCX)")) if f in self.formats]
        if others:
            m["hcc-other-formats"] = pa.meta_list([
                pa.meta_map({"href": pa.meta_string(f"index.{f}"), "label": pa.meta_text(label)})
                for f, label in others])
        stems = sorted({cell.stem for cell in builder.embedded})  # in the order they run (00, 01, ...)
        if stems:
            m["hcc-notebooks"] = pa.meta_list([
                pa.meta_map({"href": pa.meta_string(f"notebooks/{s}.html"), "label": pa.meta_text(s)})
                for s in stems])

    def _citeproc(self, doc: pa.Node, meta: dict[str, Any], bib_paths: list[Path]) -> pa.Node:
        if not bib_paths:
            return doc
        args = ["-f", "json", "-t", "json", "--citeproc"]
        for b in bib_paths:
            args.append(f"--bibliography={b}")
        csl = meta.get("csl")
        if csl:
            csl_path = (self.article.parent / str(csl)).resolve()
            if not csl_path.exists():
                raise RenderError(f"csl style {csl_path} does not exist")
            args.append(f"--csl={csl_path}")
        args += ["-M", f"link-citations={'true' if meta.get('link-citations', True) else 'false'}"]
        out, err = pa.run_pandoc(args, json.dumps(doc))
        problems = [ln for ln in err.splitlines() if "WARNING" in ln or "Citeproc" in ln]
        if problems:
            raise RenderError("citeproc reported:\n" + "\n".join(problems))
        cited = json.loads(out)
        # citeproc records its --bibliography/--csl paths in the metadata, and the DOCX writer would
        # keep them as document properties: machine paths in the report. They are done with here.
        for key in ("bibliography", "csl"):
            cited.get("meta", {}).pop(key, None)
        return cited

    # ------------------------------------------------------------------
    def _pandoc_write(self, doc: pa.Node, target: str, args: list[str], name: str) -> str:
        final = fl.finalize(doc, target)
        num.link_numbers(final, target, self.number_href)
        if target == "typst":
            self._typst_layout(final)
            _absolutize_images(final, [self.work, self.article.parent])
        elif target == "docx":
            self._docx_layout(final)
        src = self.work / f"{name}.json"
        src.write_text(json.dumps(final), encoding="utf-8")
        resource_path = ":".join([str(self.work), str(self.article.parent)])
        _, err = pa.run_pandoc(["-f", "json", str(src), f"--resource-path={resource_path}", *args],
                               cwd=str(self.work))
        problems = [ln for ln in err.splitlines() if "WARNING" in ln]
        if problems:
            raise RenderError(f"pandoc ({target}) reported:\n" + "\n".join(problems))
        return err

    def _write_html(self, doc: pa.Node, meta: dict[str, Any]) -> Path:
        out = self.report / "index.html"
        opts = self.config.format_options("html")
        args = ["-t", "html5", "--standalone", f"--template={TEMPLATES / 'article.html'}",
                f"--css={TEMPLATES / 'article.css'}", "--embed-resources", "--mathml",
                "-o", str(out)]
        if opts.get("toc", True):
            args += ["--toc", f"--toc-depth={int(opts.get('toc-depth', 2))}"]
        self._pandoc_write(doc, "html", args, "index.html")
        self._wrote(out)
        return out

    def _write_docx(self, doc: pa.Node, meta: dict[str, Any]) -> Path:
        out = self.report / "index.docx"
        self._pandoc_write(doc, "docx", ["-t", "docx", "-o", str(out)], "index.docx")
        self._wrote(out)
        return out

    def _write_pdf(self, doc: pa.Node, meta: dict[str, Any]) -> Path:
        import typst  # noqa: PLC0415

        opts = self.config.format_options("typst")
        margin = opts.get("margin") if isinstance(opts.get("margin"), dict) else {}
        typ = self.work / "index.typ"
        args = ["-t", "typst-citations", "--standalone", f"--template={TEMPLATES / 'article.typ'}",
                "-V", f"papersize={opts.get('papersize', 'a4')}",
                "-V", f"fontsize={opts.get('fontsize', '10pt')}",
                "-V", f"margin-x={margin.get('x', '2cm')}",
                "-V", f"margin-y={margin.get('y', '2.2cm')}",
                "-o", str(typ)]
        self._pandoc_write(doc, "typst", args, "index.typ")
        out = self.report / "index.pdf"
        try:
            _, warnings = typst.compile_with_warnings(str(typ), output=str(out), root="/",
                                                      ignore_system_fonts=True)
        except typst.TypstError as exc:
            raise RenderError(f"typst could not compile {typ}: {exc} {getattr(exc, 'hints', '')}") from exc
        for w in warnings:
            self.log(f"  typst warning: {w.message}")
        self._wrote(out)
        return out

    # ------------------------------------------------------------------
    def _typst_layout(self, doc: pa.Node) -> None:
        """Reference list as a two-column grid ("[1]" | entry) in Typst."""
        _relayout_references(doc, lambda left, right: [pa.Plain([
            pa.RawInline("typst", "#grid(columns: (2.4em, 1fr), ["), *left,
            pa.RawInline("typst", "], ["), *right, pa.RawInline("typst", "])")])])

    def _docx_layout(self, doc: pa.Node) -> None:
        """Word: title block as styled paragraphs; one paragraph per reference."""
        _relayout_references(doc, lambda left, right: [pa.Para([*left, pa.Space(), *right])])
        m = doc["meta"]
        front: list[pa.Node] = []
        if "hcc-authors" in m:
            inl: list[pa.Node] = []
            for i, a in enumerate(m["hcc-authors"]["c"]):
                if i:
                    inl += [pa.Str(","), pa.Space()]
                inl += a["c"]["name"]["c"]
                if a["c"]["marks"]["t"] == "MetaInlines":
                    inl.append(pa.Superscript(a["c"]["marks"]["c"]))
            front.append(pa.Div([pa.Para(inl)], pa.attr("", [], {"custom-style": "Author"})))
        if "hcc-affiliations" in m:
            for a in m["hcc-affiliations"]["c"]:
                front.append(pa.Div([pa.Para([pa.Superscript([pa.Str(a["c"]["number"]["c"])]),
                                              *a["c"]["text"]["c"]])],
                                    pa.attr("", [], {"custom-style": "Affiliation"})))
        for note in (m.get("hcc-author-notes") or {"c": []})["c"]:
            front.append(pa.Div([pa.Para(note["c"])], pa.attr("", [], {"custom-style": "Affiliation"})))
        if "abstract" in m:
            ab = m.pop("abstract")
            blocks = ab["c"] if ab["t"] == "MetaBlocks" else [pa.Para(ab["c"])]
            title = m.get("abstract-title", pa.meta_text("Abstract"))["c"]
            kw = []
            if "keywords" in m:
                words = m["keywords"]["c"] if m["keywords"]["t"] == "MetaList" else [m["keywords"]]
                inl = [pa.Strong([pa.Str("Keywords:")]), pa.Space()]
                for i, w in enumerate(words):
                    if i:
                        inl += [pa.Str(";"), pa.Space()]
                    inl += w["c"] if isinstance(w["c"], list) else [pa.Str(str(w["c"]))]
                kw = [pa.Para(inl)]
            front.append(pa.Div([pa.Para([pa.Strong(title)]), *blocks, *kw],
                                pa.attr("", [], {"custom-style": "Abstract"})))
        m.pop("author", None)
        doc["blocks"] = front + doc["blocks"]

    # ------------------------------------------------------------------
    def _notebook_pages(self, builder: fl.FloatBuilder, number_cells: list[tuple[str, str]]) -> list[Path]:
        """A page per notebook that an embed or an inline number links to, with an anchor at each such cell."""
        pages: list[Path] = []
        by_nb: dict[Path, list[str]] = {}
        for cell in builder.embedded:
            by_nb.setdefault(cell.notebook.resolve(), []).append(cell.label)
        stems = {p.stem: p for p in by_nb}
        for stem, label in number_cells:
            path = stems.get(stem) or self.map_build_path(self.project / "build" / "notebooks" / f"{stem}.ipynb")
            if not path.exists():
                raise RenderError(f"an inline number links to notebook {stem}, cell {label}, but {path} "
                                  "does not exist (run make analysis)")
            by_nb.setdefault(path.resolve(), [])
            if label not in by_nb[path.resolve()]:
                by_nb[path.resolve()].append(label)
        seen_stems: dict[str, Path] = {}
        for nb_path, labels in by_nb.items():
            if nb_path.stem in seen_stems:
                raise RenderError(f"two embedded notebooks share the name {nb_path.stem}: "
                                  f"{seen_stems[nb_path.stem]} and {nb_path}")
            seen_stems[nb_path.stem] = nb_path
            page = self.report / "notebooks" / f"{nb_path.stem}.html"
            anchors = self._pages.page(nb_path, labels)
            if anchors is None:
                anchors = nbs.render_notebook_page(nb_path, page, back_href="../index.html", anchors=labels)
            missing = [lb for lb in labels if lb not in anchors]
            if missing:
                raise RenderError(f"notebook page {page.name}: no anchor for cell(s) {missing}")
            pages.append(page)
            self._wrote(page)
        return pages

    def _check_html(self, path: Path) -> None:
        from bs4 import BeautifulSoup  # noqa: PLC0415

        soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
        ids = {t["id"] for t in soup.find_all(id=True)}
        broken = sorted({a["href"] for a in soup.find_all("a", href=True)
                         if a["href"].startswith("#") and a["href"][1:] not in ids})
        if broken:
            raise RenderError(f"{path.name}: links to missing anchors: {', '.join(broken)}")
        text = soup.get_text()
        if "???" in text or "??" in text:
            raise RenderError(f"{path.name}: contains '??' (an unresolved reference or citation)")
        for tag, att in (("img", "src"), ("script", "src"), ("link", "href"), ("iframe", "src"),
                         ("source", "src"), ("video", "src"), ("audio", "src")):
            for t in soup.find_all(tag):
                if re.match(r"^(https?:)?//", t.get(att, "")):
                    raise RenderError(f"{path.name}: <{tag} {att}={t.get(att)}> would load from the network")


def _relayout_references(doc: pa.Node,
                         entry: Callable[[list[pa.Node], list[pa.Node]], list[pa.Node]]) -> None:
    """Replace the content of each citeproc entry (``Div.csl-entry``) of ``doc`` by ``entry(label, text)``.

    ``label`` is the entry's "[n]", ``text`` the reference (:func:`_csl_parts`);
    an entry without both is left as it is.
    """

    def fix(b: pa.Node):
        if b.get("t") != "Div" or "csl-entry" not in b["c"][0][1]:
            return None
        left, right = _csl_parts(b)
        if left is None:
            return None
        b["c"][1] = entry(left, right)
        return b

    doc["blocks"] = pa.walk_blocks(doc["blocks"], fix)


def _csl_parts(entry: pa.Node) -> tuple[list[pa.Node] | None, list[pa.Node]]:
    """The "[n]" and the text of a citeproc entry (spans in a paragraph in
    Pandoc 3.x, or divs in older versions)."""
    left = right = None
    parts: list[tuple[list[str], list[pa.Node]]] = []
    for child in entry["c"][1]:
        if child.get("t") == "Div":
            inl = [i for blk in child["c"][1] if blk.get("t") in ("Plain", "Para") for i in blk["c"]]
            parts.append((child["c"][0][1], inl))
        elif child.get("t") in ("Para", "Plain"):
            for i in child["c"]:
                if i.get("t") == "Span":
                    parts.append((i["c"][0][1], i["c"][1]))
    for cls, inl in parts:
        if "csl-left-margin" in cls:
            left = [i for i in inl if i.get("t") != "Space"]
        elif "csl-right-inline" in cls:
            right = inl
    if left is None or right is None:
        return None, []
    return left, right


def _absolutize_images(doc: pa.Node, bases: list[Path]) -> None:
    """Typst resolves image paths against the compile root ("/"): use
    absolute paths, found in the work dir or beside the article."""

    def fix(i: pa.Node):
        if i.get("t") != "Image":
            return None
        url = i["c"][2][0]
        if re.match(r"^[a-z]+:", url) or url.startswith("/"):
            return None
        for base in bases:
            cand = (base / url).resolve()
            if cand.exists():
                i["c"][2][0] = str(cand)
                return i
        raise RenderError(f"image {url} not found (looked in {', '.join(map(str, bases))})")

    pa.walk_inlines(doc["blocks"], fix)
