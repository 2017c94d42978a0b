"""Turn the Quarto article body into plain Pandoc markdown.

What is handled (Quarto syntax, quarto.org):

* executable ```` ```{python} ```` cells: run in order in one namespace, with
  the working directory set to the article's folder (Quarto's default
  ``execute-dir: file``). Cell options come from leading ``#|`` lines. Hidden
  setup cells (``include: false``, ``output: false`` or no output at all) leave
  nothing behind; ``output: asis`` prints raw markdown; ``echo: true`` shows
  the code. A cell that would show other output (a value, printed text)
  stops the render: the pip-only renderer does not reproduce Quarto's cell
  output containers, so figures and tables belong in notebooks and are
  embedded.
* inline code `` `{python} expr` ``: evaluated in the same namespace; the
  value is inserted as text (markdown characters escaped, as Quarto does),
  or as markdown if it has ``_repr_markdown_`` (``IPython.display.Markdown``).
* shortcodes: ``{{< embed nb.ipynb#cell >}}`` (own paragraph) becomes a
  placeholder div resolved later from the executed notebook;
  ``{{< pagebreak >}}``, ``{{< meta key >}}`` and ``{{< include file >}}``
  are supported; ``{{{< … >}}}`` is a literal shortcode; any other shortcode
  is an error.

Fenced blocks that are not executable (```` ```python ````, ```` ```{.python} ````)
are passed through untouched, inline code included.
"""
from __future__ import annotations

import ast
import contextlib
import io
import os
import re
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import RenderError

FENCE_RE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
EXEC_INFO_RE = re.compile(r"^\{\s*(?P<lang>[A-Za-z0-9_+-]+)\s*(?P<rest>[^}]*)\}\s*$")
INLINE_RE = re.compile(r"`\{python\}\s+(?P<expr>[^`]+?)\s*`")
INLINE_OTHER_RE = re.compile(r"`\{(?P<lang>r|julia|ojs)\}\s+[^`]+`")
SHORTCODE_RE = re.compile(r"(?<!\{)\{\{<\s*(?P<name>[A-Za-z_][\w-]*)(?P<args>.*?)>\}\}(?!\})")
ESCAPED_SHORTCODE_RE = re.compile(r"\{\{\{<(?P<inner>.*?)>\}\}\}")
OPTION_LINE_RE = re.compile(r"^\s*#\|\s?(.*)$")


@dataclass
class Preprocessed:
    markdown: str
    namespace: dict[str, Any]
    embeds: list[dict[str, str]] = field(default_factory=list)


def parse_cell_options(lines: list[str], where: str) -> tuple[dict[str, Any], list[str]]:
    """Split leading ``#|`` option lines (YAML) from the code."""
    opt_lines: list[str] = []
    i = 0
    while i < len(lines):
        m = OPTION_LINE_RE.match(lines[i])
        if not m:
            break
        opt_lines.append(m.group(1))
        i += 1
    options: dict[str, Any] = {}
    if opt_lines:
        try:
            options = yaml.safe_load("\n".join(opt_lines)) or {}
        except yaml.YAMLError as exc:
            raise RenderError(f"{where}: invalid '#|' cell options: {exc}") from exc
        if not isinstance(options, dict):
            raise RenderError(f"{where}: '#|' cell options must be 'key: value' lines")
    return options, lines[i:]


class Executor:
    """Runs the article's python cells and inline expressions in one namespace."""

    def __init__(self, workdir: Path, env: dict[str, str] | None = None) -> None:
        self.workdir = workdir
        self.env = env or {}
        self.namespace: dict[str, Any] = {"__name__": "__main__"}

    @contextlib.contextmanager
    def _context(self):
        old_cwd = os.getcwd()
        old_env = {k: os.environ.get(k) for k in self.env}
        old_path = list(sys.path)
        os.chdir(self.workdir)
        os.environ.update(self.env)
        if str(self.workdir) not in sys.path:
            sys.path.insert(0, str(self.workdir))
        try:
            yield
        finally:
            os.chdir(old_cwd)
            for k, v in old_env.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
            sys.path[:] = old_path

    def run_cell(self, code: str, where: str) -> tuple[Any, str]:
        """Execute ``code``; return (value of a trailing expression, stdout)."""
        try:
            tree = ast.parse(code, filename=where)
        except SyntaxError as exc:
            raise RenderError(f"{where}: syntax error in code cell: {exc}") from exc
        last_expr = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last_expr = ast.Expression(tree.body.pop().value)
        out = io.StringIO()
        with self._context(), contextlib.redirect_stdout(out):
            try:
                exec(compile(tree, where, "exec"), self.namespace)  # noqa: S102
                value = eval(compile(last_expr, where, "eval"), self.namespace) if last_expr else None  # noqa: S307
            except Exception as exc:  # noqa: BLE001
                tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__, limit=-3))
                raise RenderError(f"{where}: code cell raised {type(exc).__name__}: {exc}\n{tb}") from exc
        return value, out.getvalue()

    def eval_inline(self, expr: str, where: str) -> str:
        with self._context():
            try:
                value = eval(compile(expr, where, "eval"), self.namespace)  # noqa: S307
            except Exception as exc:  # noqa: BLE001
                raise RenderError(f"{where}: inline expression `{{python}} {expr}` failed: "
                                  f"{type(exc).__name__}: {exc}") from exc
        if hasattr(value, "_repr_markdown_"):
            md = value._repr_markdown_()
            if md is not None:
                return str(md)
        return escape_markdown(str(value))


# Quarto treats inline output as text, escaping markdown-like syntax
# (quarto.org, Inline Code → Markdown Output); IPython's Markdown() opts out.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#+!|$@~^.\-])")


def escape_markdown(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.splitlines()))


def _shortcode_args(args: str) -> list[str]:
    return [a for a in args.strip().split() if a]


class Preprocessor:
    def __init__(self, article: Path, metadata: dict[str, Any], executor: Executor,
                 execute_defaults: dict[str, Any] | None = None) -> None:
        self.article = article
        self.metadata = metadata
        self.executor = executor
        self.execute_defaults = execute_defaults or {}
        self.embeds: list[dict[str, str]] = []
        self.cells = 0
        self._include_stack: list[Path] = []

    # -- public -------------------------------------------------------------
    def run(self, body: str, first_line: int = 1) -> Preprocessed:
        md = self._process(body, self.article, first_line)
        return Preprocessed(markdown=md, namespace=self.executor.namespace,
                            embeds=self.embeds)

    # -- internals ----------------------------------------------------------
    def _process(self, body: str, source: Path, first_line: int) -> str:
        lines = body.splitlines()
        out: list[str] = []
        i = 0
        rel = self._rel(source)
        while i < len(lines):
            line = lines[i]
            m = FENCE_RE.match(line)
            if m:
                fence = m.group("fence")
                info = m.group("info").strip()
                j = i + 1
                while j < len(lines):
                    close = FENCE_RE.match(lines[j])
                    if (close and close.group("fence")[0] == fence[0]
                            and len(close.group("fence")) >= len(fence)
                            and not close.group("info").strip()):
                        break
                    j += 1
                if j >= len(lines):
                    raise RenderError(f"{rel}:{first_line + i}: code fence {fence} is never closed")
                content = lines[i + 1:j]
                ex = EXEC_INFO_RE.match(info)
                if ex and not info.startswith("{."):
                    out.extend(self._exec_cell(ex.group("lang"), content, f"{rel}:{first_line + i}",
                                               m.group("indent")))
                else:
                    out.extend(lines[i:j + 1])
                i = j + 1
                continue
            out.append(self._process_line(line, source, f"{rel}:{first_line + i}"))
            i += 1
        return "\n".join(out) + "\n"

    def _rel(self, p: Path) -> str:
        try:
            return str(p.relative_to(self.article.parent))
        except ValueError:
            return str(p)

    def _exec_cell(self, lang: str, content: list[str], where: str, indent: str) -> list[str]:
        if lang != "python":
            raise RenderError(f"{where}: executable '{{{lang}}}' cells are not supported by the "
                              "pip-only renderer (python only)")
        options, code_lines = parse_cell_options(content, where)
        opts = {**self.execute_defaults, **options}
        label = options.get("label")
        if isinstance(label, str) and re.match(r"^(fig|tbl)-", label):
            raise RenderError(f"{where}: code cell '{label}' in the article makes a figure/table; "
                              "make it in a notebook and embed it with {{< embed … >}}")
        code = "\n".join(code_lines)
        if opts.get("eval", True) is False:
            value, stdout = None, ""
        else:
            self.cells += 1
            value, stdout = self.executor.run_cell(code, f"{where} (cell {label or self.cells})")
        shown: list[str] = []
        if opts.get("include", True) is False:
            return shown
        if opts.get("echo", True) is True:
            shown += [f"{indent}```python", *code_lines, f"{indent}```", ""]
        output = opts.get("output", True)
        if output is False:
            return shown
        if output == "asis":
            if value is not None:
                stdout += (str(value._repr_markdown_()) if hasattr(value, "_repr_markdown_") else str(value))
            return shown + stdout.splitlines()
        if value is not None or stdout.strip():
            what = "a value" if value is not None else "printed text"
            raise RenderError(
                f"{where}: code cell shows {what} in the article. Article cells must be hidden "
                "setup cells (no output, or '#| output: false' / '#| include: false') or "
                "'#| output: asis' cells that print markdown; end the cell with an assignment "
                "or a ';'-free statement, or put the output in a notebook and embed it.")
        return shown

    def _process_line(self, line: str, source: Path, where: str) -> str:
        if INLINE_OTHER_RE.search(line):
            lang = INLINE_OTHER_RE.search(line).group("lang")
            raise RenderError(f"{where}: inline `{{{lang}}}` code is not supported (python only)")

        # Shortcodes (escaped ones are protected first).
        protected: list[str] = []

        def protect(m: re.Match[str]) -> str:
            protected.append("{{<" + m.group("inner") + ">}}")
            return f"\x00SC{len(protected) - 1}\x00"

        line = ESCAPED_SHORTCODE_RE.sub(protect, line)
        m = SHORTCODE_RE.search(line)
        if m and m.group("name") in ("embed", "pagebreak", "include"):
            if line.strip() != m.group(0):
                raise RenderError(f"{where}: the {m.group('name')} shortcode must stand alone "
                                  "in its own paragraph")
            return self._block_shortcode(m.group("name"), _shortcode_args(m.group("args")),
                                         source, where)
        line = SHORTCODE_RE.sub(lambda mm: self._inline_shortcode(mm, where), line)

        # Inline python.
        line = INLINE_RE.sub(lambda mm: self.executor.eval_inline(mm.group("expr"), where), line)
        for k, text in enumerate(protected):
            line = line.replace(f"\x00SC{k}\x00", text)
        return line

    def _block_shortcode(self, name: str, args: list[str], source: Path, where: str) -> str:
        if name == "pagebreak":
            return "::: {.hcc-pagebreak}\n:::"
        if name == "include":
            if len(args) != 1:
                raise RenderError(f"{where}: include shortcode needs one file")
            path = (source.parent / args[0]).resolve()
            if not path.exists():
                raise RenderError(f"{where}: included file {args[0]} not found")
            if path in self._include_stack:
                raise RenderError(f"{where}: {args[0]} includes itself")
            self._include_stack.append(path)
            try:
                return self._process(path.read_text(encoding="utf-8"), path, 1).rstrip("\n")
            finally:
                self._include_stack.pop()
        # embed
        if not args:
            raise RenderError(f"{where}: embed shortcode needs 'notebook.ipynb#cell-label'")
        target, *rest = args
        if "#" not in target:
            raise RenderError(f"{where}: embed '{target}': name a cell as notebook.ipynb#label "
                              "(embedding a whole notebook is not supported)")
        nb, cell = target.split("#", 1)
        kv = {}
        for a in rest:
            if "=" not in a:
                raise RenderError(f"{where}: embed option {a!r} must be key=value")
            k, v = a.split("=", 1)
            kv[k] = v.strip("\"'")
        unknown = set(kv) - {"echo"}
        if unknown:
            raise RenderError(f"{where}: unsupported embed option(s) {sorted(unknown)}")
        nb_path = (source.parent / nb)
        self.embeds.append({"notebook": str(nb_path), "cell": cell, "where": where})
        echo = "true" if kv.get("echo", "false").lower() == "true" else "false"
        return (f'::: {{.hcc-embed notebook="{_attr_escape(str(nb_path))}" '
                f'cell="{_attr_escape(cell)}" echo="{echo}" where="{_attr_escape(where)}"}}\n:::')

    def _inline_shortcode(self, m: re.Match[str], where: str) -> str:
        name = m.group("name")
        args = _shortcode_args(m.group("args"))
        if name == "meta":
            if len(args) != 1:
                raise RenderError(f"{where}: meta shortcode needs one key")
            value: Any = self.metadata
            for part in args[0].split("."):
                if not isinstance(value, dict) or part not in value:
                    raise RenderError(f"{where}: {{{{< meta {args[0]} >}}}}: no such metadata key")
                value = value[part]
            return str(value)
        if name in ("embed", "pagebreak", "include"):
            raise RenderError(f"{where}: the {name} shortcode must stand alone in its own paragraph")
        raise RenderError(f"{where}: shortcode '{{{{< {name} >}}}}' is not supported by the "
                          "pip-only renderer (embed, pagebreak, meta, include are)")


def _attr_escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace('"', '\\"')


def check_front_matter_inline_code(meta: Any, source: str, path: str = "") -> None:
    """Quarto does not evaluate inline code in YAML strings (quarto.org, Inline
    Code: "Inline expressions are not generally supported inside YAML
    strings"); refuse it rather than print the raw code."""
    if isinstance(meta, dict):
        for k, v in meta.items():
            check_front_matter_inline_code(v, source, f"{path}.{k}" if path else str(k))
    elif isinstance(meta, list):
        for i, v in enumerate(meta):
            check_front_matter_inline_code(v, source, f"{path}[{i}]")
    elif isinstance(meta, str) and INLINE_RE.search(meta):
        raise RenderError(f"{source}: front matter '{path}' contains inline code "
                          f"({INLINE_RE.search(meta).group(0)}); Quarto does not evaluate inline "
                          "code in YAML, so neither does this renderer. Move the text to the body.")
