"""Clinical labels for variables, model terms and endpoints, as Table 1 names them.

A model term such as ``"child_pugh_class[B]"`` is shown as
``"Child-Pugh classification: B vs A"`` (the Table 1 label of the variable, the
level and its reference, the first level of
:data:`helpers.data.derive.TABLE1_VARIABLES`); the treatment term ``"arm[SBRT+TACE]"``
as ``"Treatment: SBRT+TACE vs SBRT"``. Figures, Cox and balance tables and the
text all use these functions; the results files keep the column names.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from helpers.data.derive import TABLE1_VARIABLES
from helpers.data.schema import ARMS

#: Display label per analysis column: Table 1's, and "Treatment" for the arm.
VARIABLE_LABELS: dict[str, str] = {"arm": "Treatment", **{v.column: v.label for v in TABLE1_VARIABLES}}

#: Levels per analysis column, reference first (Table 1's, and the arms with the control first).
VARIABLE_LEVELS: dict[str, tuple[str, ...]] = {"arm": tuple(ARMS), **{v.column: v.levels for v in TABLE1_VARIABLES}}

#: The Kaplan-Meier axis label per endpoint (the endpoint's name, then what the axis shows).
ENDPOINT_AXIS: dict[str, str] = {
    "OS": "Overall survival (probability)",
    "PFS": "Progression-free survival (probability)",
    "LC": "Local control (probability)",
}


def level_label(level: str) -> str:
    """A level code as printed in Table 1: ``>=``/``<=`` as the signs.

    >>> level_label(">=60"), level_label("B")
    ('≥60', 'B')
    """
    return str(level).replace(">=", "\u2265").replace("<=", "\u2264")


def variable_label(column: str) -> str:
    """The Table 1 label of an analysis column (the column name if it has none).

    >>> variable_label("sex_group"), variable_label("arm"), variable_label("unknown_col")
    ('Gender', 'Treatment', 'unknown_col')
    """
    return VARIABLE_LABELS.get(column, column)


def split_term(term: str) -> tuple[str, str | None]:
    """``"child_pugh_class[B]"`` -> ``("child_pugh_class", "B")``; a plain name has no level.

    >>> split_term("child_pugh_class[B]"), split_term("age_years")
    (('child_pugh_class', 'B'), ('age_years', None))
    """
    if term.endswith("]") and "[" in term:
        var, level = term[:-1].split("[", 1)
        return var, level
    return term, None


def term_label(term: str, levels: Mapping[str, Sequence[str]] | None = None) -> str:
    """A model term as a clinical contrast: ``"Child-Pugh classification: B vs A"``.

    Parameters
    ----------
    term : str
        A term of :func:`helpers.stats.survival.cox_fit` or of the propensity model,
        ``"variable[level]"`` (a dummy against the reference level) or a plain
        column name.
    levels : mapping, optional
        Levels per column, reference first, where they differ from
        :data:`VARIABLE_LEVELS` (e.g. a model fitted with other levels).

    Examples
    --------
    >>> term_label("child_pugh_class[B]"), term_label("sex_group[Male]")
    ('Child-Pugh classification: B vs A', 'Gender: Male vs Female')
    >>> term_label("arm[SBRT+TACE]"), term_label("age_group[>=60]")
    ('Treatment: SBRT+TACE vs SBRT', 'Age (years): ≥60 vs <60')
    >>> term_label("ecog_group[2]", {"ecog_group": ["0", "1", "2"]}), term_label("age_years")
    ('ECOG PS score: 2 vs 0', 'age_years')
    """
    var, level = split_term(term)
    if level is None:
        return variable_label(var)
    known = dict(VARIABLE_LEVELS, **{k: tuple(v) for k, v in (levels or {}).items()})
    return contrast_label(var, level, known.get(var, (None,))[0])


def contrast_label(variable: str, level: str, reference: str | None = None) -> str:
    """``"Gender: Male vs Female"`` from the column, the level and the reference level.

    An empty variable is the model's intercept.

    >>> contrast_label("sex_group", "Male", "Female"), contrast_label("", "", "")
    ('Gender: Male vs Female', 'Intercept')
    """
    if not variable or variable != variable:  # empty or NaN: the intercept
        return "Intercept"
    shown = level_label(level) + (f" vs {level_label(reference)}" if reference and reference != level else "")
    return f"{variable_label(variable)}: {shown}"


def km_axis_label(endpoint: str) -> str:
    """The y-axis of a Kaplan-Meier panel names the endpoint.

    >>> km_axis_label("OS"), km_axis_label("TTP")
    ('Overall survival (probability)', 'TTP (probability)')
    """
    return ENDPOINT_AXIS.get(endpoint, f"{endpoint} (probability)")


__all__ = ["VARIABLE_LABELS", "VARIABLE_LEVELS", "ENDPOINT_AXIS", "level_label", "variable_label", "split_term",
           "term_label", "contrast_label", "km_axis_label"]
