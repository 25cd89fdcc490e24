"""`make demo`: materialize the whole asset graph on the built-in business, with concise progress.

One line per asset and check as it finishes goes to the terminal; the full Dagster log goes
to `$TWINOPS_HOME/logs/demo.log`. The run is recorded in the Dagster instance under the state
folder, so `make ui` shows it afterwards.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from orchestration.paths import REPO_ROOT, StatePaths

PROGRESS_EVENTS = {
    "ASSET_MATERIALIZATION",
    "ASSET_CHECK_EVALUATION",
    "STEP_FAILURE",
    "STEP_START",
    "RUN_FAILURE",
}


class ProgressHandler(logging.Handler):
    """Prints one line per finished asset or check, with the time since its step started."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__(level=logging.DEBUG)
        self.stream = stream
        self.step_started: dict[str, float] = {}
        # A run over many days records one materialization per day: show each asset once.
        self.shown: set[tuple[str, str]] = set()

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event")
        if event is None or event.event_type_value not in PROGRESS_EVENTS:
            return
        step = event.step_key or ""
        now = time.monotonic()
        if event.event_type_value == "STEP_START":
            self.step_started[step] = now
            return
        elapsed = now - self.step_started.get(step, now)
        if event.event_type_value == "ASSET_MATERIALIZATION":
            materialization = event.event_specific_data.materialization
            shown_key = (str(meta.get("run_id")), materialization.asset_key.to_user_string())
            if shown_key in self.shown:
                return
            self.shown.add(shown_key)
            rows = materialization.metadata.get("dagster/row_count")
            detail = f"  {rows.value:,} rows" if rows is not None else ""
            partition = materialization.partition
            if partition is not None:
                is_day = len(partition) == 10 and partition[4] == partition[7] == "-"
                detail += " (every day of the run)" if is_day else f" (partition {partition})"
            self._say(
                f"  ✓ {materialization.asset_key.to_user_string():<52} {elapsed:6.1f}s{detail}"
            )
        elif event.event_type_value == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            mark = (
                "✓" if evaluation.passed else ("!" if evaluation.severity.value == "WARN" else "✗")
            )
            name = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
            verdict = "passed" if evaluation.passed else f"failed ({evaluation.severity.value})"
            self._say(f"    {mark} check {name[:70]:<70} {verdict}")
        elif event.event_type_value == "STEP_FAILURE":
            error = event.event_specific_data.error
            while error is not None and error.cause is not None:  # the root cause is what to act on
                error = error.cause
            message = error.message.strip() if error else "unknown error"
            self._say(f"  ✗ step {step} failed after {elapsed:.1f}s: {message}")

    def _say(self, line: str) -> None:
        print(line, file=self.stream, flush=True)


@contextlib.contextmanager
def output_to_log(log_path: Path) -> Iterator[TextIO]:
    """Send everything written to stdout and stderr (by Python, C extensions and child
    processes) to `log_path`, and yield a stream on the real terminal for progress lines."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    terminal = os.fdopen(os.dup(saved_out), "w", buffering=1, encoding="utf-8")
    with open(log_path, "a") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield terminal
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved_out, 1)
            os.dup2(saved_err, 2)
            os.close(saved_out)
            os.close(saved_err)
            terminal.close()


def partition_window_tags(first_day: str, last_day: str) -> dict[str, str]:
    """Run tags that make one run cover a window of daily partitions (a single-run backfill)."""
    return {
        "dagster/asset_partition_range_start": first_day,
        "dagster/asset_partition_range_end": last_day,
    }


def _default_environment(paths: StatePaths) -> None:
    """What the Makefile sets, for runs started without it."""
    os.environ.setdefault("DAGSTER_HOME", str(REPO_ROOT))
    os.environ.setdefault("DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS", "true")
    os.environ.setdefault("TWINOPS_DAGSTER_STORAGE", str(paths.dagster / "storage"))
    os.environ.setdefault("TWINOPS_DAGSTER_COMPUTE_LOGS", str(paths.dagster / "compute_logs"))
    os.environ["TWINOPS_HOME"] = str(paths.home)


def _summary(paths: StatePaths) -> str:
    from ingestion.warehouse import connect
    from ml.tracking import MlflowSettings, search_churn_runs

    lines = ["", "Where the outputs landed:", f"  warehouse   {paths.warehouse}"]
    con = connect(paths.warehouse, read_only=True)
    try:
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables() order by 1, 2"
        ).fetchall()
        for schema, table in tables:
            rows = con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[0]
            lines.append(f"              {schema}.{table:<40} {rows:>10,} rows")
    finally:
        con.close()
    runs = search_churn_runs(MlflowSettings.local(paths.home))
    lines.append(
        f"  MLflow      {paths.mlflow_db} ({len(runs)} churn run(s); artifacts in {paths.mlartifacts})"
    )
    for report in sorted(paths.reports.glob("*")):
        lines.append(f"  report      {report}")
    lines.append(f"  full log    {paths.logs / 'demo.log'}")
    lines += [
        "",
        "Next:",
        "  make ui      # Dagster UI (lineage, checks, runs) and MLflow UI (runs, models), on 127.0.0.1",
        "  make test    # the test suite",
        "  make bench   # benchmarks into bench/results.json",
    ]
    return "\n".join(lines)


def _demo_logger(log_path: Path, terminal: TextIO):
    """A Dagster logger: everything to the log file, progress lines to the terminal."""
    import dagster as dg

    @dg.logger
    def demo_logger(_context: dg.InitLoggerContext) -> logging.Logger:
        logger = logging.getLogger("twinops.demo")
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
        logger.handlers.clear()
        # Append mode: libraries that call logging.config.dictConfig close every handler,
        # and a closed handler in "w" mode silently drops records instead of reopening.
        to_file = logging.FileHandler(log_path, mode="a")
        to_file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(to_file)
        logger.addHandler(ProgressHandler(terminal))
        return logger

    return demo_logger


def _run_everything(
    definitions, job, run_config, args, paths: StatePaths, terminal: TextIO
) -> list:
    """The pipeline over every day of the business, each what-if scenario, then the comparison."""
    import dagster as dg

    from orchestration.defs.simulation.partitions import (
        register_scenario_partitions,
        scenario_partitions,
    )
    from simulation.parallel import ray_session

    # One Ray for all of the demo's runs; each run's Ray resource reuses it.
    with dg.DagsterInstance.get() as instance, ray_session(temp_dir=str(paths.ray)):
        # All days in one run: a single-run backfill of the daily partitions.
        results = [
            job.execute_in_process(
                run_config=run_config,
                instance=instance,
                raise_on_error=False,
                tags=partition_window_tags(args.start, args.end),
            )
        ]
        if not results[-1].success:
            return results
        register_scenario_partitions(instance)
        what_if = definitions.resolve_job_def("scenario_what_if")
        for scenario in instance.get_dynamic_partitions(scenario_partitions.name):
            print(f"  what-if scenario: {scenario}", file=terminal)
            results.append(
                what_if.execute_in_process(
                    run_config=run_config,
                    instance=instance,
                    raise_on_error=False,
                    partition_key=scenario,
                )
            )
            if not results[-1].success:
                return results
        compare = definitions.resolve_job_def("compare_scenarios")
        results.append(
            compare.execute_in_process(
                run_config=run_config, instance=instance, raise_on_error=False
            )
        )
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=42, help="seed of the synthetic business")
    parser.add_argument(
        "--customers", type=int, default=20_000, help="approximate customers in the business"
    )
    parser.add_argument(
        "--start", default="2024-01-01", help="first day of the business (YYYY-MM-DD)"
    )
    parser.add_argument("--end", default="2025-12-31", help="last day of the business (YYYY-MM-DD)")
    args = parser.parse_args(argv)

    paths = StatePaths.from_env()
    _default_environment(paths)
    for folder in (
        paths.home,
        paths.reports,
        paths.landing,
        paths.logs,
        paths.dagster,
        paths.mlartifacts,
    ):
        folder.mkdir(parents=True, exist_ok=True)

    log_path = paths.logs / "demo.log"
    log_path.write_text("")
    print(f"twinops demo: state folder {paths.home}; full log {log_path}", flush=True)
    started = time.monotonic()
    with output_to_log(log_path) as terminal:
        import dagster as dg

        from orchestration.definitions import defs

        definitions = dg.Definitions.merge(
            defs(), dg.Definitions(loggers={"demo": _demo_logger(log_path, terminal)})
        )
        job = definitions.resolve_job_def("twinops_pipeline")
        n_assets = len(list(definitions.resolve_asset_graph().get_all_asset_keys()))
        print(f"  loaded {n_assets} assets in {time.monotonic() - started:.1f}s", file=terminal)
        business = {
            "seed": args.seed,
            "n_customers": args.customers,
            "start": args.start,
            "end": args.end,
        }
        run_config = {"loggers": {"demo": {}}, "resources": {"business": {"config": business}}}
        results = _run_everything(definitions, job, run_config, args, paths, terminal)
        result = next((r for r in results if not r.success), results[-1])
    took = time.monotonic() - started
    if not result.success:
        print(
            f"\nThe demo run {result.run_id} failed after {took:.0f}s; see {paths.logs / 'demo.log'}",
            file=sys.stderr,
        )
        return 1
    print(
        f"\n{len(results)} runs succeeded in {took:.0f}s: the pipeline, {len(results) - 2} what-if scenarios, their comparison."
    )
    print(_summary(paths))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
