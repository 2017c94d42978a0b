"""Survival analysis: Kaplan-Meier, log-rank, Cox regression, follow-up (being split by job)."""
from helpers.survival.cox import *  # noqa: F403
