"""The STROBE checklist for cohort studies (von Elm et al. 2007), answered for the paper and for this report.

``data/strobe.csv`` holds the 22 items, typed once: the topic and the
recommendation (shortened), whether the paper answers it (``yes``,
``partly``, ``no``) and where or why not, and the section of this report
that answers it. :func:`read_strobe` reads and checks the file.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from helpers.paths import STROBE_CSV

#: The columns of ``data/strobe.csv`` and the answers a paper may have.
STROBE_COLUMNS = ["item", "topic", "recommendation", "paper_status", "paper", "report"]
PAPER_STATUSES = ("yes", "partly", "no")
N_ITEMS = 22


def read_strobe(path: Path = STROBE_CSV) -> pd.DataFrame:
    """The checklist, checked: items 1-22 once each, every column filled, the paper's status one of
    ``PAPER_STATUSES``. The error names the file, the spreadsheet rows and the fix."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    problems = []
    missing = [c for c in STROBE_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{path.name}: missing column(s) {', '.join(missing)}; the columns are "
                         f"{', '.join(STROBE_COLUMNS)}")
    if sorted(df["item"]) != sorted(str(i) for i in range(1, N_ITEMS + 1)):
        problems.append(f"column 'item' must hold 1 to {N_ITEMS} once each; found {', '.join(df['item'])}")
    bad = [i + 2 for i, s in enumerate(df["paper_status"]) if s not in PAPER_STATUSES]
    if bad:
        problems.append(f"column 'paper_status', rows {', '.join(map(str, bad))}: must be one of "
                        f"{', '.join(PAPER_STATUSES)}")
    for col in STROBE_COLUMNS:
        empty = [i + 2 for i, v in enumerate(df[col]) if not v.strip()]
        if empty:
            problems.append(f"column '{col}', rows {', '.join(map(str, empty))}: empty; say where the item is "
                            "answered, or that it is not")
    if problems:
        raise ValueError(f"{path.name}: " + "; ".join(problems))
    df["item"] = df["item"].astype(int)
    return df.sort_values("item").reset_index(drop=True)
