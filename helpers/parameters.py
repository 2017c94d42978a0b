"""The notebooks' parameters: what each declares, and what a build was made with.

Declared: every notebook has one cell tagged ``parameters`` in which each
parameter is assigned once, as a literal, in papermill's
``name = value  # type: help`` form (``papermill --help-notebook`` prints
them). ``notebook_parameters`` reads those cells with papermill's own parser
and checks them (typed, helped, declared once, the same declaration in every
notebook that has it); the README's "Parameters" table is generated from them
(``python -m helpers.parameters`` rewrites it; a test checks it is current).

Recorded: each notebook records the parameters it ran with (after papermill's
overrides) in ``results/parameters_<notebook>.csv``; the manuscript reads
them, so that "2:1 matching within 0.02 SD" or "censored at 30 September
2025" in the text is what the run did, not what the defaults were. Paths
(``build_dir``, input files) are not recorded: ``input_summary.csv`` names
the inputs by file name and checksum, and two runs into different folders
write the same bytes.
"""
from __future__ import annotations

import ast
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from helpers.paths import README_MD, results_dir
from helpers.results import write_result

#: The types a parameter may declare, and the Python values each accepts.
PARAMETER_TYPES: dict[str, object] = {
    "str": lambda v: isinstance(v, str),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "float": lambda v: isinstance(v, float),
    "bool": lambda v: isinstance(v, bool),
    "list[str]": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
    "list[int]": lambda v: isinstance(v, list) and all(isinstance(x, int) and not isinstance(x, bool) for x in v),
    "list[float]": lambda v: isinstance(v, list) and all(isinstance(x, (int, float)) for x in v),
}

#: The README's generated table lies between these two lines.
README_TABLE_START = "<!-- parameters table: generated from the notebooks by `python -m helpers.parameters`; do not edit -->"
README_TABLE_END = "<!-- end of the generated parameters table -->"


@dataclass(frozen=True)
class NotebookParameter:
    """A parameter as the notebooks declare it: name, type, default value, help, and which notebooks."""

    name: str
    type: str
    default: object
    help: str
    notebooks: tuple[str, ...]


class ParameterDeclarationError(ValueError):
    """A ``parameters`` cell that breaks the declaration rules; the message lists every problem."""


def _parameters_cell(source: Path) -> str | None:
    """The source of the cell tagged ``parameters`` of a percent-format notebook (None if there is none)."""
    import jupytext

    for cell in jupytext.read(source).cells:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            return cell.source
    return None


def _check_cell(notebook: str, cell: str) -> tuple[list[NotebookParameter], list[str]]:
    """Parse one ``parameters`` cell with papermill's parser; return its parameters and its problems."""
    from papermill.translators import PythonTranslator

    problems: list[str] = []
    assigned = re.findall(r"^(\w+)\s*=", cell, re.M)
    for name in sorted({n for n in assigned if assigned.count(n) > 1}):
        problems.append(f"{notebook}: '{name}' is assigned {assigned.count(name)} times in the parameters cell; "
                        "declare it once")
    found = PythonTranslator.inspect({"source": cell})
    if sorted(p.name for p in found) != sorted(assigned):
        missed = sorted(set(assigned) - {p.name for p in found}) or assigned
        problems.append(f"{notebook}: papermill cannot read the declaration of {', '.join(map(repr, missed))}; "
                        "write one literal per assignment, `name = value  # type: help`, with no '=' in the help")
    out = []
    for p in found:
        where = f"{notebook}: parameter '{p.name}'"
        try:
            value = ast.literal_eval(p.default)
        except (ValueError, SyntaxError):
            problems.append(f"{where}: the default {p.default} is not a Python literal; papermill can only "
                            "document and override literals")
            continue
        if p.inferred_type_name not in PARAMETER_TYPES:
            problems.append(f"{where}: declared type '{p.inferred_type_name}' is not one of "
                            f"{', '.join(PARAMETER_TYPES)}; add `# type: <type>  <help>` after the value")
        elif not PARAMETER_TYPES[p.inferred_type_name](value):
            problems.append(f"{where}: the default {p.default} is not a {p.inferred_type_name}")
        if not p.help:
            problems.append(f"{where}: no help text; add it after the type: `# type: {p.inferred_type_name}  <what it "
                            "is, with its unit>`")
        out.append(NotebookParameter(p.name, p.inferred_type_name, value, p.help, (notebook,)))
    return out, problems


def notebook_parameters(sources: Sequence[str | os.PathLike] | None = None) -> list[NotebookParameter]:
    """Every parameter the notebooks declare, once, in the order of first declaration.

    Each notebook's ``parameters`` cell is read by papermill's parser (the
    one ``papermill --help-notebook`` and ``inspect_notebook`` use). A
    parameter must have a literal default, a type from ``PARAMETER_TYPES``
    that the default has, and a help text, and be declared once per cell; a
    parameter several notebooks declare must have the same type, default and
    help in each (one definition, repeated because each notebook runs alone).

    Raises
    ------
    ParameterDeclarationError
        Listing every broken rule, by notebook and parameter.
    """
    from helpers.paths import notebook_sources

    paths = [Path(s) for s in (notebook_sources() if sources is None else sources)]
    merged: dict[str, NotebookParameter] = {}
    problems: list[str] = []
    for path in paths:
        cell = _parameters_cell(path)
        if cell is None:
            problems.append(f"{path.name}: no cell is tagged 'parameters'; papermill would inject overrides "
                            "at the top, before the defaults")
            continue
        found, cell_problems = _check_cell(path.stem, cell)
        problems += cell_problems
        for p in found:
            first = merged.get(p.name)
            if first is None:
                merged[p.name] = p
            elif (first.type, first.default, first.help) != (p.type, p.default, p.help):
                problems.append(f"{path.stem}: parameter '{p.name}' is declared as `{p.default!r}  # type: {p.type}  "
                                f"{p.help}` but {first.notebooks[0]} declares `{first.default!r}  # type: "
                                f"{first.type}  {first.help}`; make the declarations the same")
            else:
                merged[p.name] = NotebookParameter(p.name, p.type, p.default, p.help, first.notebooks + p.notebooks)
    if problems:
        raise ParameterDeclarationError(f"{len(problems)} problem{'s' * (len(problems) > 1)} in the notebooks' "
                                        "parameters cells:\n  - " + "\n  - ".join(problems))
    return list(merged.values())


def parameters_markdown(params: Sequence[NotebookParameter], all_notebooks: Sequence[str] | None = None) -> str:
    """The README's table of parameters: name, notebooks, type, default (as JSON), help.

    Notebooks are named by their number; "all" when every notebook declares it.

    Examples
    --------
    >>> print(parameters_markdown([NotebookParameter("ratio", "int", 2, "controls per treated patient",
    ...                                              ("02_matching",))], ["01_eligibility", "02_matching"]))
    | parameter | notebooks | type | default | meaning |
    |---|---|---|---|---|
    | `ratio` | 02 | `int` | `2` | controls per treated patient |
    """
    everyone = set(all_notebooks or ())
    lines = ["| parameter | notebooks | type | default | meaning |", "|---|---|---|---|---|"]
    for p in params:
        where = "all" if everyone and set(p.notebooks) == everyone else ", ".join(n[:2] for n in p.notebooks)
        default, meaning = (text.replace("|", "\\|") for text in (json.dumps(p.default, ensure_ascii=False), p.help))
        lines.append(f"| `{p.name}` | {where} | `{p.type}` | `{default}` | {meaning} |")
    return "\n".join(lines)


def readme_with_parameters_table(readme: str, table: str | None = None) -> str:
    """``readme`` with the text between the table markers replaced by ``table`` (default: the notebooks' table)."""
    if table is None:
        from helpers.paths import notebook_sources

        table = parameters_markdown(notebook_parameters(), [p.stem for p in notebook_sources()])
    pattern = re.compile(re.escape(README_TABLE_START) + r"\n.*?" + re.escape(README_TABLE_END), re.S)
    if not pattern.search(readme):
        raise ValueError(f"README.md has no generated-table markers: put the lines {README_TABLE_START!r} and "
                         f"{README_TABLE_END!r} where the parameters table goes")
    return pattern.sub(lambda _: f"{README_TABLE_START}\n{table}\n{README_TABLE_END}", readme, count=1)


def write_parameters(notebook: str, build: str | os.PathLike | None = None, **params: object) -> Path:
    """Write ``params`` (JSON-encoded values) to ``results/parameters_<notebook>.csv``.

    Examples
    --------
    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> _ = write_parameters("02_matching", d, ratio=2, caliper_sd=0.02)
    >>> read_parameters(d)
    {'ratio': 2, 'caliper_sd': 0.02}
    """
    frame = pd.DataFrame({"notebook": notebook, "name": list(params),
                          "value": [json.dumps(v) for v in params.values()]}, columns=["notebook", "name", "value"])
    return write_result(frame, f"parameters_{notebook}", build)


def _recorded(build: str | os.PathLike | None) -> pd.DataFrame:
    """Every ``results/parameters_*.csv`` row (notebook, name, value), notebooks in order."""
    frames = [pd.read_csv(p, dtype=str, keep_default_na=False)
              for p in sorted(results_dir(build).glob("parameters_*.csv"))]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["notebook", "name", "value"])


def read_parameters(build: str | os.PathLike | None = None) -> dict[str, object]:
    """Every recorded parameter, by name (notebooks in order; a later notebook's value wins)."""
    r = _recorded(build)
    return {n: json.loads(v) for n, v in zip(r["name"], r["value"])}


def parameter_notebooks(build: str | os.PathLike | None = None) -> dict[str, str]:
    """The notebook whose record :func:`read_parameters` takes each parameter from (the last that has it)."""
    r = _recorded(build)
    return dict(zip(r["name"], r["notebook"]))


if __name__ == "__main__":
    README_MD.write_text(readme_with_parameters_table(README_MD.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"wrote the parameters table of {README_MD}")
