"""Benchmark the synthetic-world generator: rows generated per second at 1M customers.

Run as ``uv run python -m bench.world`` (``--customers`` to change the size). Records
``world.rows_per_s`` (rows of every raw table over wall-clock seconds), the seconds, the row
count and the process's peak resident memory in ``bench/results.json``, and prints the time each
department took.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from collections.abc import Callable

from bench.results import machine_description, record
from simulation.world import generator
from simulation.world.config import WorldConfig
from simulation.world.context import DepartmentOutput, WorldContext
from simulation.world.generator import generate_world

Department = Callable[[WorldContext], DepartmentOutput]


def _peak_memory_gb() -> float:
    """Peak resident set size of this process so far (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1e9 if sys.platform == "darwin" else peak * 1024 / 1e9


def _timed_departments() -> dict[str, float]:
    """Wrap each department so its wall-clock seconds are recorded (the core is the rest)."""
    seconds: dict[str, float] = {}

    def timed(department: Department) -> Department:
        def run(ctx: WorldContext) -> DepartmentOutput:
            started = time.perf_counter()
            output = department(ctx)
            seconds[department.__module__.rsplit(".", 1)[-1]] = time.perf_counter() - started
            return output

        return run

    generator.DEPARTMENTS[:] = [timed(department) for department in generator.DEPARTMENTS]
    return seconds


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000, help="world size (customers)")
    args = parser.parse_args(argv)

    cfg = WorldConfig(n_customers=args.customers)  # default two-year window
    department_seconds = _timed_departments()
    started = time.perf_counter()
    world = generate_world(cfg)
    seconds = time.perf_counter() - started
    rows = world.total_rows
    peak_gb = _peak_memory_gb()

    print(f"world: {args.customers:,} customers, {cfg.start}..{cfg.end} on {machine_description()}")
    for name, frame in sorted(world.tables.items(), key=lambda item: -len(item[1])):
        print(f"  {name:<24}{len(frame):>14,} rows")
    core = seconds - sum(department_seconds.values())
    print(f"  core (marketing, customers): {core:.1f} s")
    for name, department in department_seconds.items():
        print(f"  {name}: {department:.2f} s")
    print(
        f"{rows:,} rows in {seconds:.1f} s = {rows / seconds:,.0f} rows/s, peak memory {peak_gb:.1f} GB"
    )

    if args.customers == 1_000_000:  # the headline figure is defined at 1M customers
        figures = {
            "world.rows_per_s": rows / seconds,
            "world.1m_customers.seconds": seconds,
            "world.1m_customers.rows": float(rows),
            "world.1m_customers.peak_memory_gb": peak_gb,
        }
    else:
        figures = {f"world.{args.customers}_customers.rows_per_s": rows / seconds}
    record(figures)
    return figures


if __name__ == "__main__":
    main()
