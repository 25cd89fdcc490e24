"""Benchmark of the Monte Carlo engines against their peers, in one run (issue #7).

Run with ``uv run python -m bench.simulation_engines``. Records into ``bench/results.json``:

* ``queue.mmc.speedup_vs_simpy`` -- fast-path customers/s over plain SimPy's on the same
  M/M/c (10 agents, 80 % utilisation); both are also checked to give the same waits.
* ``queue.mmc.wq_rel_error_vs_erlang_c`` -- |simulated - Erlang C| / Erlang C mean wait,
  40M customers in 8 replications with warm-up deleted.
* ``process_mc.iterations_per_s`` -- no-queue workflow executions per second (5 stages).
* ``finance.100k_x_24.seconds`` -- 100k revenue paths x 24 months.
* ``supply.10k_x_1k.seconds`` -- 10k-node supplier network x 1,000 scenarios.
* ``ray.speedup_vs_pool`` -- (serial / Ray time) / (serial / Pool time) on the same
  chunked revenue job with 2 workers each, workers warm in both cases.

Timings are the best of a few repeats after a warm-up call (numba JIT excluded), because
the machine may be shared; the printed table shows what was measured.
"""

from __future__ import annotations

import multiprocessing
import tempfile
import time
from collections.abc import Callable

import numpy as np

from bench.results import machine_description, record
from simulation.engines.finance import (
    CustomerSegment,
    RevenueModel,
    make_revenue_task,
    simulate_revenue_paths,
)
from simulation.engines.process import (
    StageDuration,
    Workflow,
    WorkflowStage,
    simulate_touch_times,
)
from simulation.engines.queueing import (
    delete_warm_up,
    erlang_c_mean_wait,
    simulate_mmc_waits,
    simulate_mmc_waits_simpy,
)
from simulation.engines.supply_chain import SupplyNetwork, simulate_supply_network
from simulation.parallel import ray_session, run_chunked, run_chunked_on_pool

ARRIVALS_PER_MINUTE, SERVICES_PER_MINUTE, AGENTS = 8.0, 1.0, 10


def best_seconds(run: Callable[[], object], repeats: int) -> float:
    """Fastest of ``repeats`` timed calls (after one untimed warm-up call)."""
    run()
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        timings.append(time.perf_counter() - started)
    return min(timings)


def subscription_business() -> RevenueModel:
    segments = [
        ("smb", 20_000, 49.0, 0.03, 700.0),
        ("mid_market", 3_000, 400.0, 0.015, 60.0),
        ("enterprise", 200, 5_000.0, 0.005, 3.0),
    ]
    return RevenueModel(
        segments=[
            CustomerSegment(
                name=name,
                active_customers=customers,
                monthly_price=price,
                monthly_churn_probability=churn,
                monthly_new_customers=new,
            )
            for name, customers, price, churn, new in segments
        ],
        seasonality=[0.8, 0.9, 1.0, 1.1, 1.1, 1.0, 0.9, 0.8, 1.0, 1.1, 1.2, 1.0],
    )


def customer_onboarding() -> Workflow:
    def triangular(low: float, mode: float, high: float) -> StageDuration:
        return StageDuration(kind="triangular", low=low, mode=mode, high=high)

    return Workflow(
        name="customer_onboarding",
        stages=[
            WorkflowStage(name="application_review", duration=triangular(0.5, 1.0, 2.5)),
            WorkflowStage(
                name="kyc_check",
                duration=StageDuration(kind="lognormal", mean=2.0, cv=0.6),
                pass_probability=0.85,
                rework_fraction=0.5,
                depends_on=["application_review"],
            ),
            WorkflowStage(
                name="credit_check",
                duration=triangular(0.2, 0.5, 1.5),
                depends_on=["application_review"],
            ),
            WorkflowStage(
                name="account_setup",
                duration=StageDuration(
                    kind="empirical", observed_hours=[0.5, 0.7, 0.8, 1.0, 1.2, 2.0]
                ),
                pass_probability=0.95,
                depends_on=["kyc_check", "credit_check"],
            ),
            WorkflowStage(
                name="welcome_call",
                duration=triangular(0.25, 0.5, 1.0),
                depends_on=["account_setup"],
            ),
        ],
    )


def bench_queue() -> dict[str, float]:
    simpy_customers, fast_customers = 200_000, 4_000_000

    def fast() -> np.ndarray:
        return simulate_mmc_waits(
            ARRIVALS_PER_MINUTE,
            SERVICES_PER_MINUTE,
            AGENTS,
            fast_customers,
            np.random.default_rng(1),
        )

    fast_rate = fast_customers / best_seconds(fast, repeats=3)
    started = time.perf_counter()
    simpy_waits = simulate_mmc_waits_simpy(
        ARRIVALS_PER_MINUTE, SERVICES_PER_MINUTE, AGENTS, simpy_customers, np.random.default_rng(2)
    )
    simpy_rate = simpy_customers / (time.perf_counter() - started)
    fast_waits = simulate_mmc_waits(
        ARRIVALS_PER_MINUTE, SERVICES_PER_MINUTE, AGENTS, simpy_customers, np.random.default_rng(2)
    )
    same_model_wait_gap = abs(fast_waits.mean() - simpy_waits.mean()) / simpy_waits.mean()
    if same_model_wait_gap > 1e-9:
        raise AssertionError(
            f"fast path and SimPy disagree on the same draws: {same_model_wait_gap}"
        )

    erlang_c = erlang_c_mean_wait(ARRIVALS_PER_MINUTE, SERVICES_PER_MINUTE, AGENTS)
    replications = [
        delete_warm_up(
            simulate_mmc_waits(
                ARRIVALS_PER_MINUTE,
                SERVICES_PER_MINUTE,
                AGENTS,
                5_000_000,
                np.random.default_rng(s),
            ),
            0.05,
        ).mean()
        for s in np.random.SeedSequence(7).spawn(8)
    ]
    simulated_wait = float(np.mean(replications))  # equal-length replications: plain mean
    return {
        "queue.mmc.fast_path_customers_per_s": fast_rate,
        "queue.mmc.simpy_customers_per_s": simpy_rate,
        "queue.mmc.speedup_vs_simpy": fast_rate / simpy_rate,
        "queue.mmc.wq_rel_error_vs_erlang_c": abs(simulated_wait - erlang_c) / erlang_c,
    }


def bench_process() -> dict[str, float]:
    workflow, n_items = customer_onboarding(), 4_000_000
    seconds = best_seconds(
        lambda: simulate_touch_times(workflow, n_items, np.random.default_rng(3)), repeats=6
    )
    return {"process_mc.iterations_per_s": n_items / seconds}


def bench_finance() -> dict[str, float]:
    model = subscription_business()
    seconds = best_seconds(
        lambda: simulate_revenue_paths(model, 100_000, 24, np.random.default_rng(4)), repeats=8
    )
    return {"finance.100k_x_24.seconds": seconds}


def bench_supply() -> dict[str, float]:
    network = SupplyNetwork.random_multi_tier(10_000, 5, np.random.default_rng(5))
    seconds = best_seconds(
        lambda: simulate_supply_network(network, 1_000, np.random.default_rng(6)), repeats=5
    )
    return {"supply.10k_x_1k.seconds": seconds}


def bench_ray_vs_pool(workers: int = 2) -> dict[str, float]:
    # 8 chunks of 100k revenue paths x 24 months: tasks of a few hundred ms each, as the
    # runner is meant to be used. Both Ray and the pool run warm: started once, and
    # every worker has loaded numba's compiled kernel before the timed run.
    task = make_revenue_task(subscription_business(), horizon_months=24)
    n_paths, chunk, seed = 800_000, 100_000, 8

    def serial() -> np.ndarray:
        return run_chunked(task, n_paths, chunk, seed, use_ray=False)

    serial_seconds = best_seconds(serial, repeats=2)
    reference = serial()
    with (
        tempfile.TemporaryDirectory(prefix="twinops-ray-") as ray_dir,
        ray_session(num_cpus=workers, temp_dir=ray_dir),
    ):
        ray_seconds = best_seconds(lambda: run_chunked(task, n_paths, chunk, seed), repeats=3)
        on_ray = run_chunked(task, n_paths, chunk, seed)
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        pool_seconds = best_seconds(
            lambda: run_chunked_on_pool(task, n_paths, chunk, seed, pool=pool), repeats=3
        )
        on_pool = run_chunked_on_pool(task, n_paths, chunk, seed, pool=pool)
    if not (np.array_equal(on_ray, reference) and np.array_equal(on_pool, reference)):
        raise AssertionError("Ray, Pool and serial runs must be bit-identical")
    ray_speedup, pool_speedup = serial_seconds / ray_seconds, serial_seconds / pool_seconds
    return {
        "ray.speedup_vs_serial": ray_speedup,
        "pool.speedup_vs_serial": pool_speedup,
        "ray.speedup_vs_pool": ray_speedup / pool_speedup,
    }


TARGETS = {
    "queue.mmc.speedup_vs_simpy": (">=", 100.0),
    "queue.mmc.wq_rel_error_vs_erlang_c": ("<=", 0.01),
    "process_mc.iterations_per_s": (">=", 15e6),
    "finance.100k_x_24.seconds": ("<=", 0.3),
    "supply.10k_x_1k.seconds": ("<=", 0.5),
    "ray.speedup_vs_pool": (">=", 1.0),
}


def main() -> dict[str, float]:
    started = time.perf_counter()
    figures: dict[str, float] = {}
    for section in (bench_finance, bench_queue, bench_process, bench_supply, bench_ray_vs_pool):
        figures.update(section())
    record(figures)
    print(f"simulation engines on {machine_description()} ({time.perf_counter() - started:.0f} s)")
    print(f"{'figure':42} {'value':>14}  target")
    for name, value in figures.items():
        comparison, bound = TARGETS.get(name, ("", None))
        if bound is None:
            print(f"{name:42} {value:14.4g}")
            continue
        met = value >= bound if comparison == ">=" else value <= bound
        print(f"{name:42} {value:14.4g}  {comparison} {bound:g} {'ok' if met else 'MISSED'}")
    return figures


if __name__ == "__main__":
    main()
