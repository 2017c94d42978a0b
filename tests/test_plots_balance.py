"""The propensity-score density figure at registry size: the same curve from the distinct scores."""
from __future__ import annotations


def test_a_large_tied_arm_has_the_density_of_all_its_scores():
    """Above KDE_ALL_SCORES_MAX patients the density is computed from the distinct scores and their counts,
    with the bandwidth factor that keeps scipy's kernel: the same curve as from every patient's score."""
    import numpy as np
    from scipy.stats import gaussian_kde

    from helpers.report.plots_balance import KDE_ALL_SCORES_MAX, _kde_input

    rng = np.random.default_rng(5)
    scores = rng.beta(2, 5, size=40)[rng.integers(0, 40, size=KDE_ALL_SCORES_MAX + 5000)]
    grid = np.linspace(0, 1, 201)
    every = gaussian_kde(scores, bw_method="scott")(grid)
    kw = _kde_input(scores)
    assert kw["x"].size == np.unique(scores).size
    weighted = gaussian_kde(kw["x"], bw_method=kw["bw_method"], weights=kw["weights"])(grid)
    np.testing.assert_allclose(weighted, every, rtol=1e-10)
    # As drawn by seaborn (its grid from the data and the kernel): the same points and densities.
    import matplotlib.pyplot as plt
    import seaborn as sns

    lines = []
    for how in (kw, {"x": scores, "bw_method": "scott"}):
        fig, ax = plt.subplots()
        sns.kdeplot(**how, ax=ax, clip=(0.0, 1.0))
        lines.append(np.array(ax.lines[-1].get_data()))
        plt.close(fig)
    np.testing.assert_allclose(lines[0], lines[1], rtol=1e-10, atol=1e-12)
    assert _kde_input(scores[:KDE_ALL_SCORES_MAX])["bw_method"] == "scott"  # small arms: every score, as before
