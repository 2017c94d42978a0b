"""The command line: ``python -m helpers.data.load [cohort.csv] [adverse_events.csv]``.

Validates both files, prints every problem (errors, then warnings) and exits
with status 0 (no error) or 1.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from helpers.data.load import DataValidationError, load_study


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m helpers.data.load [cohort.csv] [adverse_events.csv]``: validate, print, exit 0/1."""
    from helpers.paths import ADVERSE_EVENTS_CSV, COHORT_CSV

    parser = argparse.ArgumentParser(
        prog="python -m helpers.data.load",
        description="Check the two input files against the data dictionary (docs/data-dictionary.md).")
    parser.add_argument("cohort", nargs="?", default=str(COHORT_CSV), help="cohort CSV file")
    parser.add_argument("adverse_events", nargs="?", default=str(ADVERSE_EVENTS_CSV),
                        help="adverse-event CSV file")
    args = parser.parse_args(argv)
    try:
        study = load_study(args.cohort, args.adverse_events)
    except DataValidationError as e:
        print(e)
        if e.warnings:
            print(f"\nWarnings ({len(e.warnings)}):")
            for p in e.warnings:
                print(f"  - {p}")
        return 1
    w = study.warnings
    print(f"OK: {len(study.cohort)} patients, {len(study.adverse_events)} adverse events, "
          f"{len(w)} warning{'s' if len(w) != 1 else ''}")
    for p in w:
        print(f"  - {p}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
