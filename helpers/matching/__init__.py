"""Propensity scores and 1:k nearest-neighbour caliper matching (being split by job)."""
from helpers.matching.glm import *  # noqa: F403
from helpers.matching.glm import (caliper_width, fit_logit_irls, fit_propensity, match_nearest_caliper,  # noqa: F401
                                  nearest_caliper_match_rows, propensity_match)
