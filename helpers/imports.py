"""Optional modules that a dependency imports when it finds them but that this project never uses.

``jsonschema`` (which ``nbformat``, and so papermill and nbconvert, import)
registers a format checker for IRIs when ``rfc3987_syntax`` is installed
(it is, as a dependency of the Jupyter packages), and that module builds a
Lark grammar when imported: about 1.1 s of CPU in every process that reads a
notebook — the pipeline's and the renderer's. Notebooks are validated without
format checkers, so the checker is never called. :func:`skip_unused_optional_imports`
makes such a module look absent (``sys.modules[name] = None``, which makes
``import name`` raise ``ImportError``, the case the importing package handles)
unless it is imported already.
"""
from __future__ import annotations

import sys

#: module -> who would import it, and why it is not needed here.
UNUSED_OPTIONAL = {
    "rfc3987_syntax": "jsonschema's 'iri' format checker (builds a Lark grammar when imported); "
                      "nbformat validates notebooks without format checkers",
}


def skip_unused_optional_imports() -> list[str]:
    """Make the modules of :data:`UNUSED_OPTIONAL` absent for this process; return those it skipped.

    Examples
    --------
    >>> import importlib, sys
    >>> skipped = skip_unused_optional_imports()
    >>> "rfc3987_syntax" in sys.modules
    True
    """
    skipped = []
    for name in UNUSED_OPTIONAL:
        if name not in sys.modules:
            sys.modules[name] = None  # type: ignore[assignment]
            skipped.append(name)
    return skipped
