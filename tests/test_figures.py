"""Figures that do not grow with the cohort: the rug of the propensity density, rasterized SVGs."""
from __future__ import annotations

import io

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


def _example_figure():
    matplotlib.rcParams.update({"svg.hashsalt": "test", "svg.fonttype": "path"})
    fig, ax = plt.subplots(layout="constrained")
    ax.plot([0, 1, 2], [1, 0.6, 0.4], drawstyle="steps-post")
    ax.set_title("Overall survival")
    return fig


def test_the_svg_drawn_in_the_child_is_the_one_drawn_here_from_the_same_figure():
    from helpers.report.figures import _svg_from_child, _svg_in_child

    fig = _example_figure()
    pending = _svg_in_child(fig)
    assert pending is not None  # Linux: forked
    fig.savefig(io.BytesIO(), format="png", dpi=200, bbox_inches="tight")  # the parent draws meanwhile
    child = _svg_from_child(pending).getvalue()
    plt.close(fig)
    fresh = _example_figure()
    assert child == _svg(fresh).getvalue()  # both from the figure as made, before any other drawing
    plt.close(fresh)


class _FailingFigure:
    def __init__(self, sleep: float = 0.0):
        self.sleep = sleep

    def savefig(self, *args, **kwargs):
        import time

        time.sleep(self.sleep)
        raise RuntimeError("cannot draw")


def test_a_child_that_fails_or_hangs_gives_none_and_the_figure_is_drawn_here():
    import time

    from helpers.report.figures import _svg_from_child, _svg_in_child

    assert _svg_from_child(_svg_in_child(_FailingFigure())) is None
    t0 = time.monotonic()
    assert _svg_from_child(_svg_in_child(_FailingFigure(sleep=30)), timeout=0.3) is None  # killed
    assert time.monotonic() - t0 < 10


def test_ph_residual_panels_above_the_limit_are_rasterized_with_an_interpolated_smooth():
    from statsmodels.nonparametric.smoothers_lowess import lowess

    from helpers.report.plots_robustness import LARGE_PANEL_POINTS, plot_ph_residuals

    rng = np.random.default_rng(7)

    def panel(n):
        t = np.sort(rng.uniform(0, 60, n))
        return dict(residuals=pd.DataFrame({"time": t, "arm[B]": -0.5 + 0.01 * t + rng.normal(0, 1, n)}),
                    column="arm[B]", title="OS", p_value=0.2, note="")

    small, large = panel(200), panel(LARGE_PANEL_POINTS + 1000)
    fig = plot_ph_residuals([small, large])
    (points_small,), (points_large,) = fig.axes[0].collections, fig.axes[1].collections
    assert not points_small.get_rasterized() and points_large.get_rasterized()
    for ax, p in zip(fig.axes, (small, large)):
        res = p["residuals"]
        exact = lowess(res["arm[B]"], res["time"], frac=2 / 3, it=0, return_sorted=True)[:, 1]
        drawn = ax.get_lines()[0].get_ydata()
        if p is small:
            np.testing.assert_array_equal(drawn, exact)  # below the limit: the exact smooth, as before
        else:
            assert np.max(np.abs(drawn - exact)) < 0.01  # interpolated within 1% of the time range
    plt.close(fig)
