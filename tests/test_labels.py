"""Clinical labels (helpers/report/labels.py): model terms read as Table 1's contrasts."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from helpers.data.derive import TABLE1_VARIABLES  # noqa: E402
from helpers.report.labels import contrast_label, km_axis_label, term_label  # noqa: E402
from helpers.report.plots_survival import plot_forest  # noqa: E402


def test_every_table1_variable_reads_as_a_contrast_against_its_reference():
    for v in TABLE1_VARIABLES:
        ref, level = v.levels[0], v.levels[1]
        label = term_label(f"{v.column}[{level}]")
        assert label.startswith(v.label + ": ") and label.endswith(" vs " + ref.replace("<=", "\u2264")
                                                                  .replace(">=", "\u2265"))
        assert v.column not in label


def test_examples():
    assert term_label("child_pugh_class[B]") == "Child-Pugh classification: B vs A"
    assert term_label("sex_group[Male]") == "Gender: Male vs Female"
    assert term_label("arm[SBRT+TACE]") == "Treatment: SBRT+TACE vs SBRT"
    assert contrast_label("platelets_group", ">=100", "<100") == "Platelet count (10^9/L): \u2265100 vs <100"
    assert km_axis_label("OS") == "Overall survival (probability)"


def test_forest_plot_shows_clinical_labels():
    tab = pd.DataFrame({"term": ["arm[SBRT+TACE]", "child_pugh_class[B]"], "hr": [0.52, 2.1],
                        "ci_lower": [0.25, 1.1], "ci_upper": [1.07, 4.0], "p_value": [0.074, 0.02]})
    fig = plot_forest(tab)
    try:
        ticks = [t.get_text() for t in fig.axes[0].get_yticklabels()]
        assert ticks == ["Treatment: SBRT+TACE vs SBRT", "Child-Pugh classification: B vs A"]
    finally:
        plt.close(fig)
