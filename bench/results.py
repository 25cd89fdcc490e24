"""Shared writer for ``bench/results.json``.

Every benchmark script records its figures here. The file is one JSON object whose
keys are dotted figure names ending in the unit or kind (``finance.100k_x_24.seconds``)
and whose values are numbers. Scripts merge into it so that each can run alone.
"""

from __future__ import annotations

import json
import math
import os
import platform
from pathlib import Path

RESULTS_PATH = Path(__file__).resolve().parent / "results.json"


def record(figures: dict[str, float], path: Path = RESULTS_PATH) -> dict[str, float]:
    """Merge ``figures`` into the results file and return the merged object."""
    for name, value in figures.items():
        if (
            not isinstance(value, int | float)
            or isinstance(value, bool)
            or not math.isfinite(value)
        ):
            raise ValueError(f"benchmark figure {name!r} must be a finite number, got {value!r}")
        if "." not in name:
            raise ValueError(f"benchmark figure {name!r} must be a dotted name ending in its unit")
    merged: dict[str, float] = json.loads(path.read_text()) if path.exists() else {}
    merged.update({k: float(v) for k, v in figures.items()})
    path.write_text(json.dumps(dict(sorted(merged.items())), indent=2) + "\n")
    return merged


def machine_description() -> str:
    """One line naming the machine, for docs/benchmarks.md."""
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
