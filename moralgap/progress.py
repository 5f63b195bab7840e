"""Progress bars for long steps, on stderr, silent when stderr is not a terminal."""
from __future__ import annotations

import os
import sys


def progress(iterable=None, *, total=None, desc: str = "", unit: str = "it"):
    from tqdm.auto import tqdm

    disable = os.environ.get("MORALGAP_PROGRESS") == "0" or (
        os.environ.get("MORALGAP_PROGRESS") != "1" and not sys.stderr.isatty()
    )
    return tqdm(iterable, total=total, desc=desc, unit=unit, disable=disable, file=sys.stderr, leave=False)
