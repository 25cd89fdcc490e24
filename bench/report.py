"""Write docs/benchmarks.md from bench/results.json: every figure, its target, the machine, the date.

`make bench` runs it last. Run it alone with `uv run python -m bench.report`.
"""

from __future__ import annotations

import datetime as dt
import json
import operator
import platform
from pathlib import Path

from bench.results import RESULTS_PATH, machine_description

DOC_PATH = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"

# figure -> (comparison, target, issue, what it measures)
TARGETS: dict[str, tuple[str, float, str, str]] = {
    "features.customer_month.speedup_vs_pandas": (
        ">=",
        5.0,
        "#4",
        "churn mart: dbt-duckdb vs the same mart in pandas, same run",
    ),
    "features.all_marts_10m.seconds": (
        "<=",
        60.0,
        "#4",
        "every dbt model on a world with 10M+ transactions",
    ),
    "churn.oracle_auc_gap": (
        "<=",
        0.02,
        "#5",
        "true churn probabilities' ROC AUC minus the model's, default world",
    ),
    "forecast.mase_vs_snaive.max": (
        "<",
        1.0,
        "#5",
        "worst MASE against seasonal naive over horizons",
    ),
    "forecast.coverage95.min": (
        ">=",
        0.90,
        "#5",
        "lowest empirical coverage of the 95 % intervals (target 0.90-0.99)",
    ),
    "forecast.revenue.mase_vs_snaive.max": (
        "<",
        1.0,
        "#5",
        "monthly recurring revenue, 60 worlds: worst MASE against seasonal naive over 1-12 months",
    ),
    "forecast.revenue.coverage95.min": (
        ">=",
        0.90,
        "#5",
        "monthly recurring revenue, 60 worlds: lowest 95 % coverage over 1-12 months (target 0.90-0.99)",
    ),
    "forecast.revenue.coverage95.max": (
        "<=",
        0.99,
        "#5",
        "monthly recurring revenue, 60 worlds: highest 95 % coverage over 1-12 months (target 0.90-0.99)",
    ),
    "forecast.noise_floor_ratio_30d": (
        "<=",
        1.15,
        "#5",
        "30-day demand RMSE over the world's noise sd (within 15 % of the floor)",
    ),
    "roi.max_abs_rel_error": (
        "<=",
        0.20,
        "#5",
        "worst channel ROI error against the world's true ROI",
    ),
    "drift.detection_rate": (
        ">=",
        0.95,
        "#6",
        "worlds with drift where the rule fires within 7 days of onset",
    ),
    "drift.false_alarm_rate": ("<=", 0.05, "#6", "worlds without drift where the rule fires"),
    "queue.mmc.speedup_vs_simpy": (
        ">=",
        100.0,
        "#7",
        "M/M/c fast path vs SimPy, customers per second",
    ),
    "queue.mmc.wq_rel_error_vs_erlang_c": ("<=", 0.01, "#7", "M/M/c mean wait vs Erlang C"),
    "process_mc.iterations_per_s": (">=", 15e6, "#7", "workflow Monte Carlo iterations per second"),
    "finance.100k_x_24.seconds": ("<=", 0.3, "#7", "100k revenue paths x 24 months"),
    "supply.10k_x_1k.seconds": ("<=", 0.5, "#7", "10k supply nodes x 1,000 scenarios"),
    "ray.speedup_vs_pool": (">=", 1.0, "#7", "Ray on 2 CPUs vs multiprocessing.Pool(2), same job"),
}
COMPARE = {">=": operator.ge, "<=": operator.le, "<": operator.lt}


def _format(value: float) -> str:
    if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
        return f"{value:.3g}"
    return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"


def render(results: dict[str, float], today: dt.date) -> str:
    lines = [
        "# Benchmarks",
        "",
        f"Measured by `make bench` on {today.isoformat()}: {machine_description()}, {platform.system()}.",
        "Each benchmark compares against its peer in the same run; figures are in `bench/results.json`.",
        "Regenerate this page with `uv run python -m bench.report` (`make bench` does it last).",
        "",
        "## Targets from the issues",
        "",
        "| figure | measured | target | met | issue | what |",
        "|---|---|---|---|---|---|",
    ]
    for name, (comparison, target, issue, what) in TARGETS.items():
        if name in results:
            value = results[name]
            met = "yes" if COMPARE[comparison](value, target) else "**no**"
            lines.append(
                f"| `{name}` | {_format(value)} | {comparison} {_format(target)} | {met} | {issue} | {what} |"
            )
        else:
            lines.append(
                f"| `{name}` | not measured | {comparison} {_format(target)} | **no** | {issue} | {what} |"
            )
    lines += ["", "## Every figure", "", "| figure | value |", "|---|---|"]
    lines += [f"| `{name}` | {_format(value)} |" for name, value in sorted(results.items())]
    return "\n".join(lines) + "\n"


def main() -> int:
    results = json.loads(RESULTS_PATH.read_text())
    DOC_PATH.write_text(render(results, dt.date.today()))
    print(f"wrote {DOC_PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
