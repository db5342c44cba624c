"""`python -m loglake.spark ingest|query|detect ...`: the `loglake spark` commands (also what spark-submit runs)."""

from __future__ import annotations

import sys

from loglake.cli import main

if __name__ == "__main__":
    sys.exit(main(["spark", *sys.argv[1:]]))
