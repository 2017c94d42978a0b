"""The one exception the renderer raises for problems in the sources."""
from __future__ import annotations


class RenderError(RuntimeError):
    """A problem that must stop the render (unresolved reference, missing
    notebook or cell, unknown citation, failing code cell, ...). The message
    names the offending item and where it is."""
