"""``python -m helpers.load [cohort.csv] [adverse_events.csv]``: validate, print, exit 0/1."""
import sys

from helpers.load import main

sys.exit(main())
