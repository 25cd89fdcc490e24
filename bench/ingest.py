"""Ingestion throughput: the default-size world through quarantine, load and validation.

Run with ``uv run python -m bench.ingest``. Every table of ``WorldConfig()`` is loaded,
parents first, with ``load_frame`` (type coercion, every quarantine check including
referential integrity against the warehouse, one transaction per table) into a temporary
DuckDB file, then read back and validated with its Great Expectations suite. The figure
``ingest.rows_per_s`` is input rows divided by the wall time of all of that; world
generation and the one-off Great Expectations import and context creation are excluded,
because a running code location pays them once, not per load.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench.results import machine_description, record
from ingestion.contracts import ALL_CONTRACTS
from ingestion.load import load_frame, parent_keys_from_warehouse
from ingestion.validation import validate_table
from ingestion.warehouse import connect
from simulation.world import WorldConfig, generate_world


def run(config: WorldConfig) -> dict[str, float]:
    """Load and validate every table of ``config``'s world; return the figures."""
    print(f"generating the world ({config.n_customers:,} customers, {config.n_days} days)...")
    world = generate_world(config)
    # Pay the Great Expectations import and context creation before timing (see docstring).
    warm_up = ALL_CONTRACTS[0]
    validate_table(warm_up, world.tables[warm_up.name].head(10))

    load_seconds = validate_seconds = 0.0
    input_rows = 0
    with tempfile.TemporaryDirectory(prefix="twinops-bench-ingest-") as folder:
        con = connect(Path(folder) / "twinops.duckdb")
        for contract in ALL_CONTRACTS:
            frame = world.tables[contract.name]
            started = time.perf_counter()
            parent_keys = parent_keys_from_warehouse(con, contract)
            result = load_frame(con, contract, frame, source="generator", parent_keys=parent_keys)
            loaded = time.perf_counter()
            raw_table = con.execute(f'select * from raw."{contract.name}"').df()
            verdict = validate_table(contract, raw_table, parent_keys=parent_keys)
            validated = time.perf_counter()

            if not result.reconciles or result.quarantined_rows or not verdict.success:
                raise RuntimeError(
                    f"{contract.name}: the generator's rows should load clean and pass their "
                    f"suite, got {result.to_metadata()} and failures {verdict.failed}"
                )
            load_seconds += loaded - started
            validate_seconds += validated - loaded
            input_rows += result.input_rows
            print(
                f"  {contract.name:<24} {result.input_rows:>10,} rows  "
                f"load {loaded - started:6.2f} s  validate {validated - loaded:6.2f} s"
            )
        con.close()

    total_seconds = load_seconds + validate_seconds
    return {
        "ingest.rows": float(input_rows),
        "ingest.seconds": total_seconds,
        "ingest.rows_per_s": input_rows / total_seconds,
        "ingest.load.rows_per_s": input_rows / load_seconds,
        "ingest.validate.rows_per_s": input_rows / validate_seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--customers",
        type=int,
        default=None,
        help="Override the world's number of customers (default: WorldConfig's default).",
    )
    args = parser.parse_args()
    config = WorldConfig() if args.customers is None else WorldConfig(n_customers=args.customers)
    figures = run(config)
    record(figures)
    print(
        f"ingest: {figures['ingest.rows']:,.0f} rows in {figures['ingest.seconds']:.1f} s = "
        f"{figures['ingest.rows_per_s']:,.0f} rows/s "
        f"(load {figures['ingest.load.rows_per_s']:,.0f} rows/s, "
        f"validate {figures['ingest.validate.rows_per_s']:,.0f} rows/s) on {machine_description()}"
    )


if __name__ == "__main__":
    main()
