"""The loader: a valid pair loads; a corpus of malformed inputs yields exactly the right problems.

Fixtures are small CSV files written to ``tmp_path``; every malformed input of
the corpus (``CORPUS``) names the file, column, spreadsheet rows, a key phrase
of the rule and the severity it must produce, and how many errors in total
(so that one mistake does not drown in follow-on noise).
"""
from __future__ import annotations

import csv
import io
import os
import pickle
import subprocess
import sys
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest

from helpers.data.load import (
    DataValidationError,
    LoadedStudy,
    Problem,
    check_study,
    load_adverse_events,
    load_cohort,
    load_study,
    problems_frame,
    read_table,
    validate_adverse_events,
    validate_cohort,
)
from helpers.data.schema import ADVERSE_EVENT_COLUMNS, COHORT_COLUMNS

ROOT = Path(__file__).resolve().parent.parent
COHORT_NAMES = [c.name for c in COHORT_COLUMNS]
AE_NAMES = [c.name for c in ADVERSE_EVENT_COLUMNS]

# A valid minimal cohort: rows 2, 3, 4 of the spreadsheet.
#  row 2  SYN-0001  SBRT,       alive, no progression
#  row 3  SYN-0002  SBRT+TACE,  local (in-field) progression, then death
#  row 4  SYN-0003  SBRT,       distant progression, alive
BASE_COHORT = [
    dict(patient_id="SYN-0001", arm="SBRT", sex="Male", age_years="58", hepatitis="HBV",
         child_pugh="A", platelets_1e9_per_l="112", afp_ng_ml="15.3", pvtt="0", ecog="0",
         prior_treatments="1", months_since_last_treatment="7.5", n_tumors="1",
         tumor_diameter_cm="3.2", residual_liver_volume_cc="1150", sbrt_dose_gy="50",
         sbrt_fractions="5", sbrt_start="2015-03-02", tace_date="", last_followup="2020-09-30",
         death_date="", progression_date="", local_progression_date="", progression_sites="",
         subsequent_therapy=""),
    dict(patient_id="SYN-0002", arm="SBRT+TACE", sex="Female", age_years="66", hepatitis="HCV",
         child_pugh="B", platelets_1e9_per_l="85", afp_ng_ml="250", pvtt="1", ecog="1",
         prior_treatments="2", months_since_last_treatment="12", n_tumors="2",
         tumor_diameter_cm="5.5", residual_liver_volume_cc="900", sbrt_dose_gy="48",
         sbrt_fractions="8", sbrt_start="2016-05-10", tace_date="2016-05-20",
         last_followup="2018-01-15", death_date="2018-01-15", progression_date="2017-02-01",
         local_progression_date="2017-02-01", progression_sites="in-field;liver",
         subsequent_therapy="single"),
    dict(patient_id="SYN-0003", arm="SBRT", sex="Male", age_years="71", hepatitis="HBV",
         child_pugh="A", platelets_1e9_per_l="150", afp_ng_ml="8", pvtt="0", ecog="0",
         prior_treatments="1", months_since_last_treatment="24", n_tumors="1",
         tumor_diameter_cm="2.1", residual_liver_volume_cc="1300", sbrt_dose_gy="60",
         sbrt_fractions="10", sbrt_start="2017-01-09", tace_date="", last_followup="2019-06-30",
         death_date="", progression_date="2018-03-01", local_progression_date="",
         progression_sites="lung;bone", subsequent_therapy="conservative"),
]
# Rows 2..5 of adverse_events.csv.
BASE_AE = [
    dict(patient_id="SYN-0001", phase="SBRT", term="Fatigue", grade="1"),
    dict(patient_id="SYN-0002", phase="post-TACE", term="Abdominal pain", grade="2"),
    dict(patient_id="SYN-0002", phase="SBRT", term="RILD (classic)", grade="3"),
    dict(patient_id="SYN-0003", phase="SBRT", term="Nausea", grade="1"),
]


def to_csv(rows: list[dict], names: list[str], delimiter: str = ",") -> str:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    w.writerow(names)
    for r in rows:
        w.writerow([r.get(n, "") for n in names])
    return buf.getvalue()


def edited(base: list[dict], edits: dict[tuple[int, str], str]) -> list[dict]:
    """A copy of ``base`` with cells replaced; keys are (spreadsheet row, column)."""
    rows = [dict(r) for r in base]
    for (row, col), value in edits.items():
        rows[row - 2][col] = value
    return rows


def cohort_text(edits=None, names=None, delimiter=",") -> str:
    return to_csv(edited(BASE_COHORT, edits or {}), names or COHORT_NAMES, delimiter)


def ae_text(edits=None, names=None, delimiter=",") -> str:
    return to_csv(edited(BASE_AE, edits or {}), names or AE_NAMES, delimiter)


def enc(text: str, encoding: str = "utf-8") -> bytes:
    return text.encode(encoding)


def write_pair(tmp_path: Path, cohort: bytes | str | None = None, ae: bytes | str | None = None):
    cp, ap = tmp_path / "cohort.csv", tmp_path / "adverse_events.csv"
    for path, content, default in ((cp, cohort, cohort_text()), (ap, ae, ae_text())):
        content = default if content is None else content
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return cp, ap


def errors_of(problems):
    return [p for p in problems if p.severity == "error"]


# ---------------------------------------------------------------------------
# The valid pair
# ---------------------------------------------------------------------------


def test_valid_pair_loads_without_any_problem(tmp_path):
    cp, ap = write_pair(tmp_path)
    cohort, ae, problems = check_study(cp, ap)
    assert problems == []
    study = load_study(cp, ap)
    assert isinstance(study, LoadedStudy)
    assert study.warnings == []
    assert len(study.cohort) == 3 and len(study.adverse_events) == 4


def test_typed_frames(tmp_path):
    cp, ap = write_pair(tmp_path)
    study = load_study(cp, ap)
    c, a = study.cohort, study.adverse_events
    assert list(c.columns) == ["source_row", *COHORT_NAMES]
    assert list(a.columns) == ["source_row", *AE_NAMES]
    assert c["source_row"].tolist() == [2, 3, 4]
    assert a["source_row"].tolist() == [2, 3, 4, 5]
    for col in COHORT_COLUMNS:
        dtype = c[col.name].dtype
        if col.kind == "date":
            assert dtype == "datetime64[ns]", col.name
        elif col.kind == "integer":
            assert dtype == "Int64", col.name
        elif col.kind == "number":
            assert dtype == "float64", col.name
        elif col.kind == "flag":
            assert dtype == "int64", col.name
        else:
            assert pd.api.types.is_object_dtype(dtype), col.name
    assert c["pvtt"].tolist() == [0, 1, 0]
    assert c["age_years"].tolist() == [58, 66, 71]
    assert c["afp_ng_ml"].tolist() == [15.3, 250.0, 8.0]
    assert c.loc[1, "tace_date"] == pd.Timestamp("2016-05-20")
    assert pd.isna(c.loc[0, "tace_date"]) and pd.isna(c.loc[0, "subsequent_therapy"])
    assert c["arm"].tolist() == ["SBRT", "SBRT+TACE", "SBRT"]
    assert c.loc[1, "progression_sites"] == "in-field;liver"
    assert a["grade"].dtype == "Int64" and a["grade"].tolist() == [1, 2, 3, 1]


def test_typed_cohort_feeds_derive(tmp_path):
    from helpers.data.derive import add_endpoints, add_table1_categories

    cp, _ = write_pair(tmp_path)
    df = add_endpoints(add_table1_categories(load_cohort(cp)))
    assert df["os_event"].tolist() == [0, 1, 0]
    assert df["pvtt_group"].tolist() == ["Without", "With", "Without"]


def test_load_cohort_and_adverse_events_separately(tmp_path):
    cp, ap = write_pair(tmp_path)
    cohort = load_cohort(cp)
    assert cohort.attrs["warnings"] == []
    ae = load_adverse_events(ap, cohort)
    assert len(ae) == 4


# ---------------------------------------------------------------------------
# The corpus of malformed inputs
# ---------------------------------------------------------------------------

ANY = object()  # "rows not checked"


@dataclass
class Case:
    id: str
    cohort: bytes | str | None = None   # None: the valid file
    ae: bytes | str | None = None
    file: str = "cohort.csv"
    column: str = ""
    rows: list[int] | object = field(default_factory=list)
    phrase: str = ""
    severity: str | None = "error"      # None: no problem at all
    n_errors: int | None = None         # default: 1 for an error case, 0 for a warning case


def _cohort_without(column: str) -> str:
    return cohort_text(names=[n for n in COHORT_NAMES if n != column])


def _cohort_header_only() -> str:
    return ",".join(COHORT_NAMES) + "\n"


def _cohort_duplicate_header() -> str:
    names = [*COHORT_NAMES, "arm"]
    lines = cohort_text().splitlines()
    return "\n".join([",".join(names)] + [line + ",SBRT" for line in lines[1:]]) + "\n"


def _cohort_extra_cell_in_row_3() -> str:
    lines = cohort_text().splitlines()
    lines[2] += ",oops"
    return "\n".join(lines) + "\n"


def _cohort_title_row() -> str:
    return "Recurrent HCC export 2024" + "," * (len(COHORT_NAMES) - 1) + "\n" + cohort_text()


def _cohort_blank_row_3() -> str:
    lines = cohort_text().splitlines()
    return "\n".join([lines[0], lines[1], "", *lines[2:]]) + "\n"


def _cohort_repeated_header() -> str:
    lines = cohort_text().splitlines()
    return "\n".join([*lines[:3], lines[0], lines[3]]) + "\n"


def _cohort_short_row_3() -> str:
    lines = cohort_text().splitlines()
    lines[2] = lines[2].rsplit(",", 1)[0]
    return "\n".join(lines) + "\n"


def _cohort_unnamed_column() -> str:
    lines = cohort_text().splitlines()
    lines[0] += ","
    lines[1] += ",see notes"
    lines[2] += ","
    lines[3] += ","
    return "\n".join(lines) + "\n"


def _ae_latin1() -> bytes:
    return ae_text({(4, "term"): "Douleur abdominale sévère"}).encode("latin-1")


# --- issue 10: files that were read silently wrong, or rejected for the wrong reason ----------

SEMI = ";"
#: A semicolon file whose every number has no decimals: nothing tells the decimal mark.
_NO_DECIMALS = {(2, "afp_ng_ml"): "15", (2, "months_since_last_treatment"): "7",
                (2, "tumor_diameter_cm"): "3", (3, "tumor_diameter_cm"): "5",
                (4, "tumor_diameter_cm"): "2"}


def _zipped(name: str, content: str) -> bytes:
    import zipfile  # noqa: PLC0415

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(name, content)
    return buf.getvalue()


def _gzipped(content: str) -> bytes:
    import gzip  # noqa: PLC0415

    return gzip.compress(content.encode(), mtime=0)


def _cohort_header_trailing_delimiter(text: str | None = None) -> str:
    lines = (text or cohort_text()).splitlines()
    lines[0] += ","
    return "\n".join(lines) + "\n"


def _space_before_quotes(text: str) -> str:
    """Every cell quoted, with a space after each comma (``"a", "b"``)."""
    return "\n".join(", ".join(f'"{c}"' for c in line.split(",")) for line in text.splitlines()) + "\n"


def _ae_mixed_encodings() -> bytes:
    """Rows 2-3 exported as UTF-8, rows 4-5 appended from a Windows-1252 export."""
    lines = ae_text({(2, "term"): "Fièvre", (4, "term"): "Douleur abdominale sévère"}).splitlines(keepends=True)
    return "".join(lines[:3]).encode("utf-8") + "".join(lines[3:]).encode("cp1252")


def _ae_mixed_within_a_row() -> bytes:
    lines = ae_text().splitlines(keepends=True)
    row4 = b"SYN-0002,SBRT," + "Fièvre ".encode() + "sévère".encode("cp1252") + b",3\n"
    return "".join(lines[:3]).encode() + row4 + lines[4].encode()


def _cohort_twice_in_other_case() -> str:
    row2 = cohort_text().splitlines()[1]
    return cohort_text() + row2.replace("SYN-0001", "syn-0001") + "\n"


def _cohort_other_case_different_row() -> str:
    row2 = cohort_text().splitlines()[1]
    return cohort_text() + row2.replace("SYN-0001", "syn-0001").replace(",58,", ",59,") + "\n"


HEPATO = "Hépato-0001"
HEPATO_NFD = unicodedata.normalize("NFD", HEPATO)


CORPUS: list[Case] = [
    # --- the file as a whole ------------------------------------------------
    Case("empty file", cohort=b"", phrase="empty"),
    Case("whitespace-only file", cohort=b"\r\n  \r\n", phrase="empty"),
    Case("header only", cohort=_cohort_header_only(), phrase="no data rows"),
    Case("AE header only", ae=",".join(AE_NAMES) + "\n", file="adverse_events.csv",
         phrase="no data rows"),
    Case("old xls workbook", cohort=b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 32,
         phrase="Excel workbook (.xls)"),
    Case("NUL bytes", ae=ae_text().encode("utf-16-le"), file="adverse_events.csv",
         phrase="NUL bytes"),
    Case("xlsx workbook", cohort=b"PK\x03\x04\x14\x00\x06\x00binary", phrase="Excel .xlsx"),
    Case("files swapped", cohort=ae_text(), ae=cohort_text(), phrase="wrong order",
         n_errors=2),  # each file has the other's columns
    Case("not the study's file", cohort="Name,Date\nfoo,bar\n", rows=[1],
         phrase="none of the data dictionary's column names is in row 1 (found 'Name', 'Date')"),
    Case("title row above the header", cohort=_cohort_title_row(), rows=[2],
         phrase="column names are in row 2"),
    Case("unclosed quote", cohort=cohort_text({(3, "sex"): "\"Female"}).replace('"""Female"', '"Female'),
         rows=[3], phrase="a quote mark (\") is not closed"),
    Case("UTF-8 with BOM", cohort=b"\xef\xbb\xbf" + enc(cohort_text()), severity=None),
    Case("UTF-16 (Excel Unicode Text)", cohort=cohort_text(delimiter="\t").encode("utf-16"),
         phrase="UTF-16", severity="warning"),
    Case("latin-1 encoding", ae=_ae_latin1(), file="adverse_events.csv", rows=[4],
         phrase="not valid UTF-8", severity="warning"),
    Case("semicolon delimiter", cohort=cohort_text(delimiter=";"), phrase="semicolons",
         severity="warning"),
    Case("tab delimiter", ae=ae_text(delimiter="\t"), file="adverse_events.csv", phrase="tab",
         severity="warning"),
    Case("Excel sep= line", cohort="sep=;\n" + cohort_text(delimiter=";"), severity=None),
    Case("CR-only line endings (old Mac Excel)", cohort=cohort_text().replace("\n", "\r"),
         severity=None),
    Case("trailing empty rows (Excel)", cohort=cohort_text() + ",,,\n" * 3 + "\n", severity=None),
    Case("row with a missing cell", cohort=_cohort_short_row_3(), rows=[3],
         phrase="fewer cells than the header"),
    Case("row with an extra cell", cohort=_cohort_extra_cell_in_row_3(), rows=[3],
         phrase="more cells than the header"),
    Case("empty row between patients", cohort=_cohort_blank_row_3(), rows=[3],
         phrase="empty row", severity="warning"),
    Case("repeated header row", cohort=_cohort_repeated_header(), rows=[4],
         phrase="repeats the header row"),
    # --- columns ------------------------------------------------------------
    Case("missing column", cohort=_cohort_without("sex"), column="sex",
         phrase="missing from the header"),
    Case("missing optional column", cohort=_cohort_without("death_date"), column="death_date",
         phrase="missing from the header"),
    Case("misspelt column name", cohort=cohort_text(names=[
        "Age_Years" if n == "age_years" else n for n in COHORT_NAMES]).replace(
        ",Age_Years,", ",Age_Years,"), column="age_years", phrase="found 'Age_Years'",
        n_errors=1),
    Case("unknown extra column", cohort=cohort_text(names=[*COHORT_NAMES, "notes"]),
         column="notes", rows=[1], phrase="unknown column", severity="warning"),
    Case("unnamed column with values", cohort=_cohort_unnamed_column(), rows=[2],
         phrase="has values but no name in the header", severity="warning"),
    Case("reserved column name", cohort=cohort_text(names=[*COHORT_NAMES, "source_row"]),
         column="source_row", rows=[1], phrase="reserved"),
    Case("duplicated header", cohort=_cohort_duplicate_header(), column="arm", rows=[1],
         phrase="appears 2 times in the header"),
    # --- cells: whitespace, types, codes --------------------------------------
    Case("spaces around a code", cohort=cohort_text({(2, "sex"): "  Male "}), column="sex",
         rows=[2], phrase="spaces", severity="warning"),
    Case("age not a number", cohort=cohort_text({(2, "age_years"): "fifty"}), column="age_years",
         rows=[2], phrase="must be a whole number; found 'fifty'"),
    Case("age not whole", cohort=cohort_text({(3, "age_years"): "58.5"}), column="age_years",
         rows=[3], phrase="must be a whole number"),
    Case("decimal comma in a comma file", cohort=cohort_text({(2, "tumor_diameter_cm"): "3,2"}),
         column="tumor_diameter_cm", rows=[2], phrase="decimal point"),
    Case("decimal comma in a semicolon file",
         cohort=cohort_text({(2, "tumor_diameter_cm"): "3,2"}, delimiter=";"),
         column="tumor_diameter_cm", rows=[2], phrase="decimal comma read as a decimal point",
         severity="warning"),
    Case("thousands dot in a decimal-comma file",
         cohort=cohort_text({(2, "tumor_diameter_cm"): "3,2", (3, "afp_ng_ml"): "12.500"},
                            delimiter=";"),
         column="afp_ng_ml", rows=[3], phrase="thousands separator", severity="warning"),
    Case("whole number written with .0", cohort=cohort_text({(2, "age_years"): "58.0"}),
         severity=None),
    Case("list with a trailing separator", cohort=cohort_text({(4, "progression_sites"): "lung;bone;"}),
         severity=None),
    Case("lab value as a bound", cohort=cohort_text({(4, "afp_ng_ml"): "<2"}), column="afp_ng_ml",
         rows=[4], phrase="is not a number"),
    Case("number with a unit", cohort=cohort_text({(2, "sbrt_dose_gy"): "50 Gy"}),
         column="sbrt_dose_gy", rows=[2], phrase="without a unit"),
    Case("code in the wrong case", cohort=cohort_text({(2, "arm"): "sbrt"}), column="arm",
         rows=[2], phrase="must be one of SBRT, SBRT+TACE; found 'sbrt' (did you mean 'SBRT'?"),
    Case("code outside the dictionary", cohort=cohort_text({(4, "child_pugh"): "D"}),
         column="child_pugh", rows=[4], phrase="must be one of A, B, C; found 'D'"),
    Case("abbreviated sex", cohort=cohort_text({(2, "sex"): "M", (4, "sex"): "M"}), column="sex",
         rows=[2, 4], phrase="found 'M' (did you mean 'Male'?)"),
    Case("flag as yes/no", cohort=cohort_text({(3, "pvtt"): "yes"}), column="pvtt", rows=[3],
         phrase="must be 0 or 1"),
    Case("ECOG outside allowed", cohort=cohort_text({(3, "ecog"): "3"}), column="ecog", rows=[3],
         phrase="must be one of 0, 1, 2"),
    Case("list item outside the dictionary",
         cohort=cohort_text({(4, "progression_sites"): "lung;spleen"}), column="progression_sites",
         rows=[4], phrase="found 'lung;spleen'"),
    Case("list separated by commas", cohort=cohort_text({(4, "progression_sites"): "lung, bone"}),
         column="progression_sites", rows=[4], phrase="separate the items with ';'"),
    Case("required cell empty", cohort=cohort_text({(3, "sex"): ""}), column="sex", rows=[3],
         phrase="is required but empty"),
    Case("NA in a date column", cohort=cohort_text({(2, "death_date"): "NA"}),
         column="death_date", rows=[2], phrase="leave the cell empty"),
    # --- patient_id -------------------------------------------------------------
    Case("duplicate patient_id", cohort=cohort_text({(4, "patient_id"): "SYN-0001"}),
         column="patient_id", rows=[2, 4], phrase="'SYN-0001' appears 2 times",
         n_errors=2),  # and the AE of SYN-0003 names a patient no longer in the cohort
    Case("empty patient_id", cohort=cohort_text({(3, "patient_id"): ""}), column="patient_id",
         rows=[3], phrase="required",
         n_errors=2),  # and the AE rows of SYN-0002 now name an unknown patient
    # --- dates --------------------------------------------------------------------
    Case("date day/month/year", cohort=cohort_text({(2, "sbrt_start"): "12/03/2015"}),
         column="sbrt_start", rows=[2], phrase="must be a date written YYYY-MM-DD; found '12/03/2015'"),
    Case("date without zero padding", cohort=cohort_text({(4, "progression_date"): "2018-3-1"}),
         column="progression_date", rows=[4], phrase="2-digit month and day"),
    Case("impossible date", cohort=cohort_text({(3, "tace_date"): "2016-02-30"}),
         column="tace_date", rows=[3], phrase="not a real calendar date; found '2016-02-30'"),
    Case("Excel serial date", cohort=cohort_text({(2, "last_followup"): "44104"}),
         column="last_followup", rows=[2], phrase="Excel date serial number"),
    Case("date with a time", cohort=cohort_text({(2, "sbrt_start"): "2015-03-02 00:00:00"}),
         column="sbrt_start", rows=[2], phrase="remove the time of day"),
    Case("date in the future", cohort=cohort_text({(2, "last_followup"): "2999-01-01"}),
         column="last_followup", rows=[2], phrase="in the future"),
    # --- rules across columns -------------------------------------------------------
    Case("death before SBRT start",
         cohort=cohort_text({(2, "death_date"): "2015-01-01"}), column="death_date", rows=[2],
         phrase="death_date is before sbrt_start"),
    Case("progression after last follow-up",
         cohort=cohort_text({(4, "progression_date"): "2020-01-01"}), column="progression_date",
         rows=[4], phrase="progression_date is after last_followup"),
    Case("last follow-up before SBRT start",
         cohort=cohort_text({(2, "last_followup"): "2015-01-01"}), column="last_followup",
         rows=[2], phrase="last_followup is before sbrt_start"),
    Case("death after last follow-up",
         cohort=cohort_text({(3, "death_date"): "2018-03-01"}), column="death_date", rows=[3],
         phrase="death_date is after last_followup"),
    Case("death before last follow-up",
         cohort=cohort_text({(3, "last_followup"): "2018-06-30"}), column="death_date", rows=[3],
         phrase="death_date is before last_followup", severity="warning"),
    Case("progression after death",
         cohort=cohort_text({(3, "progression_date"): "2018-01-20",
                             (3, "local_progression_date"): "2018-01-20",
                             (3, "last_followup"): "2018-02-01"}),
         column="progression_date", rows=[3], phrase="progression_date is after death_date",
         n_errors=2),  # local_progression_date too
    Case("local progression before progression",
         cohort=cohort_text({(3, "local_progression_date"): "2017-01-01"}),
         column="local_progression_date", rows=[3], phrase="before progression_date"),
    Case("local progression without progression",
         cohort=cohort_text({(2, "local_progression_date"): "2016-01-01"}),
         column="local_progression_date", rows=[2], phrase="progression_date is empty"),
    Case("TACE date in the SBRT arm", cohort=cohort_text({(2, "tace_date"): "2015-03-10"}),
         column="tace_date", rows=[2], phrase="must be empty in the SBRT arm"),
    Case("TACE date missing in the SBRT+TACE arm", cohort=cohort_text({(3, "tace_date"): ""}),
         column="tace_date", rows=[3], phrase="is required in the SBRT+TACE arm"),
    Case("TACE before SBRT", cohort=cohort_text({(3, "tace_date"): "2016-05-01"}),
         column="tace_date", rows=[3], phrase="tace_date is before sbrt_start"),
    Case("progression sites without progression",
         cohort=cohort_text({(2, "progression_sites"): "liver"}), column="progression_sites",
         rows=[2], phrase="must be empty when progression_date is empty"),
    Case("progression without sites", cohort=cohort_text({(4, "progression_sites"): ""}),
         column="progression_sites", rows=[4], phrase="is required when progression_date is filled"),
    Case("subsequent therapy without progression",
         cohort=cohort_text({(2, "subsequent_therapy"): "single"}), column="subsequent_therapy",
         rows=[2], phrase="must be empty when progression_date is empty"),
    Case("progression without subsequent therapy",
         cohort=cohort_text({(4, "subsequent_therapy"): ""}), column="subsequent_therapy",
         rows=[4], phrase="is empty although progression_date is filled", severity="warning"),
    Case("in-field without local progression",
         cohort=cohort_text({(4, "progression_sites"): "in-field"}), column="progression_sites",
         rows=[4], phrase="includes 'in-field'", severity="warning"),
    # --- ranges ---------------------------------------------------------------------
    Case("negative age", cohort=cohort_text({(2, "age_years"): "-3"}), column="age_years",
         rows=[2], phrase="must be between 0 and 120 years; found '-3'"),
    Case("absurd age", cohort=cohort_text({(4, "age_years"): "158"}), column="age_years",
         rows=[4], phrase="must be between 0 and 120 years"),
    Case("implausible age", cohort=cohort_text({(4, "age_years"): "12"}), column="age_years",
         rows=[4], phrase="outside the plausible range 18 to 95", severity="warning"),
    Case("zero dose", cohort=cohort_text({(2, "sbrt_dose_gy"): "0"}), column="sbrt_dose_gy",
         rows=[2], phrase="must be between 1 and 100 Gy"),
    Case("absurd dose", cohort=cohort_text({(2, "sbrt_dose_gy"): "500"}), column="sbrt_dose_gy",
         rows=[2], phrase="must be between 1 and 100 Gy"),
    Case("zero fractions", cohort=cohort_text({(3, "sbrt_fractions"): "0"}),
         column="sbrt_fractions", rows=[3], phrase="must be between 1 and 40"),
    Case("many fractions", cohort=cohort_text({(3, "sbrt_fractions"): "25"}),
         column="sbrt_fractions", rows=[3], phrase="plausible range 1 to 10", severity="warning"),
    Case("zero diameter", cohort=cohort_text({(2, "tumor_diameter_cm"): "0"}),
         column="tumor_diameter_cm", rows=[2], phrase="must be between 0.1 and 40 cm"),
    Case("diameter in mm", cohort=cohort_text({(2, "tumor_diameter_cm"): "32"}),
         column="tumor_diameter_cm", rows=[2], phrase="plausible range 0.5 to 20 cm",
         severity="warning"),
    Case("negative diameter", cohort=cohort_text({(2, "tumor_diameter_cm"): "-3.2"}),
         column="tumor_diameter_cm", rows=[2], phrase="must be between 0.1 and 40 cm"),
    # --- adverse events ----------------------------------------------------------------
    Case("AE of an unknown patient", ae=ae_text({(5, "patient_id"): "SYN-9999"}),
         file="adverse_events.csv", column="patient_id", rows=[5],
         phrase="patient is not in cohort.csv; found 'SYN-9999'"),
    Case("AE patient_id in the wrong case", ae=ae_text({(5, "patient_id"): "syn-0003"}),
         file="adverse_events.csv", column="patient_id", rows=[5],
         phrase="did you mean 'SYN-0003'?"),
    Case("grade 0", ae=ae_text({(2, "grade"): "0"}), file="adverse_events.csv", column="grade",
         rows=[2], phrase="must be between 1 and 5; found '0'"),
    Case("grade 6", ae=ae_text({(3, "grade"): "6"}), file="adverse_events.csv", column="grade",
         rows=[3], phrase="must be between 1 and 5; found '6'"),
    Case("grade in roman numerals", ae=ae_text({(3, "grade"): "II"}), file="adverse_events.csv",
         column="grade", rows=[3], phrase="must be a whole number"),
    Case("post-TACE event in the SBRT arm", ae=ae_text({(2, "phase"): "post-TACE"}),
         file="adverse_events.csv", column="phase", rows=[2],
         phrase="post-TACE event, but patient 'SYN-0001' is in the SBRT arm"),
    Case("phase in the wrong case", ae=ae_text({(3, "phase"): "Post-TACE"}),
         file="adverse_events.csv", column="phase", rows=[3], phrase="did you mean 'post-TACE'?"),
    Case("empty term", ae=ae_text({(4, "term"): ""}), file="adverse_events.csv", column="term",
         rows=[4], phrase="is required but empty"),
    Case("RILD spelt freely", ae=ae_text({(4, "term"): "RILD"}), file="adverse_events.csv",
         column="term", rows=[4], phrase="must be recorded exactly as 'RILD (classic)'"),
    Case("grade 5 of a living patient", ae=ae_text({(5, "grade"): "5"}),
         file="adverse_events.csv", column="grade", rows=[5], phrase="grade 5 (fatal)",
         severity="warning"),
    Case("same AE twice", ae=ae_text() + "SYN-0001,SBRT,Fatigue,1\n", file="adverse_events.csv",
         rows=[2, 6], phrase="identical rows", severity="warning"),
    # --- issue 10: numbers that can be read two ways -------------------------------------
    Case("thousands comma in a semicolon file with decimal points",
         cohort=cohort_text({(3, "afp_ng_ml"): "1,786"}, delimiter=SEMI), column="afp_ng_ml",
         rows=[3], severity="warning",
         phrase="',' was read as a thousands separator (this column writes decimals with '.': "
                "row 2 '15.3'): '1,786' → 1786"),
    Case("thousands comma decided by the file's other columns",
         cohort=cohort_text({(2, "residual_liver_volume_cc"): "1,150"}, delimiter=SEMI),
         column="residual_liver_volume_cc", rows=[2], severity="warning",
         phrase="(this file writes decimals with '.': column 'afp_ng_ml', row 2 '15.3'): "
                "'1,150' → 1150"),
    Case("thousands comma in a quoted cell of a comma file",
         cohort=cohort_text({(3, "afp_ng_ml"): "1,786"}), column="afp_ng_ml", rows=[3],
         severity="warning", phrase="'1,786' → 1786"),
    Case("thousands comma or decimal comma: undecidable",
         cohort=cohort_text({**_NO_DECIMALS, (3, "afp_ng_ml"): "1,786"}, delimiter=SEMI),
         column="afp_ng_ml", rows=[3],
         phrase="is ambiguous: '1,786' may be 1786 (',' as a thousands separator) or 1.786 (',' "
                "as the decimal mark); no number in the file has decimals that tell which"),
    Case("column with both decimal marks: a three-digit group is undecidable",
         cohort=cohort_text({(3, "afp_ng_ml"): "1,786", (4, "afp_ng_ml"): "8,5"}, delimiter=SEMI),
         column="afp_ng_ml", rows=[3],
         phrase="this column writes decimals both with '.' (row 2 '15.3') and with ',' (row 4 '8,5')"),
    Case("thousands dot in a column with decimal commas",
         cohort=cohort_text({(2, "afp_ng_ml"): "15,3", (3, "afp_ng_ml"): "12.500"}, delimiter=SEMI),
         column="afp_ng_ml", rows=[3], severity="warning",
         phrase="'.' was read as a thousands separator (this column writes decimals with ',': "
                "row 2 '15,3'): '12.500' → 12500"),
    Case("Swiss thousands apostrophe", cohort=cohort_text({(3, "afp_ng_ml"): "1'785.9"}),
         column="afp_ng_ml", rows=[3], severity="warning",
         phrase="the apostrophe was read as a thousands separator (e.g. '1'785.9' → 1785.9)"),
    Case("German thousands dot and decimal comma",
         cohort=cohort_text({(3, "afp_ng_ml"): "1.786,5"}, delimiter=SEMI), column="afp_ng_ml",
         rows=[3], severity="warning",
         phrase="'.' was read as a thousands separator (e.g. '1.786,5' → 1786.5)"),
    Case("Swiss apostrophe misplaced", cohort=cohort_text({(3, "afp_ng_ml"): "17'85.9"}),
         column="afp_ng_ml", rows=[3], phrase="without thousands separators such as the apostrophe"),
    Case("flag written 1.0", cohort=cohort_text({(3, "pvtt"): "1.0", (2, "pvtt"): "0.0"}),
         severity=None),
    Case("flag written 1,0 in a semicolon file", cohort=cohort_text({(3, "pvtt"): "1,0"}, delimiter=SEMI),
         column="pvtt", rows=[3], severity="warning", phrase="decimal comma read as a decimal point (e.g. '1,0' → 1)"),
    Case("flag written 2", cohort=cohort_text({(3, "pvtt"): "2"}), column="pvtt", rows=[3],
         phrase="must be 0 or 1; found '2'"),
    # --- issue 10: dates that can be read two ways ---------------------------------------------
    Case("day/month/year shown by a day above 12",
         cohort=cohort_text({(2, "sbrt_start"): "25/03/2015", (3, "sbrt_start"): "10/05/2016"}),
         column="sbrt_start", rows=[2, 3], severity="warning",
         phrase="dates written day/month/year were read in that order, as this column shows "
                "(row 2 '25/03/2015'): e.g. '25/03/2015' → 2015-03-25"),
    Case("month/day/year shown by another date column",
         cohort=cohort_text({(2, "sbrt_start"): "03/25/2015", (3, "tace_date"): "05/10/2016"}),
         column="tace_date", rows=[3], severity="warning",
         phrase="as another date column of this file shows (column 'sbrt_start', row 2 "
                "'03/25/2015'): e.g. '05/10/2016' → 2016-05-10"),
    Case("day/month order undecidable", cohort=cohort_text({(3, "sbrt_start"): "10/05/2016"}),
         column="sbrt_start", rows=[3],
         phrase="found '10/05/2016' (day and month cannot be told apart: '10/05/2016' may be "
                "2016-05-10 (day/month/year) or 2016-10-05 (month/day/year)"),
    Case("both day/month orders in one column",
         cohort=cohort_text({(2, "sbrt_start"): "25/03/2015", (3, "sbrt_start"): "05/13/2016",
                             (4, "sbrt_start"): "01/09/2017"}),
         column="sbrt_start", rows=[2, 3, 4],
         phrase="(this column writes dates both day/month/year (row 2 '25/03/2015') and "
                "month/day/year (row 3 '05/13/2016'), so none of these can be read safely"),
    Case("two-digit year", cohort=cohort_text({(3, "sbrt_start"): "10/05/16"}), column="sbrt_start",
         rows=[3], phrase="a two-digit year is ambiguous: '10/05/16' may be in 1916 or 2016"),
    Case("Excel serial date: both date systems named",
         cohort=cohort_text({(2, "last_followup"): "44104", (4, "last_followup"): "43646"}),
         column="last_followup", rows=[2, 4],
         phrase="'44104' is 2020-09-30 in Excel's usual 1900 date system but 2024-10-01 in the "
                "1904 system"),
    # --- issue 10: one cause, one message ------------------------------------------------
    Case("placeholder in a date column: no follow-on error",
         cohort=cohort_text({(2, "progression_date"): "-"}), column="progression_date", rows=[2],
         phrase="found '-' (leave the cell empty when there is nothing to record)"),
    Case("placeholder in tace_date of the SBRT arm: no follow-on error",
         cohort=cohort_text({(2, "tace_date"): "-"}), column="tace_date", rows=[2],
         phrase="must be a date written YYYY-MM-DD; found '-'"),
    Case("unreadable death date: no follow-on in the AE file",
         cohort=cohort_text({(2, "death_date"): "n/a"}), ae=ae_text({(2, "grade"): "5"}),
         column="death_date", rows=[2], phrase="found 'n/a'"),
    Case("row with too few cells: no follow-on 'required' errors",
         cohort="\n".join(line if i != 2 else ",".join(line.split(",")[:8])
                          for i, line in enumerate(cohort_text().splitlines())) + "\n",
         rows=[3], phrase="fewer cells than the header"),
    Case("header with a trailing delimiter", cohort=_cohort_header_trailing_delimiter(), rows=[1],
         severity="warning",
         phrase="the header row ends with 1 extra delimiter (comma) that the data rows do not have"),
    Case("space after the delimiter before quoted cells",
         cohort=_space_before_quotes(cohort_text()), severity="warning",
         phrase="has a space after the delimiter before quoted cells"),
    Case("unit in a column name", cohort=cohort_text().replace("afp_ng_ml", "afp (ng/mL)", 1),
         column="afp_ng_ml",
         phrase="column is missing from the header (found 'afp (ng/mL)': the column name carries a "
                "unit; rename the column 'afp_ng_ml', with the values in ng/mL as the data dictionary says)"),
    Case("unit in a column name, in words", cohort=cohort_text().replace("age_years", "Age (years)", 1),
         column="age_years", phrase="found 'Age (years)': the column name carries a unit"),
    Case("gzip-compressed file", cohort=_gzipped(cohort_text()), phrase="is gzip-compressed (.gz)"),
    Case("zip archive holding the CSV", cohort=_zipped("cohort.csv", cohort_text()),
         phrase="is a zip archive (it contains 'cohort.csv'), not a CSV file: extract the .csv file"),
    Case("real xlsx workbook", cohort=_zipped("xl/workbook.xml", "<workbook/>"),
         phrase="is an Excel workbook (.xlsx)"),
    Case("PDF instead of CSV", ae=b"%PDF-1.7\n...", file="adverse_events.csv", phrase="is a PDF document"),
    Case("binary file", cohort=bytes(range(1, 32)) * 40, phrase="it is a binary file"),
    Case("UTF-16 without byte-order mark", cohort=cohort_text().encode("utf-16-le"),
         phrase="NUL bytes, so it is not a plain-text CSV file (it looks like UTF-16 text without a byte-order mark)"),
    Case("UTF-8 and Windows-1252 parts pasted together", ae=_ae_mixed_encodings(),
         file="adverse_events.csv", rows=[4], severity="warning",
         phrase="mixes two encodings (pasted together from two exports?): UTF-8 in row 2, "
                "Windows-1252 in row 4; each row was read in its own encoding"),
    Case("UTF-8 and Windows-1252 within one row", ae=_ae_mixed_within_a_row(),
         file="adverse_events.csv", rows=[4], phrase="mixes UTF-8 and Windows-1252 encoded characters within the same row"),
    Case("optional sbrt_end absent", cohort=_cohort_without("sbrt_end"), severity=None),
    # --- issue 10: identity of patients -------------------------------------------------
    Case("same patient twice, in another letter case", cohort=_cohort_twice_in_other_case(),
         column="patient_id", rows=[2, 5],
         phrase="patient_ids 'SYN-0001' (row 2), 'syn-0001' (row 5) differ only in letter case and "
                "the rows are otherwise identical: the same patient entered twice"),
    Case("IDs differing in case with different rows", cohort=_cohort_other_case_different_row(),
         column="patient_id", rows=[2, 5], severity="warning",
         phrase="differ only in letter case; they are analysed as different patients"),
    Case("AE ID in decomposed Unicode (macOS)", cohort=cohort_text({(2, "patient_id"): HEPATO}),
         ae=ae_text({(2, "patient_id"): HEPATO_NFD}), file="adverse_events.csv", column="patient_id",
         rows=[2], severity="warning",
         phrase="e.g. 'Hépato-0001' written with a separate U+0301 COMBINING ACUTE ACCENT); they "
                "were read as the composed letters (NFC)"),
    Case("AE ID with a zero-width space", cohort=cohort_text({(2, "patient_id"): HEPATO}),
         ae=ae_text({(2, "patient_id"): "Hépato-\u200b0001"}), file="adverse_events.csv",
         column="patient_id", rows=[2],
         phrase="contains an invisible U+200B ZERO WIDTH SPACE after 'Hépato-'"),
    Case("cohort ID with a no-break space: the AE file is not blamed",
         cohort=cohort_text({(2, "patient_id"): "SYN\u00a00001"}), ae=ae_text({(2, "patient_id"): "SYN 0001"}),
         column="patient_id", rows=[2], phrase="contains an invisible U+00A0 NO-BREAK SPACE after 'SYN'"),
    Case("leading zeros lost in the AE file", cohort=cohort_text({(2, "patient_id"): "007"}),
         ae=ae_text({(2, "patient_id"): "7"}), file="adverse_events.csv", column="patient_id",
         rows=[2], phrase="found '7' (cohort.csv has '007': the leading zeros of one of them were lost"),
    Case("AE ID in scientific notation", cohort=cohort_text({(2, "patient_id"): "812345678901"}),
         ae=ae_text({(2, "patient_id"): "8.12346E+11"}), file="adverse_events.csv",
         column="patient_id", rows=[2],
         phrase="(cohort.csv has '812345678901': '8.12346E+11' is a long number in scientific notation"),
    Case("cohort IDs in scientific notation collide",
         cohort=cohort_text({(2, "patient_id"): "8.12346E+11", (3, "patient_id"): "8.12346E+11"}),
         ae=ae_text({(2, "patient_id"): "8.12346E+11", (3, "patient_id"): "8.12346E+11",
                     (4, "patient_id"): "8.12346E+11"}),
         column="patient_id", rows=[2, 3],
         phrase="patient_id '8.12346E+11' appears 2 times; each patient must have exactly one row "
                "(the spreadsheet shows long numeric identifiers in scientific notation"),
]


def _ids():
    ids = [c.id for c in CORPUS]
    assert len(ids) == len(set(ids))
    return ids


@pytest.mark.parametrize("case", CORPUS, ids=_ids())
def test_malformed_input_gives_the_exact_problem(tmp_path, case: Case):
    cp, ap = write_pair(tmp_path, case.cohort, case.ae)
    _, _, problems = check_study(cp, ap)
    errors = errors_of(problems)
    listing = "\n".join(f"[{p.severity}] {p}" for p in problems)
    if case.severity is None:
        assert problems == [], listing
        return
    matching = [
        p for p in problems
        if p.file == case.file and p.column == case.column and p.severity == case.severity
        and case.phrase in p.rule and (case.rows is ANY or p.rows == case.rows)
    ]
    assert len(matching) == 1, f"expected {case}\n got:\n{listing}"
    n_errors = case.n_errors if case.n_errors is not None else int(case.severity == "error")
    assert len(errors) == n_errors, listing
    if errors:
        with pytest.raises(DataValidationError) as info:
            load_study(cp, ap)
        assert str(matching[0]) in str(info.value) or case.severity == "warning"
    else:
        study = load_study(cp, ap)
        assert matching[0] in study.warnings


def test_corpus_is_large_and_covers_both_files():
    assert len(CORPUS) >= 30
    assert {c.file for c in CORPUS} == {"cohort.csv", "adverse_events.csv"}
    assert {c.severity for c in CORPUS} == {"error", "warning", None}


# ---------------------------------------------------------------------------
# All problems at once
# ---------------------------------------------------------------------------


def test_three_different_errors_yield_three_problems(tmp_path):
    text = cohort_text({
        (2, "arm"): "SBRT-TACE",            # code outside the dictionary
        (3, "age_years"): "-5",             # outside the possible range
        (4, "sbrt_start"): "09/01/2017",    # not ISO
    })
    cp, ap = write_pair(tmp_path, cohort=text)
    _, _, problems = check_study(cp, ap)
    assert [(p.column, p.rows) for p in problems] == [
        ("arm", [2]), ("age_years", [3]), ("sbrt_start", [4])]
    with pytest.raises(DataValidationError) as info:
        load_study(cp, ap)
    message = str(info.value)
    assert message.startswith("3 errors in the input data")
    for p in problems:
        assert str(p) in message


def test_errors_of_both_files_are_reported_together(tmp_path):
    cp, ap = write_pair(tmp_path, cohort=cohort_text({(2, "sex"): "X"}),
                        ae=ae_text({(2, "grade"): "6"}))
    with pytest.raises(DataValidationError) as info:
        load_study(cp, ap)
    assert {p.file for p in info.value.errors} == {"cohort.csv", "adverse_events.csv"}
    assert "cohort.csv, column 'sex', row 2" in str(info.value)
    assert "adverse_events.csv, column 'grade', row 2" in str(info.value)


def test_same_rule_on_many_rows_is_one_problem(tmp_path):
    rows = [dict(BASE_COHORT[0], patient_id=f"SYN-{i:04d}", sex="m") for i in range(1, 16)]
    cp, ap = write_pair(tmp_path, cohort=to_csv(rows, COHORT_NAMES),
                        ae=ae_text({(3, "phase"): "SBRT", (2, "patient_id"): "SYN-0001"}))
    _, _, problems = check_study(cp, ap)
    sex = [p for p in problems if p.column == "sex"]
    assert len(sex) == 1
    assert sex[0].rows == list(range(2, 17))
    assert str(sex[0]).startswith("cohort.csv, column 'sex', rows 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 and 5 more: ")


def test_validate_functions_on_frames_without_files():
    raw = pd.DataFrame(edited(BASE_COHORT, {(3, "sex"): "F"}), dtype=object)
    cohort, problems = validate_cohort(raw)
    assert [(p.file, p.column, p.rows) for p in problems] == [("cohort.csv", "sex", [3])]
    assert cohort["source_row"].tolist() == [2, 3, 4]
    ae, problems = validate_adverse_events(pd.DataFrame(BASE_AE, dtype=object), cohort)
    assert problems == [] and len(ae) == 4
    _, problems = validate_adverse_events(pd.DataFrame(BASE_AE, dtype=object), None)
    assert problems == []  # no cross-file checks without a cohort


def test_read_table_returns_stripped_strings_indexed_by_row(tmp_path):
    path = tmp_path / "cohort.csv"
    path.write_text(cohort_text({(3, "sex"): " Female"}, names=[*COHORT_NAMES, "notes"]))
    raw, problems = read_table(path, COHORT_COLUMNS)
    assert raw.index.name == "source_row" and raw.index.tolist() == [2, 3, 4]
    assert raw.loc[3, "sex"] == "Female"
    assert list(raw.columns) == [*COHORT_NAMES, "notes"]
    assert all(isinstance(v, str) for v in raw.to_numpy().ravel())
    assert {(p.column, p.severity) for p in problems} == {("sex", "warning"), ("notes", "warning")}


def test_unknown_column_is_kept(tmp_path):
    cp, ap = write_pair(tmp_path, cohort=cohort_text({(2, "notes"): "seen"}, names=[*COHORT_NAMES, "notes"]))
    study = load_study(cp, ap)
    assert study.cohort["notes"].tolist() == ["seen", "", ""]
    assert len(study.warnings) == 1


def test_missing_file_is_a_problem_not_a_traceback(tmp_path):
    _, ap = write_pair(tmp_path)
    with pytest.raises(DataValidationError) as info:
        load_study(tmp_path / "nope.csv", ap)
    assert "nope.csv: file not found" in str(info.value)


# ---------------------------------------------------------------------------
# Problem, the error and the command line
# ---------------------------------------------------------------------------


def test_problem_str():
    assert str(Problem("cohort.csv", "death_date", [14, 27], "death before sbrt_start")) == (
        "cohort.csv, column 'death_date', rows 14, 27: death before sbrt_start")
    assert str(Problem("cohort.csv", "sex", [5], "x")) == "cohort.csv, column 'sex', row 5: x"
    assert str(Problem("cohort.csv", "", [], "the file is empty")) == "cohort.csv: the file is empty"
    long = Problem("a.csv", "c", list(range(2, 30)), "r")
    assert str(long) == "a.csv, column 'c', rows 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 and 18 more: r"


def test_error_lists_errors_and_keeps_warnings():
    problems = [Problem("a.csv", "x", [2], "bad"), Problem("a.csv", "y", [3], "odd", "warning"),
                Problem("b.csv", "", [], "empty")]
    e = DataValidationError(problems)
    assert e.errors == [problems[0], problems[2]] and e.warnings == [problems[1]]
    assert "a.csv, column 'x', row 2: bad" in str(e) and "b.csv: empty" in str(e)
    assert "odd" not in str(e)
    again = pickle.loads(pickle.dumps(e))
    assert str(again) == str(e)
    frame = problems_frame(problems)
    assert frame.columns.tolist() == ["severity", "file", "column", "n_rows", "rows", "rows_shown", "rule"]
    assert frame["rows"].tolist() == ["2", "3", ""]
    assert frame["n_rows"].tolist() == [1, 1, 0]
    many = problems_frame([Problem("a.csv", "age_years", list(range(2, 32)), "odd", "warning")])
    assert many.loc[0, "rows"] == ", ".join(map(str, range(2, 32)))
    assert many.loc[0, "rows_shown"] == "rows 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 and 20 more"


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "helpers.data.load", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_cli_ok(tmp_path):
    cp, ap = write_pair(tmp_path, cohort=cohort_text({(4, "subsequent_therapy"): ""}))
    result = _cli(cp, ap)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("OK: 3 patients, 4 adverse events, 1 warning\n")
    assert "column 'subsequent_therapy', row 4" in result.stdout


def test_cli_errors(tmp_path):
    cp, ap = write_pair(tmp_path, cohort=cohort_text({(2, "death_date"): "2015-01-01"}),
                        ae=ae_text({(2, "grade"): "0"}))
    result = _cli(cp, ap)
    assert result.returncode == 1
    assert "cohort.csv, column 'death_date', row 2: death_date is before sbrt_start" in result.stdout
    assert "adverse_events.csv, column 'grade', row 2: must be between 1 and 5" in result.stdout
    assert "Warnings (1):" in result.stdout


# ---------------------------------------------------------------------------
# The input files are only read
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("content", [
    cohort_text(),
    b"\xef\xbb\xbf" + cohort_text({(2, "sex"): " Male "}).encode(),
    cohort_text({(2, "tumor_diameter_cm"): "3,2"}, delimiter=";").encode("cp1252"),
    cohort_text({(2, "age_years"): "-1"}),
], ids=["valid", "bom-and-spaces", "semicolon-decimal-comma", "invalid"])
def test_input_files_are_not_modified(tmp_path, content):
    cp, ap = write_pair(tmp_path, cohort=content)
    past = time.time() - 3600
    for p in (cp, ap):
        os.utime(p, (past, past))
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in (cp, ap)}
    listing_before = sorted(tmp_path.iterdir())
    try:
        load_study(cp, ap)
    except DataValidationError:
        pass
    check_study(cp, ap)
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in (cp, ap)} == before
    assert sorted(tmp_path.iterdir()) == listing_before


# ---------------------------------------------------------------------------
# Issue 10: a repaired file gives exactly the analysis input of the clean file
# ---------------------------------------------------------------------------

# The clean file: AFP and liver volumes of four digits, written plainly.
_BIG = {(3, "afp_ng_ml"): "1786", (2, "residual_liver_volume_cc"): "1150",
        (4, "residual_liver_volume_cc"): "1300"}
_CLEAN = cohort_text(_BIG)


def _as(edits: dict, delimiter: str = ",") -> str:
    return cohort_text({**_BIG, **edits}, delimiter=delimiter)


REPAIRED = {
    # The first silently wrong file of the issue: ';'-separated, decimal points, thousands commas.
    "thousands commas in a semicolon file": _as({(3, "afp_ng_ml"): "1,786",
                                                 (2, "residual_liver_volume_cc"): "1,150",
                                                 (4, "residual_liver_volume_cc"): "1,300"}, SEMI),
    "thousands commas in quoted cells": _as({(3, "afp_ng_ml"): "1,786"}),
    "Swiss apostrophes": _as({(3, "afp_ng_ml"): "1'786", (2, "residual_liver_volume_cc"): "1’150"}),
    "German decimal commas and thousands dots": _as({
        (2, "afp_ng_ml"): "15,3", (3, "afp_ng_ml"): "1.786", (2, "months_since_last_treatment"): "7,5",
        (2, "tumor_diameter_cm"): "3,2", (3, "tumor_diameter_cm"): "5,5", (4, "tumor_diameter_cm"): "2,1"}, SEMI),
    "day/month/year dates": _as({(2, "sbrt_start"): "02/03/2015", (3, "sbrt_start"): "10/05/2016",
                                 (4, "sbrt_start"): "09/01/2017", (2, "last_followup"): "30/09/2020"}),
    "header with a trailing delimiter": _cohort_header_trailing_delimiter(_CLEAN),
    "space before quoted cells": _space_before_quotes(_CLEAN),
    "flags written 1.0": _as({(2, "pvtt"): "0.0", (3, "pvtt"): "1.0", (4, "pvtt"): "0.0"}),
}
#: Spellings the dictionary accepts as they are (integers and flags alike): no warning.
ACCEPTED = {"flags written 1.0"}


@pytest.mark.parametrize("name", list(REPAIRED))
def test_repaired_file_gives_the_clean_analysis_input(tmp_path, name):
    clean_path, variant_path = tmp_path / "clean" / "cohort.csv", tmp_path / "variant" / "cohort.csv"
    for path, text in ((clean_path, _CLEAN), (variant_path, REPAIRED[name])):
        path.parent.mkdir()
        path.write_text(text, encoding="utf-8")
    clean = load_cohort(clean_path)
    variant = load_cohort(variant_path)
    assert clean.attrs["warnings"] == []
    assert bool(variant.attrs["warnings"]) != (name in ACCEPTED), "a repair must be named in a warning"
    pd.testing.assert_frame_equal(variant.reset_index(drop=True), clean.reset_index(drop=True))


def test_thousands_comma_is_not_read_as_a_decimal(tmp_path):
    """The issue's file: before, AFP '1,786' became 1.786 ng/mL with a routine warning."""
    cp, ap = write_pair(tmp_path, cohort=REPAIRED["thousands commas in a semicolon file"])
    cohort = load_study(cp, ap).cohort
    assert cohort["afp_ng_ml"].tolist() == [15.3, 1786.0, 8.0]
    assert cohort["residual_liver_volume_cc"].tolist() == [1150.0, 900.0, 1300.0]


def test_same_patient_in_another_case_cannot_enter_the_analysis(tmp_path):
    """The issue's second file: 'SYN-0001' and 'syn-0001', rows otherwise identical."""
    cp, ap = write_pair(tmp_path, cohort=_cohort_twice_in_other_case())
    with pytest.raises(DataValidationError) as info:
        load_study(cp, ap)
    assert [p.rows for p in info.value.errors] == [[2, 5]]


def test_mixed_encodings_keep_the_accents_of_both_parts(tmp_path):
    cp, ap = write_pair(tmp_path, ae=_ae_mixed_encodings())
    ae = load_study(cp, ap).adverse_events
    assert ae["term"].tolist() == ["Fièvre", "Abdominal pain", "Douleur abdominale sévère", "Nausea"]


def test_unicode_forms_of_one_id_are_one_patient(tmp_path):
    cp, ap = write_pair(tmp_path, cohort=cohort_text({(2, "patient_id"): HEPATO_NFD}),
                        ae=ae_text({(2, "patient_id"): HEPATO}))
    study = load_study(cp, ap)
    assert study.cohort.loc[0, "patient_id"] == HEPATO == study.adverse_events.loc[0, "patient_id"]
    assert unicodedata.is_normalized("NFC", study.cohort.loc[0, "patient_id"])


def test_absent_sbrt_end_is_an_empty_column(tmp_path):
    cp, ap = write_pair(tmp_path, cohort=_cohort_without("sbrt_end"))
    cohort = load_study(cp, ap).cohort
    (tmp_path / "full").mkdir()
    full = load_cohort(write_pair(tmp_path / "full")[0])  # sbrt_end present, every cell empty
    assert cohort["sbrt_end"].dtype == "datetime64[ns]" and cohort["sbrt_end"].isna().all()
    pd.testing.assert_frame_equal(cohort, full)


def test_only_may_be_absent_columns_may_be_absent():
    assert [c.name for c in COHORT_COLUMNS + ADVERSE_EVENT_COLUMNS if c.may_be_absent] == ["sbrt_end"]
