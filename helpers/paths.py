"""Where things live. The one module that knows the project's layout.

The build directory can be moved with the environment variable
``HCC_BUILD_DIR`` (the Makefile's ``OUT=``) so that a run on other data never
overwrites the default build.

While ``helpers.pipeline`` runs the notebooks it sets three more variables,
which the notebooks' kernels inherit:

- ``HCC_BUILD_AS`` and ``HCC_BUILD_INTO``: the build folder the user named
  and its staging folder (``<out>.partial``). :func:`build_dir` maps the
  first to the second, so a notebook given ``build_dir = "build"`` (as the
  user wrote it, which is what the executed notebook shows) writes into the
  staging folder, and a failed run leaves the previous build untouched.
- ``HCC_INPUT_SNAPSHOT``: the run took a snapshot of the input files into
  ``<build>/inputs/`` (:func:`inputs_dir`); :func:`input_file` then returns
  the snapshot's copy instead of the file named by the parameter, so every
  notebook of one run reads the same bytes, and :func:`validated_inputs` the
  tables the pipeline validated from them (validation runs once per run).
"""
from __future__ import annotations

import os
from pathlib import Path

ROOT: Path = Path(__file__).resolve().parent.parent
DATA_DIR: Path = ROOT / "data"
NOTEBOOKS_DIR: Path = ROOT / "notebooks"
DOCS_DIR: Path = ROOT / "docs"
TESTS_DIR: Path = ROOT / "tests"
README_MD: Path = ROOT / "README.md"
DATA_DICTIONARY_MD: Path = DOCS_DIR / "data-dictionary.md"

#: The notebooks of the analysis, in the order they run (each reads what the earlier ones wrote).
NOTEBOOK_ORDER = ("00_data_overview", "01_eligibility", "02_matching", "03_survival", "04_toxicity", "05_reproduction",
                  "06_robustness", "07_reviewer")


def notebook_sources(names: tuple[str, ...] = NOTEBOOK_ORDER) -> list[Path]:
    """The percent-format sources of the notebooks to run, in order (those that exist)."""
    return [NOTEBOOKS_DIR / f"{n}.py" for n in names if (NOTEBOOKS_DIR / f"{n}.py").exists()]


COHORT_CSV: Path = DATA_DIR / "cohort.csv"
ADVERSE_EVENTS_CSV: Path = DATA_DIR / "adverse_events.csv"
PUBLISHED_CSV: Path = DATA_DIR / "published.csv"
#: The synthetic cohort's outcome model: effect sizes, the search that chose them, the hazard ratios they give.
SYNTHETIC_EFFECTS_CSV: Path = DATA_DIR / "synthetic_effects.csv"
SYNTHETIC_EFFECTS_HRS_CSV: Path = DATA_DIR / "synthetic_effects_hrs.csv"
#: The paper's own reporting, typed once for the reporting check (notebook 07): percentages of Tables 1 and 2 with
#: their counts and stated denominators, and the statements (doses, BED, caliper, SMD, test rule) with quotes.
PUBLISHED_PERCENTAGES_CSV: Path = DATA_DIR / "published_percentages.csv"
PUBLISHED_REPORTING_CSV: Path = DATA_DIR / "published_reporting.csv"
#: The STROBE checklist for cohort studies (22 items) answered for the paper and for this report.
STROBE_CSV: Path = DATA_DIR / "strobe.csv"


#: Environment variables set by ``helpers.pipeline`` for the notebooks it runs (see the module docstring).
BUILD_AS_ENV = "HCC_BUILD_AS"
BUILD_INTO_ENV = "HCC_BUILD_INTO"
INPUT_SNAPSHOT_ENV = "HCC_INPUT_SNAPSHOT"

#: The input files of a run, by role (the parameter that names each: ``cohort_csv``, ``adverse_events_csv``).
INPUT_ROLES: tuple[str, ...] = ("cohort", "adverse_events")


def _absolute(out: str | os.PathLike) -> Path:
    path = Path(out)
    return Path(os.path.normpath(path if path.is_absolute() else ROOT / path))


def build_dir(out: str | os.PathLike | None = None) -> Path:
    """The build directory: ``out`` if given, else ``$HCC_BUILD_DIR``, else ``build/``.

    A relative ``out`` is relative to the project root. During a pipeline run
    the build folder being made (``$HCC_BUILD_AS``) is its staging folder
    (``$HCC_BUILD_INTO``).
    """
    if out is None:
        out = os.environ.get("HCC_BUILD_DIR", ROOT / "build")
    path = _absolute(out)
    final, staging = os.environ.get(BUILD_AS_ENV), os.environ.get(BUILD_INTO_ENV)
    if final and staging and path == _absolute(final):
        return Path(staging)
    return path


def inputs_dir(out: str | os.PathLike | None = None) -> Path:
    """The snapshot of a run's input files: ``inputs/<role>/<file name as given>``, and ``inputs/SHA256SUMS``."""
    return build_dir(out) / "inputs"


def input_file(role: str, given: str | os.PathLike, out: str | os.PathLike | None = None) -> Path:
    """The file a notebook reads for input ``role`` (``"cohort"`` or ``"adverse_events"``).

    In a pipeline run (``$HCC_INPUT_SNAPSHOT`` set) it is the run's snapshot
    in :func:`inputs_dir`, whatever has happened to ``given`` since; a
    notebook run on its own (papermill, Jupyter) reads ``given``.

    Raises
    ------
    FileNotFoundError
        In a pipeline run whose build has no snapshot of ``role``.
    """
    if role not in INPUT_ROLES:
        raise ValueError(f"unknown input role {role!r}; expected one of {', '.join(INPUT_ROLES)}")
    if not os.environ.get(INPUT_SNAPSHOT_ENV):
        return Path(given)
    files = sorted((inputs_dir(out) / role).glob("*"))
    if len(files) != 1:
        raise FileNotFoundError(f"this pipeline run has no snapshot of the {role} file in {inputs_dir(out) / role}; "
                                "run the analysis with `make analysis` (helpers.pipeline), which takes it")
    return files[0]


#: The name, in :func:`inputs_dir`, of the pipeline's validated tables of the snapshot (``helpers.data.load.save_validated``).
VALIDATED_INPUTS = "validated.pickle"


def validated_inputs(out: str | os.PathLike | None = None) -> Path | None:
    """Where a notebook finds the inputs the pipeline run has validated, or None outside a pipeline run.

    The pipeline validates the snapshot once and keeps the typed tables in
    ``inputs/validated.pickle`` with the SHA-256 of the files they were read
    from; notebooks pass this path to ``load_study(..., validated=...)``, which
    uses the tables when the hashes match. A notebook run on its own (no
    ``$HCC_INPUT_SNAPSHOT``) gets None and validates the files it is given.
    """
    if not os.environ.get(INPUT_SNAPSHOT_ENV):
        return None
    return inputs_dir(out) / VALIDATED_INPUTS


def results_dir(out: str | os.PathLike | None = None) -> Path:
    """Machine-readable results: one CSV per table of numbers."""
    return build_dir(out) / "results"


def cache_dir(out: str | os.PathLike | None = None) -> Path:
    """Parsed copies of large results files (``helpers.results.store.read_result``), each valid only for the
    bytes of the CSV it was parsed from; never a result itself."""
    return build_dir(out) / "cache"


def figures_dir(out: str | os.PathLike | None = None) -> Path:
    """Figures saved by the notebooks (PNG for HTML, PDF/SVG for print)."""
    return build_dir(out) / "figures"


def benchmark_dir(out: str | os.PathLike | None = None) -> Path:
    """Output of the benchmark (``python -m benchmarks.run``): its cohorts, runs, CSV, plot and table.

    ``build-benchmark`` unless ``out`` is given (relative to the project root): beside ``build/``, not in it,
    because every pipeline run (``make analysis``) replaces ``build/`` whole.
    """
    return _absolute(out if out is not None else "build-benchmark")
