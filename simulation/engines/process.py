"""Multi-stage workflows: cycle times, throughput, utilisation, bottleneck and staffing.

A :class:`Workflow` is a DAG of :class:`WorkflowStage`. Each stage has a duration
distribution (triangular, lognormal or empirical from the ingested process data), a
probability that an attempt passes its check (otherwise the work is reworked, each rework
taking ``rework_fraction`` of a fresh draw), the stages it depends on, the staff who work
it, and optionally a daily shift. Times are in hours.

Two engines:

* :func:`simulate_touch_times` -- the no-queue Monte Carlo: the cycle time of one work item
  if it never waited (longest path of the DAG through each stage's work including rework).
  Vectorised numpy in cache-sized blocks; tens of millions of iterations per second.
* :func:`simulate_staffed_workflow` -- items arrive as a Poisson stream and queue for the
  staff of each stage (FIFO by the time the item became ready, rework done by the same
  person straight away, work paused outside the stage's shift). Gives the cycle-time
  distribution, throughput, and utilisation and queue time per stage, and names the primary
  bottleneck. :func:`plan_staffing` adds staff where the bottleneck is until a target
  cycle-time percentile is met.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from simulation.engines.queueing import fifo_waits_at_arrival_times

HOURS_PER_DAY = 24.0
_TOUCH_TIME_BLOCK = 1 << 17  # items per block: keeps the per-stage arrays in L2 cache


class StageDuration(BaseModel):
    """Distribution of the hours one attempt at a stage takes."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["triangular", "lognormal", "empirical"] = Field(
        description="triangular (low, mode, high), lognormal (mean, cv) or empirical (observed)."
    )
    low: float | None = Field(default=None, ge=0, description="Triangular minimum hours.")
    mode: float | None = Field(default=None, ge=0, description="Triangular most likely hours.")
    high: float | None = Field(default=None, ge=0, description="Triangular maximum hours.")
    mean: float | None = Field(default=None, gt=0, description="Lognormal mean hours.")
    cv: float | None = Field(default=None, gt=0, description="Lognormal coefficient of variation.")
    observed_hours: list[float] | None = Field(
        default=None, description="Empirical: observed durations, resampled with replacement."
    )

    @model_validator(mode="after")
    def _check_parameters(self) -> StageDuration:
        if self.kind == "triangular":
            if None in (self.low, self.mode, self.high) or not (
                self.low <= self.mode <= self.high and self.low < self.high
            ):
                raise ValueError("triangular needs low <= mode <= high with low < high")
        elif self.kind == "lognormal":
            if self.mean is None or self.cv is None:
                raise ValueError("lognormal needs mean and cv")
        elif not self.observed_hours or min(self.observed_hours) < 0:
            raise ValueError("empirical needs a non-empty list of non-negative observed_hours")
        return self

    @property
    def expected_hours(self) -> float:
        if self.kind == "triangular":
            return (self.low + self.mode + self.high) / 3.0
        if self.kind == "lognormal":
            return self.mean
        return float(np.mean(self.observed_hours))

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` attempt durations in hours."""
        if self.kind == "triangular":
            # Inverse CDF with one uniform per draw: faster than Generator.triangular.
            low, mode, high = self.low, self.mode, self.high
            u = rng.random(n)
            left = u < (mode - low) / (high - low)
            # One square root per draw: pick the branch's radicand first.
            root = np.sqrt(
                np.where(
                    left,
                    u * ((high - low) * (mode - low)),
                    (1.0 - u) * ((high - low) * (high - mode)),
                )
            )
            return np.where(left, low + root, high - root)
        if self.kind == "lognormal":
            sigma2 = math.log1p(self.cv**2)
            return rng.lognormal(math.log(self.mean) - sigma2 / 2.0, math.sqrt(sigma2), n)
        observed = np.asarray(self.observed_hours, dtype=float)
        return observed[rng.integers(0, observed.size, n)]


class StageShift(BaseModel):
    """Daily working hours of a stage's staff; work pauses outside them."""

    model_config = ConfigDict(frozen=True)

    start_hour: float = Field(ge=0, lt=24, description="Hour of day the shift starts.")
    end_hour: float = Field(gt=0, le=24, description="Hour of day the shift ends.")

    @model_validator(mode="after")
    def _check_order(self) -> StageShift:
        if self.end_hour <= self.start_hour:
            raise ValueError("shift must end after it starts on the same day")
        return self

    @property
    def hours_per_day(self) -> float:
        return self.end_hour - self.start_hour

    def to_working_hours(self, calendar_hours: np.ndarray) -> np.ndarray:
        """Shift hours elapsed since time 0 at each calendar time."""
        day, hour = np.divmod(calendar_hours, HOURS_PER_DAY)
        return day * self.hours_per_day + np.clip(hour - self.start_hour, 0.0, self.hours_per_day)

    def to_calendar_hours(self, working_hours: np.ndarray) -> np.ndarray:
        """Calendar time at which ``working_hours`` of shift time have elapsed."""
        day, into_shift = np.divmod(working_hours, self.hours_per_day)
        return day * HOURS_PER_DAY + self.start_hour + into_shift


class WorkflowStage(BaseModel):
    """One step of the workflow, worked by its own staff."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(description="Stage name, e.g. 'kyc_check'.")
    duration: StageDuration = Field(description="Hours one attempt takes.")
    pass_probability: float = Field(
        default=1.0, gt=0, le=1, description="Probability an attempt passes; else it is reworked."
    )
    rework_fraction: float = Field(
        default=1.0, gt=0, description="A rework takes this fraction of a fresh duration draw."
    )
    depends_on: list[str] = Field(
        default_factory=list, description="Stages that must finish first."
    )
    staff: int = Field(default=1, ge=1, description="People working this stage in parallel.")
    shift: StageShift | None = Field(
        default=None, description="Working hours; None = around the clock."
    )

    @property
    def expected_work_hours(self) -> float:
        """Mean hours of work per item including rework (geometric number of reworks)."""
        expected_reworks = (1.0 - self.pass_probability) / self.pass_probability
        return self.duration.expected_hours * (1.0 + self.rework_fraction * expected_reworks)

    def sample_work_hours(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Hours of work per item: the first attempt plus a geometric number of reworks."""
        work = self.duration.sample(rng, n)
        if self.pass_probability >= 1.0:
            return work
        # Failures before the first pass ~ Geometric, by inversion with one uniform:
        # floor(log(u) / log(1 - p)) is >= 1 exactly when u <= 1 - p, so the logarithm is
        # only taken for the few items that fail at least once.
        u = rng.random(n)
        pending = np.flatnonzero(u <= 1.0 - self.pass_probability)
        reworks = np.zeros(n)
        reworks[pending] = np.floor(np.log(u[pending]) / math.log1p(-self.pass_probability))
        pending = pending[reworks[pending] > 0]
        while pending.size:
            work[pending] += self.rework_fraction * self.duration.sample(rng, pending.size)
            reworks[pending] -= 1
            pending = pending[reworks[pending] > 0]
        return work


class Workflow(BaseModel):
    """A DAG of stages; an item is done when every stage is done."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(description="Workflow name, e.g. 'customer_onboarding'.")
    stages: list[WorkflowStage] = Field(min_length=1, description="Stages in any order.")

    @model_validator(mode="after")
    def _check_dag(self) -> Workflow:
        names = [stage.name for stage in self.stages]
        if len(set(names)) != len(names):
            raise ValueError("stage names must be unique")
        for stage in self.stages:
            unknown = set(stage.depends_on) - set(names)
            if unknown:
                raise ValueError(
                    f"stage {stage.name!r} depends on unknown stages {sorted(unknown)}"
                )
        self.topological_order()  # raises on a cycle
        return self

    def topological_order(self) -> list[int]:
        """Stage indices so that every stage comes after the stages it depends on."""
        index = {stage.name: i for i, stage in enumerate(self.stages)}
        order: list[int] = []
        state = [0] * len(self.stages)  # 0 new, 1 visiting, 2 done

        def visit(i: int) -> None:
            if state[i] == 1:
                raise ValueError(f"dependency cycle through stage {self.stages[i].name!r}")
            if state[i] == 0:
                state[i] = 1
                for dependency in self.stages[i].depends_on:
                    visit(index[dependency])
                state[i] = 2
                order.append(i)

        for i in range(len(self.stages)):
            visit(i)
        return order

    def with_staff(self, staff_by_stage: dict[str, int]) -> Workflow:
        """The same workflow with some stages' headcount changed."""
        stages = [
            stage.model_copy(update={"staff": staff_by_stage.get(stage.name, stage.staff)})
            for stage in self.stages
        ]
        return self.model_copy(update={"stages": stages})


def _dependency_indices(workflow: Workflow) -> list[list[int]]:
    index = {stage.name: i for i, stage in enumerate(workflow.stages)}
    return [[index[name] for name in stage.depends_on] for stage in workflow.stages]


def _touch_times_block(
    workflow: Workflow,
    order: list[int],
    dependencies: list[list[int]],
    rng: np.random.Generator,
    out: np.ndarray,
) -> None:
    finish: dict[int, np.ndarray] = {}
    for i in order:
        ready = None
        for d in dependencies[i]:
            ready = finish[d] if ready is None else np.maximum(ready, finish[d])
        work = workflow.stages[i].sample_work_hours(rng, out.size)
        finish[i] = work if ready is None else np.add(work, ready, out=work)
    done = None
    for stage_finish in finish.values():
        done = stage_finish if done is None else np.maximum(done, stage_finish)
    out[:] = done


def simulate_touch_times(
    workflow: Workflow, n_items: int, rng: np.random.Generator, threads: int | None = None
) -> np.ndarray:
    """No-queue cycle time (hours) of ``n_items`` work items: pure work on the critical path.

    Items are simulated in cache-sized blocks, block ``b`` drawing from the ``b``-th child
    of ``rng.spawn``, so the result depends only on ``rng`` and ``n_items``, never on
    ``threads`` (default: one per CPU). numpy releases the GIL inside its samplers and
    ufuncs, so threads give real parallelism here without pickling anything.
    """
    order = workflow.topological_order()
    dependencies = _dependency_indices(workflow)
    cycle_times = np.empty(n_items)
    starts = range(0, n_items, _TOUCH_TIME_BLOCK)
    block_rngs = rng.spawn(len(starts))

    def run_block(block: int) -> None:
        start = starts[block]
        out = cycle_times[start : start + _TOUCH_TIME_BLOCK]
        _touch_times_block(workflow, order, dependencies, block_rngs[block], out)

    n_threads = min(threads or os.cpu_count() or 1, len(starts))
    if n_threads <= 1:
        for block in range(len(starts)):
            run_block(block)
    else:
        with ThreadPoolExecutor(n_threads) as pool:
            list(pool.map(run_block, range(len(starts))))
    return cycle_times


@dataclass(frozen=True)
class WorkflowPerformance:
    """What operations reads off a staffed run (all times in hours)."""

    stage_names: list[str]
    cycle_times: np.ndarray  # per item that arrived after warm-up, in arrival order
    throughput_per_day: float
    utilisation: np.ndarray  # per stage: busy staff-hours / available staff-hours
    mean_queue_hours: np.ndarray  # per stage
    primary_bottleneck: str

    def cycle_time_percentile(self, q: float) -> float:
        return float(np.percentile(self.cycle_times, q))


def _fifo_start_times(ready: np.ndarray, work: np.ndarray, staff: int) -> np.ndarray:
    # Items are served in order of the time they became ready at this stage.
    order = np.argsort(ready, kind="stable")
    waits = np.empty_like(ready)
    waits[order] = fifo_waits_at_arrival_times(ready[order], work[order], staff)
    return ready + waits


def simulate_staffed_workflow(
    workflow: Workflow,
    arrivals_per_day: float,
    horizon_days: float,
    rng: np.random.Generator,
    warm_up_days: float = 0.0,
) -> WorkflowPerformance:
    """Run Poisson arrivals of work items through the staffed workflow.

    Each stage is a FIFO pool of ``staff`` people; an item becomes ready at a stage when
    all its dependencies are done. A stage with a shift works only inside it (work is
    paused at shift end and resumed next day). Items arriving in the warm-up are simulated
    but left out of the statistics.
    """
    n_items = rng.poisson(arrivals_per_day * horizon_days)
    arrival = np.sort(rng.uniform(0.0, horizon_days * HOURS_PER_DAY, n_items))
    order = workflow.topological_order()
    dependencies = _dependency_indices(workflow)
    n_stages = len(workflow.stages)
    finish = np.empty((n_stages, n_items))
    queue_hours = np.empty((n_stages, n_items))
    busy_hours = np.empty(n_stages)
    for i in order:
        stage = workflow.stages[i]
        ready = arrival.copy()
        for d in dependencies[i]:
            np.maximum(ready, finish[d], out=ready)
        work = stage.sample_work_hours(rng, n_items)
        busy_hours[i] = work.sum()
        if stage.shift is None:
            start = _fifo_start_times(ready, work, stage.staff)
            finish[i] = start + work
            queue_hours[i] = start - ready
        else:
            # Queue on the stage's own working clock, then map back to calendar time.
            ready_working = stage.shift.to_working_hours(ready)
            start_working = _fifo_start_times(ready_working, work, stage.staff)
            finish[i] = stage.shift.to_calendar_hours(start_working + work)
            # Waiting for the shift to start is not queueing for staff: count shift hours.
            queue_hours[i] = start_working - ready_working
    done = finish.max(axis=0)
    counted = arrival >= warm_up_days * HOURS_PER_DAY
    measured_hours = (horizon_days - warm_up_days) * HOURS_PER_DAY
    available_hours = np.array(
        [
            stage.staff
            * horizon_days
            * (stage.shift.hours_per_day if stage.shift else HOURS_PER_DAY)
            for stage in workflow.stages
        ]
    )
    utilisation = busy_hours / available_hours
    return WorkflowPerformance(
        stage_names=[stage.name for stage in workflow.stages],
        cycle_times=(done - arrival)[counted],
        throughput_per_day=float(counted.sum() / measured_hours * HOURS_PER_DAY),
        utilisation=utilisation,
        mean_queue_hours=queue_hours[:, counted].mean(axis=1),
        primary_bottleneck=workflow.stages[int(np.argmax(utilisation))].name,
    )


def offered_utilisation(workflow: Workflow, arrivals_per_day: float) -> dict[str, float]:
    """Long-run utilisation per stage from expected work alone (>= 1 means it cannot keep up)."""
    return {
        stage.name: arrivals_per_day
        * stage.expected_work_hours
        / (stage.staff * (stage.shift.hours_per_day if stage.shift else HOURS_PER_DAY))
        for stage in workflow.stages
    }


@dataclass(frozen=True)
class StaffingPlan:
    """Outcome of :func:`plan_staffing`."""

    staff_by_stage: dict[str, int]
    cycle_time_percentile_hours: float
    meets_target: bool
    performance: WorkflowPerformance


def plan_staffing(
    workflow: Workflow,
    arrivals_per_day: float,
    target_cycle_hours: float,
    *,
    percentile: float = 90.0,
    horizon_days: float = 120.0,
    warm_up_days: float = 20.0,
    max_total_staff: int = 200,
    seed: int = 0,
    max_utilisation: float = 0.95,
) -> StaffingPlan:
    """Fewest added staff (greedily, one at the bottleneck at a time) meeting a cycle-time target.

    Starts from enough staff that no stage is offered more than ``max_utilisation`` of its
    capacity, then adds one person at the current primary bottleneck until the
    ``percentile`` cycle time is at most ``target_cycle_hours``. Every candidate is run
    with the same ``seed`` (common random numbers) so staffing changes are not masked by
    noise.
    """
    staff = {stage.name: stage.staff for stage in workflow.stages}
    for name, load in offered_utilisation(workflow, arrivals_per_day).items():
        staff[name] = max(staff[name], math.ceil(staff[name] * load / max_utilisation))
    while True:
        candidate = workflow.with_staff(staff)
        performance = simulate_staffed_workflow(
            candidate, arrivals_per_day, horizon_days, np.random.default_rng(seed), warm_up_days
        )
        achieved = performance.cycle_time_percentile(percentile)
        no_queue_left = performance.mean_queue_hours.max() < 1e-3
        if (
            achieved <= target_cycle_hours
            or no_queue_left  # more staff cannot shorten pure work time
            or sum(staff.values()) >= max_total_staff
        ):
            return StaffingPlan(staff, achieved, achieved <= target_cycle_hours, performance)
        # Add where an extra person cuts the most queueing: the stage with the longest
        # mean queue, which under load is the primary bottleneck.
        busiest = performance.stage_names[int(np.argmax(performance.mean_queue_hours))]
        staff[busiest] += 1
