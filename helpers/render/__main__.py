"""Command line: ``python -m helpers.render --out build``."""
from __future__ import annotations

import argparse
import sys

from . import FORMATS, ROOT, RenderError, render


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m helpers.render",
                                description="Render the manuscript (index.qmd) to HTML, PDF and DOCX "
                                            "in <out>/report, with quarto if on PATH, else pandoc+typst.")
    p.add_argument("--out", default="build",
                   help="build directory holding notebooks/ and results/ (default: build)")
    p.add_argument("--project", default=str(ROOT), help="project directory (default: repository root)")
    p.add_argument("--engine", choices=("auto", "quarto", "pip"), default="auto",
                   help="auto: quarto if on PATH, else the pip-only renderer")
    p.add_argument("--to", default=",".join(FORMATS),
                   help=f"comma-separated formats (default: {','.join(FORMATS)})")
    args = p.parse_args(argv)
    formats = [f.strip() for f in args.to.split(",") if f.strip()]
    try:
        result = render(args.project, args.out, engine=args.engine, formats=formats)
    except RenderError as exc:
        print(f"helpers.render: render failed: {exc}", file=sys.stderr)
        return 1
    print(f"helpers.render: done ({result.renderer})")
    for fmt, path in result.outputs.items():
        print(f"  {fmt:5s} {path}")
    if result.notebook_pages:
        print(f"  notebook pages: {len(result.notebook_pages)} in "
              f"{result.notebook_pages[0].parent}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
