"""Figures that do not grow with the cohort: the rug of the propensity density, rasterized SVGs."""
from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection

from helpers.report.figures import _svg
from helpers.report.plots_balance import RUG_MAX_PATIENTS, plot_propensity_density


def _rug_marks(ax) -> list[int]:
    """Marks per rug of a density panel (seaborn draws each rug as one LineCollection)."""
    return [len(c.get_segments()) for c in ax.collections if isinstance(c, LineCollection)]


def test_density_rug_per_patient_up_to_the_limit_and_none_above():
    rng = np.random.default_rng(3)
    n_small, n_large = 40, RUG_MAX_PATIENTS + 1
    before = pd.DataFrame({"arm": ["SBRT"] * n_large + ["SBRT+TACE"] * n_small,
                           "propensity_score": np.round(rng.beta(2, 5, n_large + n_small), 2)})
    after = before[before["arm"] == "SBRT+TACE"]
    fig = plot_propensity_density(before, after)
    # Before: the large arm (1,001 patients, ~60 distinct scores) has no rug, the small one a mark per patient.
    assert _rug_marks(fig.axes[0]) == [n_small]
    assert _rug_marks(fig.axes[1]) == [n_small]
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == [
        f"SBRT (n = {n_large})", f"SBRT+TACE (n = {n_small})"]
    plt.close(fig)


def test_density_large_arm_with_a_single_score_keeps_one_rug_mark():
    before = pd.DataFrame({"arm": ["SBRT"] * (RUG_MAX_PATIENTS + 5) + ["SBRT+TACE"] * 3,
                           "propensity_score": [0.3] * (RUG_MAX_PATIENTS + 5) + [0.2, 0.5, 0.6]})
    fig = plot_propensity_density(before, before)
    assert _rug_marks(fig.axes[0]) == [1, 3]
    assert "no density" in fig.axes[0].get_legend().get_texts()[0].get_text()
    plt.close(fig)


def test_svg_above_the_limit_embeds_its_marks_as_an_image():
    matplotlib.rcParams.update({"svg.hashsalt": "test", "svg.fonttype": "path"})
    rng = np.random.default_rng(4)
    fig, ax = plt.subplots()
    ax.scatter(rng.random(3000), rng.random(3000), s=4)
    ax.set_title("Residuals")
    vector = _svg(fig, max_bytes=10**9).getvalue()
    assert b"<image" not in vector and vector.count(b"<use ") >= 3000
    small = _svg(fig, max_bytes=len(vector) - 1).getvalue()
    assert small.count(b"<image") == 1 and small.count(b"<use ") < 100  # the marks are gone, glyphs stay
    assert b"<!-- Residuals -->" in small  # the title is still vector text (matplotlib names it)
    assert len(small) < len(vector) / 2
    plt.close(fig)
