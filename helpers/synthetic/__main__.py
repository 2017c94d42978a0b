"""``python -m helpers.synthetic --out data``: write the synthetic default cohort (fixed seed)."""
from helpers.synthetic.generator import main

main()
