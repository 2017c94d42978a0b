"""The vectorized loader says exactly what the row-by-row loader said, and its fast reader reads what ``csv`` reads.

- ``tests/data/loader_messages.json`` holds, for every case of the loader's
  corpus (``test_load.CORPUS``) and the valid pair, the full text and severity
  of every problem, as the row-by-row loader of commit f0f81ab wrote them
  (before cells were parsed per column and distinct value): a changed word, a
  changed row list or order is a regression. ``python tests/test_load_fast.py``
  rewrites the file (only when a message is meant to change).
- Files longer than the head the delimiter is chosen from (``read._HEAD_LINES``)
  are parsed once, by pandas' C reader when they have no quote mark
  (``read._parse_fast``). Every corpus file, lengthened past the head, gives
  the same cells, attributes and problems of ``read_table`` as the reference
  procedure (the head as long as the file, every candidate delimiter parsed
  by the ``csv`` module); the typed frames and the other problems are computed
  from those cells alone.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import helpers.data.load.read as read
from helpers.data.load import check_study
from helpers.data.schema import ADVERSE_EVENT_COLUMNS, COHORT_COLUMNS

sys.path.insert(0, str(Path(__file__).resolve().parent))
import test_load as corpus  # noqa: E402

MESSAGES = Path(__file__).resolve().parent / "data" / "loader_messages.json"
CASES = [*corpus.CORPUS, corpus.Case("valid pair", severity=None)]
EXPECTED: dict[str, list[list[str]]] = json.loads(MESSAGES.read_text(encoding="utf-8"))


def _messages_of(folder: Path, case) -> list[list[str]]:
    folder.mkdir(parents=True, exist_ok=True)
    _, _, problems = check_study(*corpus.write_pair(folder, case.cohort, case.ae))
    return [[p.severity, str(p)] for p in problems]


def _lengthened(content: str | bytes) -> bytes:
    """The file with its data rows repeated until it is longer than the head."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    header, _, body = data.partition(b"\n")
    if not body:
        return data
    body = body if body.endswith(b"\n") else body + b"\n"
    return header + b"\n" + body * (read._HEAD_LINES // max(1, body.count(b"\n")) + 1)


def _read_both(folder: Path, cohort: bytes, ae: bytes) -> list:
    folder.mkdir()
    cp, ap = corpus.write_pair(folder, cohort, ae)
    return [read.read_table(cp, COHORT_COLUMNS), read.read_table(ap, ADVERSE_EVENT_COLUMNS)]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case_gives_the_same_messages_short_and_long(tmp_path, monkeypatch, case):
    # Short: every problem exactly as the row-by-row loader wrote it.
    assert _messages_of(tmp_path / "short", case) == EXPECTED[case.id]
    # Long: read as the reference procedure reads it (the typed frames follow from the text frames).
    cohort = _lengthened(corpus.cohort_text() if case.cohort is None else case.cohort)
    ae = _lengthened(corpus.ae_text() if case.ae is None else case.ae)
    fast = _read_both(tmp_path / "fast", cohort, ae)
    monkeypatch.setattr(read, "_HEAD_LINES", 10**9)  # the head is the whole file: every candidate parsed by csv
    monkeypatch.setattr(read, "_parse_fast", lambda text, delimiter: None)
    reference = _read_both(tmp_path / "reference", cohort, ae)
    for (got, got_problems), (want, want_problems) in zip(fast, reference):
        assert [str(p) for p in got_problems] == [str(p) for p in want_problems]
        pd.testing.assert_frame_equal(got, want)
        assert got.attrs == want.attrs


def test_every_case_has_its_messages():
    assert set(EXPECTED) == {c.id for c in CASES}


@pytest.mark.parametrize("text", [
    "a,b,c\n1,2,3\n",
    "a,b,c\r\n1,2,3\r\n\r\n4,5,6",                   # CRLF, a blank line, no line end at the end
    "a,b,c\n1,2\n\n,,\n1,2,3,4\n  \n",               # short, blank, empty cells, long, spaces only
    "a;b\n1,5;2\n",                                  # another delimiter
    "a,b,\n1,2\n3,4\n",                              # a header with a trailing delimiter
    "a,b\n x ,y\u00a0\n\u200bz,\u00e9\n",            # spaces, NBSP, zero-width space, accents
    "\n\na,b\n1,2\n",                                # blank lines above the header
])
def test_fast_reader_reads_what_the_csv_module_reads(text):
    delimiter = ";" if ";" in text else ","
    fast = read._parse_fast(text, delimiter)
    reference = read._body_of_records(read._parse_csv(text, delimiter))
    assert fast is not None
    assert fast.lengths.tolist() == reference.lengths.tolist()
    assert len(fast.columns) == len(reference.columns)
    for got, want in zip(fast.columns, reference.columns):
        assert got.tolist() == want.tolist()


@pytest.mark.parametrize("text", ['a,b\n"1",2\n', "a,b\r1,2\r", "\ufeffa,b\n1,2\n"])
def test_fast_reader_declines_quotes_lone_carriage_returns_and_marks(text):
    assert read._parse_fast(text, ",") is None


def test_cells_of_one_value_are_reported_together_in_first_row_order():
    # The cells are parsed once per distinct value: the message lists every row of the value.
    from helpers.data.load import validate_cohort
    raw = pd.DataFrame({"age_years": ["58", "abc", "58", "abc", "-4", "abc"]})
    _, problems = validate_cohort(raw)
    texts = [str(p) for p in problems if p.column == "age_years"]
    assert texts == ["cohort.csv, column 'age_years', rows 3, 5, 7: must be a whole number; found 'abc'",
                     "cohort.csv, column 'age_years', row 6: must be between 0 and 120 years; found '-4'"]
    assert np.isnan(validate_cohort(raw)[0]["age_years"].astype(float)[[1, 3, 5]]).all()


if __name__ == "__main__":  # rewrite tests/data/loader_messages.json from the loader as it is
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        messages = {c.id: _messages_of(Path(d) / str(k), c) for k, c in enumerate(CASES)}
    MESSAGES.write_text(json.dumps(messages, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {MESSAGES}")
