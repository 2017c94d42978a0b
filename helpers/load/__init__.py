"""Read and validate the two input files against the data dictionary (being split by job)."""
from helpers.load.cells import *  # noqa: F403
from helpers.load.cells import __all__  # noqa: F401
