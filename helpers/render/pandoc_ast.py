"""Small helpers for Pandoc's JSON AST (pandoc-types 1.23, Pandoc 3.x).

Only what the renderer needs: build nodes, walk blocks/inlines, turn text
into inlines, and run the ``pandoc`` binary shipped by ``pypandoc-binary``.
"""
from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterable
from typing import Any

Node = dict[str, Any]
Attr = list[Any]  # [id, [classes], [[key, value], ...]]


class PandocError(RuntimeError):
    """pandoc exited with an error (message includes its stderr)."""


def pandoc_path() -> str:
    import pypandoc  # noqa: PLC0415

    return pypandoc.get_pandoc_path()


def pandoc_version() -> str:
    import pypandoc  # noqa: PLC0415

    return pypandoc.get_pandoc_version()


def run_pandoc(args: list[str], stdin: str | None = None, *, cwd: str | None = None) -> tuple[str, str]:
    """Run pandoc with ``args``; return (stdout, stderr). Raise on failure."""
    proc = subprocess.run([pandoc_path(), *args], input=stdin, capture_output=True,
                          text=True, encoding="utf-8", cwd=cwd)
    if proc.returncode != 0:
        raise PandocError(f"pandoc {' '.join(args[:6])} … failed ({proc.returncode}):\n{proc.stderr.strip()}")
    return proc.stdout, proc.stderr


def read(text: str, fmt: str, *, extra: Iterable[str] = ()) -> Node:
    """Parse ``text`` in ``fmt`` into a JSON AST document."""
    out, _ = run_pandoc(["-f", fmt, "-t", "json", *extra], text)
    return json.loads(out)


def read_blocks(text: str, fmt: str) -> list[Node]:
    return read(text, fmt)["blocks"]


# --------------------------------------------------------------------------
# constructors
# --------------------------------------------------------------------------

def attr(ident: str = "", classes: Iterable[str] = (), kv: dict[str, str] | None = None) -> Attr:
    return [ident, list(classes), [[k, v] for k, v in (kv or {}).items()]]


def Str(s: str) -> Node:
    return {"t": "Str", "c": s}


def Space() -> Node:
    return {"t": "Space"}


def Strong(inl: list[Node]) -> Node:
    return {"t": "Strong", "c": inl}


def Emph(inl: list[Node]) -> Node:
    return {"t": "Emph", "c": inl}


def Superscript(inl: list[Node]) -> Node:
    return {"t": "Superscript", "c": inl}


def Code(s: str, a: Attr | None = None) -> Node:
    return {"t": "Code", "c": [a or attr(), s]}


def Link(inl: list[Node], url: str, title: str = "", a: Attr | None = None) -> Node:
    return {"t": "Link", "c": [a or attr(), inl, [url, title]]}


def Image(alt: list[Node], url: str, a: Attr | None = None) -> Node:
    return {"t": "Image", "c": [a or attr(), alt, [url, ""]]}


def RawInline(fmt: str, text: str) -> Node:
    return {"t": "RawInline", "c": [fmt, text]}


def RawBlock(fmt: str, text: str) -> Node:
    return {"t": "RawBlock", "c": [fmt, text]}


def Para(inl: list[Node]) -> Node:
    return {"t": "Para", "c": inl}


def Plain(inl: list[Node]) -> Node:
    return {"t": "Plain", "c": inl}


def Div(blocks: list[Node], a: Attr | None = None) -> Node:
    return {"t": "Div", "c": [a or attr(), blocks]}


def CodeBlock(text: str, a: Attr | None = None) -> Node:
    return {"t": "CodeBlock", "c": [a or attr(), text]}


def Figure(blocks: list[Node], caption: list[Node], a: Attr | None = None) -> Node:
    return {"t": "Figure", "c": [a or attr(), [None, [Plain(caption)] if caption else []], blocks]}


def text_inlines(s: str) -> list[Node]:
    """Plain text to Str/Space inlines (no markdown interpretation)."""
    out: list[Node] = []
    for i, word in enumerate(s.split(" ")):
        if i:
            out.append(Space())
        if word:
            out.append(Str(word))
    return out


def meta_inlines(inl: list[Node]) -> Node:
    return {"t": "MetaInlines", "c": inl}


def meta_text(s: str) -> Node:
    return meta_inlines(text_inlines(s))


def meta_list(items: list[Node]) -> Node:
    return {"t": "MetaList", "c": items}


def meta_map(d: dict[str, Node]) -> Node:
    return {"t": "MetaMap", "c": d}


def meta_bool(b: bool) -> Node:
    return {"t": "MetaBool", "c": b}


def meta_string(s: str) -> Node:
    return {"t": "MetaString", "c": s}


# --------------------------------------------------------------------------
# inspection
# --------------------------------------------------------------------------

def get_attr(node: Node) -> Attr | None:
    t = node.get("t")
    c = node.get("c")
    if t in ("Div", "Span", "Code", "CodeBlock", "Figure", "Table", "Link", "Image"):
        return c[0]
    if t == "Header":
        return c[1]
    return None


def attr_kv(a: Attr) -> dict[str, str]:
    return {k: v for k, v in a[2]}


def stringify(x: Any) -> str:
    """Concatenate the text of inlines/blocks (like pandoc.utils.stringify)."""
    if isinstance(x, list):
        return "".join(stringify(i) for i in x)
    if not isinstance(x, dict):
        return ""
    t = x.get("t")
    c = x.get("c")
    if t == "Str":
        return c
    if t in ("Space", "SoftBreak"):
        return " "
    if t == "LineBreak":
        return "\n"
    if t in ("Code", "Math", "RawInline"):
        return c[1]
    if t in ("Link", "Image", "Span"):
        return stringify(c[1])
    if t == "Cite":
        return stringify(c[1])
    if t == "Quoted":
        return "\u201c" + stringify(c[1]) + "\u201d"
    if t in ("Para", "Plain", "Emph", "Strong", "Superscript", "Subscript", "SmallCaps",
             "Strikeout", "Underline"):
        return stringify(c)
    if t == "Header":
        return stringify(c[2])
    if t == "Div":
        return stringify(c[1])
    return stringify(c) if isinstance(c, list) else ""


# --------------------------------------------------------------------------
# traversal
# --------------------------------------------------------------------------

BlockFn = Callable[[Node], "Node | list[Node] | None"]
InlineFn = Callable[[Node], "Node | list[Node] | None"]


def child_block_lists(node: Node) -> list[list[Node]]:
    """Lists of blocks directly contained in a block node."""
    t, c = node.get("t"), node.get("c")
    if t in ("BlockQuote",):
        return [c]
    if t == "Div":
        return [c[1]]
    if t in ("BulletList",):
        return list(c)
    if t == "OrderedList":
        return list(c[1])
    if t == "DefinitionList":
        return [defs for _, dd in c for defs in dd]
    if t == "Figure":
        return [c[1][1], c[2]]
    if t == "Table":
        lists = [c[1][1]]
        for row in c[3][1]:
            lists += [cell[4] for cell in row[1]]
        for body in c[4]:
            for row in body[2] + body[3]:
                lists += [cell[4] for cell in row[1]]
        for row in c[5][1]:
            lists += [cell[4] for cell in row[1]]
        return lists
    return []


def _replace(out: list[Node], node: Node, replacement: Node | list[Node] | None) -> None:
    """Append to ``out`` what a rewrite function returned for ``node``.

    None keeps ``node``, a list is spliced in (an empty list deletes the
    node), any other node replaces it.
    """
    if replacement is None:
        out.append(node)
    elif isinstance(replacement, list):
        out.extend(replacement)
    else:
        out.append(replacement)


def walk_blocks(blocks: list[Node], fn: BlockFn) -> list[Node]:
    """Bottom-up block rewrite. ``fn`` returns None (keep), a node, or a list."""
    out: list[Node] = []
    for b in blocks:
        for lst in child_block_lists(b):
            lst[:] = walk_blocks(lst, fn)
        _replace(out, b, fn(b))
    return out


def _inline_lists_in_block(node: Node) -> list[list[Node]]:
    t, c = node.get("t"), node.get("c")
    if t in ("Para", "Plain"):
        return [c]
    if t == "LineBlock":
        return list(c)
    if t == "Header":
        return [c[2]]
    if t == "DefinitionList":
        return [term for term, _ in c]
    if t == "Figure":
        return [c[1][0]] if c[1][0] else []
    if t == "Table":
        return [c[1][0]] if c[1][0] else []
    return []


def _inline_children(node: Node) -> list[list[Node]]:
    t, c = node.get("t"), node.get("c")
    if t in ("Emph", "Strong", "Strikeout", "Superscript", "Subscript", "SmallCaps", "Underline"):
        return [c]
    if t == "Quoted":
        return [c[1]]
    if t == "Cite":
        lists = [c[1]]
        for cit in c[0]:
            lists += [cit["citationPrefix"], cit["citationSuffix"]]
        return lists
    if t in ("Link", "Image", "Span"):
        return [c[1]]
    return []


def _walk_inline_list(inls: list[Node], fn: InlineFn, block_fn_for_notes: Callable[[list[Node]], None]) -> list[Node]:
    out: list[Node] = []
    for i in inls:
        if i.get("t") == "Note":
            block_fn_for_notes(i["c"])
        for lst in _inline_children(i):
            lst[:] = _walk_inline_list(lst, fn, block_fn_for_notes)
        _replace(out, i, fn(i))
    return out


def walk_inlines(blocks: list[Node], fn: InlineFn) -> None:
    """In-place bottom-up inline rewrite over all blocks (incl. notes, tables)."""

    def visit_blocks(bl: list[Node]) -> None:
        for b in bl:
            for lst in _inline_lists_in_block(b):
                lst[:] = _walk_inline_list(lst, fn, visit_blocks)
            for lst in child_block_lists(b):
                visit_blocks(lst)

    visit_blocks(blocks)


def walk_meta_inlines(meta: dict[str, Node], fn: InlineFn) -> None:
    def visit(v: Node) -> None:
        t, c = v.get("t"), v.get("c")
        if t == "MetaInlines":
            c[:] = _walk_inline_list(c, fn, lambda bl: walk_inlines(bl, fn))
        elif t == "MetaBlocks":
            walk_inlines(c, fn)
        elif t == "MetaList":
            for x in c:
                visit(x)
        elif t == "MetaMap":
            for x in c.values():
                visit(x)

    for v in meta.values():
        visit(v)


def iter_blocks(blocks: list[Node]):
    """Yield every block (pre-order), descending into containers."""
    for b in blocks:
        yield b
        for lst in child_block_lists(b):
            yield from iter_blocks(lst)
