"""The data dictionary, as code: one ``Column`` per input column.

The loader validates against it and ``docs/data-dictionary.md`` is generated
from it (``python -m helpers.data.schema``), so the page a reviewer reads and the
rules the loader applies cannot drift apart (a test checks the page is current).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from helpers.paths import DATA_DICTIONARY_MD

Kind = Literal["text", "code", "integer", "number", "date", "flag", "list"]


@dataclass(frozen=True)
class Column:
    """One column of an input table.

    ``kind`` is how a cell is parsed: ``text`` (free text), ``code`` (one of
    ``allowed``), ``integer``, ``number`` (decimal), ``date`` (ISO YYYY-MM-DD),
    ``flag`` (0 or 1), ``list`` (``;``-separated codes from ``allowed``).
    ``required`` columns may not have empty cells; for the others an empty
    cell means "did not happen" (dates) or "not applicable".
    ``hard_range`` is the physically possible range (outside it: error);
    ``soft_range`` the clinically plausible one (outside it: warning).
    ``may_be_absent`` columns may be left out of the header altogether (the
    analysis does not use them); every other column must be in the header,
    even when all its cells are empty (an absent ``death_date`` column could
    mean "nobody died" or "forgotten in the export").
    """

    name: str
    kind: Kind
    meaning: str
    unit: str = ""
    allowed: tuple[str, ...] = ()
    required: bool = True
    hard_range: tuple[float, float] | None = None
    soft_range: tuple[float, float] | None = None
    example: str = ""
    may_be_absent: bool = False


#: The two arms the study compares: the codes of the ``arm`` column. They are
#: fixed by the data dictionary (the loader rejects any other code), so they
#: are not notebook parameters: the control arm is SBRT alone, the treated arm
#: (the propensity model's outcome, the hazard ratios' numerator) SBRT+TACE.
CONTROL_ARM: str = "SBRT"
TREATED_ARM: str = "SBRT+TACE"
ARMS: tuple[str, str] = (CONTROL_ARM, TREATED_ARM)

COHORT_COLUMNS: tuple[Column, ...] = (
    Column("patient_id", "text", "Pseudonymous patient identifier, unique in the file.", example="SYN-0001"),
    Column("arm", "code", "Treatment received.", allowed=ARMS, example=CONTROL_ARM),
    Column("sex", "code", "Sex.", allowed=("Female", "Male"), example="Male"),
    Column("age_years", "integer", "Age at SBRT start.", unit="years", hard_range=(0, 120), soft_range=(18, 95), example="58"),
    Column("hepatitis", "code", "Aetiology of the underlying chronic hepatitis.", allowed=("HBV", "HCV"), example="HBV"),
    Column("child_pugh", "code", "Child-Pugh class at SBRT start.", allowed=("A", "B", "C"), example="A"),
    Column("platelets_1e9_per_l", "number", "Platelet count before SBRT.", unit="10^9/L", hard_range=(0, 2000), soft_range=(10, 800), example="112"),
    Column("afp_ng_ml", "number", "Serum alpha-fetoprotein before SBRT.", unit="ng/mL", hard_range=(0, 1e7), soft_range=(0, 1e5), example="15.3"),
    Column("pvtt", "flag", "Portal vein tumour thrombus (1 = present).", allowed=("0", "1"), example="0"),
    Column("ecog", "integer", "ECOG performance status.", allowed=("0", "1", "2"), hard_range=(0, 4), example="0"),
    Column("prior_treatments", "integer", "Number of earlier resections, RFA or TACE sessions for HCC.", hard_range=(0, 50), soft_range=(1, 15), example="1"),
    Column("months_since_last_treatment", "number", "Time from the latest earlier treatment to SBRT start.", unit="months", hard_range=(0, 600), soft_range=(0, 240), example="7.5"),
    Column("n_tumors", "integer", "Number of tumours at recurrence.", hard_range=(1, 100), soft_range=(1, 10), example="1"),
    Column("tumor_diameter_cm", "number", "Diameter of the largest lesion.", unit="cm", hard_range=(0.1, 40), soft_range=(0.5, 20), example="3.2"),
    Column("residual_liver_volume_cc", "number", "Residual (uninvolved) liver volume.", unit="cc", hard_range=(50, 5000), soft_range=(400, 3000), example="1150"),
    Column("sbrt_dose_gy", "number", "Total prescribed SBRT dose.", unit="Gy", hard_range=(1, 100), soft_range=(20, 70), example="50"),
    Column("sbrt_fractions", "integer", "Number of SBRT fractions.", hard_range=(1, 40), soft_range=(1, 10), example="5"),
    Column("sbrt_start", "date", "First day of SBRT (time zero of every endpoint).", example="2015-03-02"),
    Column("sbrt_end", "date", "Last day of SBRT (last fraction); optional, the column may be left out.", required=False, example="2015-03-06", may_be_absent=True),
    Column("tace_date", "date", "Date of the TACE session after SBRT; empty in the SBRT arm.", required=False, example="2015-03-10"),
    Column("last_followup", "date", "Date of last follow-up (or of death).", example="2025-09-30"),
    Column("death_date", "date", "Date of death from any cause; empty if alive at last follow-up.", required=False, example=""),
    Column("progression_date", "date", "Date of first radiographic progression anywhere; empty if none.", required=False, example="2017-01-16"),
    Column("local_progression_date", "date", "Date of progression of the irradiated lesion (mRECIST); empty if none.", required=False, example=""),
    Column("progression_sites", "list", "Sites of first progression, ';'-separated; 'in-field' is the irradiated lesion (also counted as liver).", allowed=("liver", "in-field", "bone", "lung", "lymph node", "pelvis", "adrenal", "peritoneum", "brain", "other"), required=False, example="liver;bone"),
    Column("subsequent_therapy", "code", "Treatment of progression; empty without progression.", allowed=("single", "multiple", "conservative"), required=False, example="single"),
)

ADVERSE_EVENT_COLUMNS: tuple[Column, ...] = (
    Column("patient_id", "text", "Patient identifier; must exist in the cohort file.", example="SYN-0001"),
    Column("phase", "code", "When the event occurred: during/after SBRT, or after TACE.", allowed=("SBRT", "post-TACE"), example="SBRT"),
    Column("term", "text", "CTCAE v4.0 term; radiation-induced liver disease as 'RILD (classic)' or 'RILD (non-classic)'.", example="Fatigue"),
    Column("grade", "integer", "CTCAE grade.", allowed=("1", "2", "3", "4", "5"), hard_range=(1, 5), example="1"),
)

TABLES: dict[str, tuple[Column, ...]] = {
    "cohort.csv": COHORT_COLUMNS,
    "adverse_events.csv": ADVERSE_EVENT_COLUMNS,
}

RILD_TERMS: tuple[str, ...] = ("RILD (classic)", "RILD (non-classic)")


def _describe(col: Column) -> str:
    if col.allowed:
        return ", ".join(f"`{a}`" for a in col.allowed)
    if col.hard_range:
        lo, hi = col.hard_range
        return f"{lo:g} to {hi:g}"
    return ""


def data_dictionary_markdown() -> str:
    """The data dictionary page, as Markdown."""
    lines = [
        "# Data dictionary",
        "",
        "<!-- Generated by `python -m helpers.data.schema` from helpers/data/schema.py; do not edit by hand. -->",
        "",
        "Two comma-separated UTF-8 files with a header row. Dates are ISO `YYYY-MM-DD`;",
        "an empty cell in an optional date column means the event did not happen.",
        "The default files in `data/` are **synthetic** (see `helpers/synthetic/generator.py`).",
        "",
        "Values outside *possible* are errors (the run stops); values outside *plausible*",
        "are warnings, listed in the report's data-quality appendix.",
        "",
    ]
    for name, columns in TABLES.items():
        lines += [f"## `{name}`", ""]
        lines += ["| column | type | unit | allowed / possible | plausible | required | meaning |", "|---|---|---|---|---|---|---|"]
        for c in columns:
            soft = f"{c.soft_range[0]:g} to {c.soft_range[1]:g}" if c.soft_range else ""
            lines.append(
                f"| `{c.name}` | {c.kind} | {c.unit} | {_describe(c)} | {soft} | {'yes' if c.required else 'no, and the column may be left out' if c.may_be_absent else 'no'} | {c.meaning} |"
            )
        lines.append("")
    lines += [
        "## Rules across columns (`cohort.csv`)",
        "",
        "- `patient_id` is unique and not empty. Identifiers are compared after Unicode NFC normalisation (an accent typed as a separate combining character, as macOS writes it, equals the composed letter).",
        "- Two `patient_id`s that differ only in letter case (`SYN-0001`, `syn-0001`) are an error when the rest of the two rows is identical (the same patient entered twice), and a warning when the rows differ (analysed as two patients; check they are not one).",
        "- A `patient_id` with an invisible character inside (zero-width space, no-break space, byte-order mark, ...) is an error naming the character; spaces at either end of any cell are removed (warning).",
        "- A `patient_id` in scientific notation (`8.12346E+11`) is a warning: the spreadsheet has kept only the first digits of a long number (format the column as Text).",
        "- No date before `sbrt_start`; none after `last_followup`. `death_date` after `last_followup` is an error, before it a warning; no other date after `death_date`.",
        "- A date in the future is an error. Dates are written ISO `YYYY-MM-DD`; dates written day/month/year (or month/day/year) with a 4-digit year are read in that order, with a warning, when a day above 12 in the same column (else in another date column of the file) shows the order; otherwise, or when the file shows both orders, they are an error naming both readings. A two-digit year and an Excel serial number (1900 or 1904 date system?) are errors.",
        "- `local_progression_date`, when present, is on or after `progression_date` (which must then be present).",
        "- `tace_date` is empty in the `SBRT` arm and present in the `SBRT+TACE` arm.",
        "- `progression_sites` and `subsequent_therapy` are empty exactly when `progression_date` is empty; `in-field` in `progression_sites` should agree with `local_progression_date` (warning).",
        "",
        "## File format",
        "",
        "- UTF-8 (a byte-order mark is accepted); a Windows-1252/Latin-1 file is read with a warning.",
        "- Comma-separated; semicolon- or tab-separated files are read with a warning (and there a decimal comma is read as a decimal point).",
        "- Numbers: write them with `.` as the decimal point and no thousands separator (`1786`, `15.3`). A number with one group of three digits after `,` or `.` (`1,786`, `12.500`) is read with the decimal mark that the same column, else the whole file, uses elsewhere (a warning names the reading, e.g. `'1,786' → 1786`); when nothing in the file tells, it is an error naming both readings. Unambiguous thousands separators (`1,234,567`, `1'785.9`, `1.786,5`, `1 786`) are removed with a warning. In a comma-separated file a decimal comma is an error.",
        "- Flags and integers accept the same spellings (`1`, `1.0`, and `1,0` where decimal commas are read).",
        "- Every column above must be in the header (optional columns may be empty), except those marked \"may be left out\" (`sbrt_end`), which the analysis does not use; unknown columns are kept with a warning. Column names carry no unit (`afp_ng_ml`, not `afp (ng/mL)`): the unit is the dictionary's.",
        "- Not a CSV file (an Excel or LibreOffice workbook, a zip, gzip or other compressed file, a PDF or another binary file) is an error saying what the file is. A file whose rows mix UTF-8 and Windows-1252 is read row by row in each row's encoding, with a warning; a row mixing both is an error. A header ending with an extra delimiter, and a space after the delimiter before quoted cells, are read with a warning.",
        "",
        "## Rules across files",
        "",
        "- Every `patient_id` of `adverse_events.csv` exists in `cohort.csv` (compared after NFC normalisation); the error says when the two differ only in letter case, in lost leading zeros (`7` vs `007`) or by scientific notation.",
        "- `post-TACE` events belong to patients of the `SBRT+TACE` arm.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    DATA_DICTIONARY_MD.write_text(data_dictionary_markdown(), encoding="utf-8")
    print(f"wrote {DATA_DICTIONARY_MD}")
