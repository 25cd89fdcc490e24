"""Calibrate and measure the daily drift rule on synthetic worlds with and without a price change.

Run as ``uv run python -m bench.drift``. Every world is a small business (``WorldConfig.tiny``,
3,000 customers). Each day of its billing stream in a 21-day monitored period is scored by
Evidently against the 56 days before the period (``ml.monitoring.score_days``).

1. **Calibration** worlds (seeds 1000+ with drift, 2000+ without): candidate rules (p-value
   threshold x consecutive days) are judged on the stored p-values. The chosen rule is the
   strictest one with no false alarm on the calibration worlds without drift and every
   calibration drift caught at most 3 days after onset (see `calibrate`).
2. **Evaluation** worlds (seeds 100+ with drift, 600+ without) are fresh: the chosen rule is
   applied once and the rates are recorded as ``drift.detection_rate`` (share of drift worlds
   whose first alarm falls on the onset day or the 6 days after) and ``drift.false_alarm_rate``
   (share of worlds without drift that alarm at all), with the median detection delay.

The price change starts on the first of a month: the generator applies a price change to the
whole month's billing in which it starts, so a mid-month onset would show before its date.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd

from bench.results import machine_description, record
from ml.monitoring import DailyDriftRule, billing_stream, first_alarm, judge_days, score_days
from simulation.world import WorldConfig, generate_world
from simulation.world.config import DriftEvent

ONSET = dt.date(2025, 6, 1)
DAYS_BEFORE_ONSET = 7
DAYS_AFTER_ONSET = 14
DETECTION_DAYS = 7  # the alarm must fire on the onset day or one of the 6 after it
MAGNITUDE = 0.15
N_CUSTOMERS = 3_000
P_VALUES = (1e-2, 3e-3, 1e-3, 3e-4, 1e-4, 3e-5, 1e-5)
CONSECUTIVE_DAYS = (1, 2, 3)


def monitored_days() -> list[pd.Timestamp]:
    first = pd.Timestamp(ONSET) - pd.Timedelta(days=DAYS_BEFORE_ONSET)
    return list(pd.date_range(first, periods=DAYS_BEFORE_ONSET + DAYS_AFTER_ONSET, freq="D"))


def world_scores(seed: int, drifted: bool, magnitude: float = MAGNITUDE) -> pd.DataFrame:
    """Evidently p-values per monitored day and column for one world."""
    drift = (DriftEvent(kind="price_change", start=ONSET, magnitude=magnitude),) if drifted else ()
    world = generate_world(WorldConfig.tiny(seed=seed, n_customers=N_CUSTOMERS, drift=drift))
    stream = billing_stream(world.tables["subscription_events"], world.tables["customers"])
    scores = score_days(stream, monitored_days(), DailyDriftRule())
    return scores.assign(seed=seed, drifted_world=drifted)


def outcome(per_day: pd.DataFrame, drifted: bool) -> dict[str, object]:
    """Whether one world alarmed, and for a drift world whether in time."""
    alarm = first_alarm(per_day)
    onset = pd.Timestamp(ONSET)
    if alarm is None:
        return {"alarm": False, "detected": False, "delay_days": np.nan}
    delay = (alarm - onset).days
    detected = drifted and 0 <= delay < DETECTION_DAYS
    return {"alarm": True, "detected": detected, "delay_days": float(delay)}


def rates(scores: pd.DataFrame, rule: DailyDriftRule) -> dict[str, float]:
    """Detection rate, false-alarm rate and median delay of `rule` on stored scores."""
    rows = []
    for (_seed, drifted), world in scores.groupby(["seed", "drifted_world"]):
        rows.append(outcome(judge_days(world, rule), bool(drifted)) | {"drifted": bool(drifted)})
    table = pd.DataFrame(rows)
    with_drift, without = table[table["drifted"]], table[~table["drifted"]]
    return {
        "detection_rate": float(with_drift["detected"].mean()),
        "false_alarm_rate": float(without["alarm"].mean()),
        "median_delay_days": float(with_drift.loc[with_drift["detected"], "delay_days"].median()),
        "max_delay_days": float(with_drift.loc[with_drift["detected"], "delay_days"].max()),
        "drift_worlds": float(len(with_drift)),
        "clean_worlds": float(len(without)),
    }


def candidate(p_value: float, days: int) -> DailyDriftRule:
    return DailyDriftRule(
        numeric_p_value=p_value, categorical_p_value=p_value, consecutive_days=days
    )


def calibrate(scores: pd.DataFrame) -> tuple[DailyDriftRule, pd.DataFrame]:
    """The strictest candidate that still catches every calibration drift within half the budget.

    Eligible: no false alarm on the calibration worlds without drift, every calibration drift
    caught, and the slowest detection at most `DETECTION_DAYS // 2` days after onset (the other
    half of the 7-day budget is margin for worlds not seen). Among those, the most consecutive
    days win (one noisy day never alarms), then the smallest p-value threshold.
    """
    table = []
    for p_value, days in itertools.product(P_VALUES, CONSECUTIVE_DAYS):
        table.append(
            {"p_value": p_value, "consecutive_days": days} | rates(scores, candidate(p_value, days))
        )
    table = pd.DataFrame(table)
    eligible = table[
        (table["false_alarm_rate"] == 0)
        & (table["detection_rate"] == 1)
        & (table["max_delay_days"] <= DETECTION_DAYS // 2)
    ]
    if eligible.empty:
        raise RuntimeError(f"no candidate rule separates drift from noise:\n{table}")
    best = eligible.sort_values(["consecutive_days", "p_value"], ascending=[False, True]).iloc[0]
    return candidate(float(best["p_value"]), int(best["consecutive_days"])), table


def score_worlds(jobs: list[tuple[int, bool]], workers: int) -> pd.DataFrame:
    seeds, drifted = zip(*jobs, strict=True)
    if workers == 1:
        return pd.concat(map(world_scores, seeds, drifted), ignore_index=True)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return pd.concat(pool.map(world_scores, seeds, drifted), ignore_index=True)


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20, help="evaluation worlds of each kind")
    parser.add_argument(
        "--calibration-seeds", type=int, default=10, help="calibration worlds of each kind"
    )
    parser.add_argument("--workers", type=int, default=2, help="processes scoring worlds")
    args = parser.parse_args(argv)
    started = time.perf_counter()

    calibration_jobs = [(1000 + s, True) for s in range(args.calibration_seeds)]
    calibration_jobs += [(2000 + s, False) for s in range(args.calibration_seeds)]
    evaluation_jobs = [(s, True) for s in range(args.seeds)] + [
        (500 + s, False) for s in range(args.seeds)
    ]
    scores = score_worlds(calibration_jobs + evaluation_jobs, args.workers)
    calibration = scores[scores["seed"] >= 1000]
    evaluation = scores[scores["seed"] < 1000]

    rule, table = calibrate(calibration)
    print(
        f"drift bench on {machine_description()}: {N_CUSTOMERS:,} customers, +{MAGNITUDE:.0%} price on {ONSET}"
    )
    print("calibration (judged on stored Evidently p-values):")
    print(table.to_string(index=False))
    print(f"chosen rule: p < {rule.numeric_p_value:g} on {rule.consecutive_days} consecutive days")
    measured = rates(evaluation, rule)
    seconds = time.perf_counter() - started
    print(
        f"evaluation on fresh worlds: detection {measured['detection_rate']:.0%} of "
        f"{measured['drift_worlds']:.0f}, false alarms {measured['false_alarm_rate']:.0%} of "
        f"{measured['clean_worlds']:.0f}, median delay {measured['median_delay_days']:.1f} days; {seconds:.0f} s"
    )
    figures = {
        "drift.detection_rate": measured["detection_rate"],
        "drift.false_alarm_rate": measured["false_alarm_rate"],
        "drift.median_delay_days": measured["median_delay_days"],
        "drift.max_delay_days": measured["max_delay_days"],
        "drift.rule.p_value": rule.numeric_p_value,
        "drift.rule.consecutive_days": float(rule.consecutive_days),
        "drift.worlds": measured["drift_worlds"] + measured["clean_worlds"],
        "drift.seconds": seconds,
    }
    record(figures)
    return figures


if __name__ == "__main__":
    main()
