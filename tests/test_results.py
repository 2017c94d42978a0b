"""The results layer (helpers.results): the numbers table, its keys, its origins, and the ledger join."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from helpers import results
from helpers.results import NumberTable, number, read_index, read_numbers, write_numbers, write_result
from helpers.results.ledger import numbers_key
from helpers.results.numbers import KEY_COLUMNS, months_key


@pytest.fixture
def in_notebook():
    """A notebook run declared with helpers.results.start, cleared afterwards."""
    yield lambda build: results.start("03_survival", build)
    results.store._RUN.clear()


def test_a_number_row_is_keyed_like_the_ledger():
    row = number("km_survival", 0.618, ci_lower=0.49, ci_upper=0.72, cohort="after", endpoint="OS", arm="SBRT",
                 months=60.0)
    assert tuple(row[c] for c in KEY_COLUMNS) == ("km_survival", "after", "SBRT", "OS", "", "", "60")
    assert (row["value"], row["ci_lower"], row["ci_upper"]) == (0.618, 0.49, 0.72)
    assert math.isnan(row["p_value"]) and row["note"] == ""
    assert (months_key(12.0), months_key(1.5), months_key(float("nan")), months_key("")) == ("12", "1.5", "", "")
    with pytest.raises(TypeError, match="unknown key column"):
        number("km_survival", 0.5, month=60)


def test_numbers_name_their_notebook_cell_and_file(tmp_path, in_notebook):
    in_notebook(tmp_path)
    write_result(pd.DataFrame({"x": [1]}), "logrank", tmp_path, cell="km-logrank",
                 numbers=[number("logrank_p", 0.069, cohort="after", endpoint="OS")])
    n = NumberTable.read(tmp_path).get("logrank_p", cohort="after", endpoint="OS")
    assert (n.value, n.origin.notebook, n.origin.cell, n.results_file) == (
        0.069, "03_survival", "km-logrank", "results/logrank.csv")
    assert n.describe() == ("results/numbers.csv: quantity=logrank_p, cohort=after, endpoint=OS "
                            "(notebook 03_survival, cell km-logrank)")
    assert read_index(tmp_path).to_dict("records") == [
        {"file": "logrank.csv", "notebook": "03_survival", "cell": "km-logrank", "rows": "1"}]


def test_a_cell_run_again_replaces_its_rows_and_two_cells_cannot_share_a_key(tmp_path, in_notebook):
    in_notebook(tmp_path)
    write_numbers([number("n_screened", 190)], tmp_path, results_file="flow", cell="tbl-flow")
    write_numbers([number("n_screened", 191)], tmp_path, results_file="flow", cell="tbl-flow")  # the cell re-run
    write_numbers([number("n_eligible", 152)], tmp_path, results_file="other", cell="tbl-flow")  # same cell, other file
    assert read_numbers(tmp_path)[["quantity", "value"]].values.tolist() == [["n_screened", 191.0],
                                                                            ["n_eligible", 152.0]]
    with pytest.raises(ValueError, match=r"written by more than one cell \(03_survival, cell other; "
                                         r"03_survival, cell tbl-flow\)"):
        write_numbers([number("n_screened", 190)], tmp_path, results_file="flow", cell="other")
    with pytest.raises(ValueError, match="writes the same key twice"):
        write_numbers([number("n_events", 1), number("n_events", 2)], tmp_path, cell="x")


def test_a_cell_without_a_label_cannot_write_results(tmp_path, in_notebook):
    in_notebook(tmp_path)  # outside IPython there is no executing cell, so no label
    with pytest.raises(RuntimeError, match="needs a '#\\| label:' line"):
        write_result(pd.DataFrame({"x": [1]}), "flow", tmp_path)


def test_a_missing_number_names_what_is_recorded(tmp_path):
    write_numbers([number("km_survival", 0.9, cohort="after", endpoint="OS", arm="SBRT", months=12)], tmp_path,
                  cell="km")
    with pytest.raises(KeyError, match="recorded keys of 'km_survival' include"):
        NumberTable.read(tmp_path).get("km_survival", cohort="after", endpoint="OS", arm="SBRT", months=60)


@pytest.mark.parametrize(("ledger", "expected"), [
    # the same key
    (dict(quantity="km_survival", cohort="after", arm="SBRT", endpoint="OS", months="60"),
     ("km_survival", dict(cohort="after", arm="SBRT", endpoint="OS", months="60"), "value")),
    # a CI bound typed on its own row
    (dict(quantity="treatment_hr_ci_lower", cohort="after", arm="SBRT+TACE", endpoint="PFS"),
     ("treatment_hr", dict(cohort="after", arm="SBRT+TACE", endpoint="PFS"), "ci_lower")),
    # a Table 2 row quoted by name, and the ledger's short Table 2 / toxicity row names
    (dict(quantity="n_death", cohort="before", arm="SBRT"),
     ("table2_n", dict(cohort="before", arm="SBRT", level="died"), "value")),
    (dict(quantity="table2_n", cohort="before", arm="SBRT", level="in_field"),
     ("table2_n", dict(cohort="before", arm="SBRT", level="single_liver_in_field"), "value")),
    (dict(quantity="tox_patients", cohort="before", arm="SBRT", level="rild"),
     ("tox_patients", dict(cohort="before", arm="SBRT", level="rild_any"), "value")),
])
def test_the_ledger_joins_the_numbers_on_their_key(ledger, expected):
    row = pd.Series({c: "" for c in KEY_COLUMNS} | ledger)
    assert numbers_key(row) == expected


@pytest.mark.slow
def test_every_number_of_the_default_build_names_a_cell_of_its_notebook(default_build):
    """Each origin in numbers.csv and index.csv is a labelled cell of the executed notebook it names."""
    import nbformat

    from helpers.render.notebooks import cell_label

    origins = set(zip(read_numbers(default_build)["notebook"], read_numbers(default_build)["cell"]))
    origins |= set(zip(read_index(default_build)["notebook"], read_index(default_build)["cell"]))
    labels = {}
    for notebook in {nb for nb, _ in origins}:
        nb = nbformat.read(default_build / "notebooks" / f"{notebook}.ipynb", as_version=4)
        labels[notebook] = {cell_label(c) for c in nb.cells if c.cell_type == "code"}
    assert all(cell in labels[notebook] for notebook, cell in origins), sorted(
        (nb, c) for nb, c in origins if c not in labels[nb])
    written = {p.name for p in (default_build / "results").glob("*.csv")} - {"index.csv", "numbers.csv"}
    assert written == set(read_index(default_build)["file"])  # every results file records its notebook
    numbers = read_numbers(default_build)
    assert not numbers.duplicated(list(KEY_COLUMNS)).any() and len(numbers) > 500


def _every_kind_of_cell(n: int = 1200) -> pd.DataFrame:
    """Floats (signed zero, NaN, infinities, tiny, huge, long), integers, booleans and text that needs quoting."""
    import numpy as np

    floats = np.array([0.0, -0.0, np.nan, np.inf, -np.inf, 1e-300, 1.7976931348623157e308, 1 / 3, 2.5, -12.000000001,
                       123456789012.0, 30.4375 * 7])
    texts = ["SYN-1", "", None, float("nan"), "a,b", 'say "x"', "two\nlines", "cr\ronly", " lead", "é ü", "in-field;liver"]
    rng = np.random.default_rng(4)
    return pd.DataFrame({
        "x": floats[rng.integers(len(floats), size=n)],
        "k": rng.integers(-3, 10**12, size=n),
        "flag": rng.integers(2, size=n).astype(bool),
        "text": pd.Series([texts[i] for i in rng.integers(len(texts), size=n)], dtype=object),
        "y": rng.normal(size=n),
    })


def test_results_csv_text_is_the_bytes_pandas_writes():
    """The column-wise writer of large results files gives exactly ``DataFrame.to_csv``'s text, cell kind by
    cell kind; for a dtype it does not handle it gives None (pandas writes the frame)."""
    from helpers.results.store import FLOAT_FORMAT, csv_text

    df = _every_kind_of_cell()
    assert csv_text(df) == df.to_csv(index=False, lineterminator="\n", float_format=FLOAT_FORMAT)
    empty = df.head(0)
    assert csv_text(empty) == empty.to_csv(index=False, lineterminator="\n", float_format=FLOAT_FORMAT)
    assert csv_text(df.assign(when=pd.Timestamp("2020-01-01"))) is None
    assert csv_text(df.assign(n=pd.array([1] * len(df), dtype="Int64"))) is None
    assert csv_text(df.assign(obj=pd.Series([1] * len(df), dtype=object))) is None
    assert csv_text(df[["x"]]) is None


def test_a_large_results_file_is_parsed_once_per_reading_and_only_for_its_bytes(tmp_path, monkeypatch):
    """``read_result`` returns ``pandas.read_csv``'s frame; a large file's parsed frame is kept in the build's
    cache and used again only for the same ``read_csv`` arguments and the same bytes."""
    from pandas.testing import assert_frame_equal

    from helpers.paths import cache_dir
    from helpers.results import store

    monkeypatch.setattr(store, "CACHE_MIN_BYTES", 1)
    df = _every_kind_of_cell().assign(text=lambda d: d["text"].where(d["text"].isin(["SYN-1", "a,b", ""])))
    path = write_result(df, "cells", tmp_path)
    for kwargs in ({}, {"dtype": {"text": str}}, {"keep_default_na": False}):
        expected = pd.read_csv(path, **kwargs)
        assert_frame_equal(results.read_result("cells", tmp_path, **kwargs), expected)  # parsed, kept
        assert_frame_equal(results.read_result("cells", tmp_path, **kwargs), expected)  # the kept frame
    assert len(list(cache_dir(tmp_path).glob("cells-*.pickle"))) == 3
    write_result(df.assign(y=0.5), "cells", tmp_path)  # other bytes: the kept frames are not used
    assert (results.read_result("cells", tmp_path)["y"] == 0.5).all()
    monkeypatch.setattr(pd, "read_csv", lambda *a, **k: pytest.fail("parsed again"))
    assert (results.read_result("cells", tmp_path)["y"] == 0.5).all()
