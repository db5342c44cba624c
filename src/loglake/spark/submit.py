"""The file to give spark-submit: `spark-submit --py-files loglake.zip src/loglake/spark/submit.py ingest ...`.

spark-submit runs a Python file, not a module; this one runs `loglake spark <command> ...` in the driver.
"""

from __future__ import annotations

import sys

from loglake.cli import main

if __name__ == "__main__":
    sys.exit(main(["spark", *sys.argv[1:]]))
