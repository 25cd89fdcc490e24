"""Service queues: a compiled fast path, a general SimPy engine, and the closed forms.

* **Fast path** for multi-server FIFO stations (M/M/c, or G/G/c with any interarrival
  and service samplers): the Kiefer-Wolfowitz recursion, each customer taking the server
  that frees up first, compiled with numba. Tens of millions of customers per second.
* **Open networks** of M/M/c stations with probabilistic routing (feedback allowed):
  a compiled event-driven simulation, validated against Jackson's theorem.
* **General engine** on SimPy for the customer-service centre: arrivals varying by hour of
  day, priority classes, a first-line agent pool, escalation to a second team, and
  abandonment; it reports waits, service level and satisfaction per customer.
* **Closed forms:** Erlang C probability of waiting and mean wait, Jackson open network.

All times are in minutes; rates are per minute unless a name says otherwise. For
steady-state estimates, drop the warm-up (:func:`delete_warm_up`) before averaging.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from dataclasses import dataclass

import numba
import numpy as np
import simpy
from pydantic import BaseModel, ConfigDict, Field, model_validator

TimeSampler = Callable[[np.random.Generator, int], np.ndarray]
"""Draws ``n`` durations in minutes (interarrival or service times) from a generator."""


# --------------------------------------------------------------------------------------
# Closed forms
# --------------------------------------------------------------------------------------
def erlang_c_probability_of_wait(arrival_rate: float, service_rate: float, n_servers: int) -> float:
    """Probability an arriving customer waits in an M/M/c queue (Erlang C)."""
    offered_load = arrival_rate / service_rate
    if offered_load >= n_servers:
        raise ValueError(f"unstable queue: offered load {offered_load:.3f} >= {n_servers} servers")
    # Erlang B by its stable recursion, then C from B (no factorials, no overflow).
    erlang_b = 1.0
    for servers in range(1, n_servers + 1):
        erlang_b = offered_load * erlang_b / (servers + offered_load * erlang_b)
    return n_servers * erlang_b / (n_servers - offered_load * (1.0 - erlang_b))


def erlang_c_mean_wait(arrival_rate: float, service_rate: float, n_servers: int) -> float:
    """Mean time in queue (before service) of an M/M/c queue."""
    probability_of_wait = erlang_c_probability_of_wait(arrival_rate, service_rate, n_servers)
    return probability_of_wait / (n_servers * service_rate - arrival_rate)


@dataclass(frozen=True)
class JacksonNetworkSolution:
    """Per-station steady state of an open Jackson network."""

    arrival_rates: np.ndarray
    utilisation: np.ndarray
    mean_waits: np.ndarray

    def mean_time_in_system(
        self, external_arrival_rates: np.ndarray, service_rates: np.ndarray
    ) -> float:
        """Mean sojourn of a customer through the network (Little's law over all stations)."""
        customers_in_system = self.arrival_rates * (
            self.mean_waits + 1.0 / np.asarray(service_rates)
        )
        return float(customers_in_system.sum() / np.sum(external_arrival_rates))


def jackson_network(
    external_arrival_rates: np.ndarray,
    routing_matrix: np.ndarray,
    service_rates: np.ndarray,
    n_servers: np.ndarray,
) -> JacksonNetworkSolution:
    """Steady state of an open network of M/M/c stations (Jackson's theorem).

    ``routing_matrix[i, j]`` is the probability that a customer leaving station ``i``
    goes to ``j``; the remainder of each row leaves the network.
    """
    external = np.asarray(external_arrival_rates, dtype=float)
    routing = np.asarray(routing_matrix, dtype=float)
    # Traffic equations: lambda = gamma + P^T lambda.
    arrival_rates = np.linalg.solve(np.eye(external.size) - routing.T, external)
    rates = np.asarray(service_rates, dtype=float)
    servers = np.asarray(n_servers, dtype=int)
    mean_waits = np.array(
        [
            erlang_c_mean_wait(arrival_rates[i], rates[i], int(servers[i]))
            for i in range(external.size)
        ]
    )
    return JacksonNetworkSolution(
        arrival_rates=arrival_rates,
        utilisation=arrival_rates / (rates * servers),
        mean_waits=mean_waits,
    )


# --------------------------------------------------------------------------------------
# Fast path: multi-server FIFO station
# --------------------------------------------------------------------------------------
@numba.njit(cache=True)
def _fifo_station_waits(
    arrival_times: np.ndarray, service_times: np.ndarray, n_servers: int
) -> np.ndarray:
    # Kiefer-Wolfowitz: under FIFO the next customer in line takes the server that frees
    # up first, so tracking each server's free-at time is enough. A linear scan beats a
    # heap for the tens of agents a support team has.
    free_at = np.zeros(n_servers)
    waits = np.empty(arrival_times.size)
    for customer in range(arrival_times.size):
        first_free = 0
        for server in range(1, n_servers):
            if free_at[server] < free_at[first_free]:
                first_free = server
        start = max(arrival_times[customer], free_at[first_free])
        waits[customer] = start - arrival_times[customer]
        free_at[first_free] = start + service_times[customer]
    return waits


def fifo_waits_at_arrival_times(
    arrival_times: np.ndarray, service_times: np.ndarray, n_servers: int
) -> np.ndarray:
    """Queue wait of every customer given sorted absolute arrival times (FIFO, c servers)."""
    return _fifo_station_waits(
        np.asarray(arrival_times, dtype=float),
        np.asarray(service_times, dtype=float),
        int(n_servers),
    )


def simulate_fifo_station(
    interarrival_times: np.ndarray, service_times: np.ndarray, n_servers: int
) -> np.ndarray:
    """Queue wait of every customer at a FIFO station with ``n_servers`` identical servers."""
    interarrival = np.asarray(interarrival_times, dtype=float)
    service = np.asarray(service_times, dtype=float)
    if interarrival.shape != service.shape or interarrival.ndim != 1:
        raise ValueError("need one interarrival and one service time per customer")
    if n_servers < 1:
        raise ValueError(f"n_servers must be >= 1, got {n_servers}")
    return _fifo_station_waits(np.cumsum(interarrival), service, int(n_servers))


def simulate_ggc_waits(
    sample_interarrival_times: TimeSampler,
    sample_service_times: TimeSampler,
    n_servers: int,
    n_customers: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Queue waits of ``n_customers`` at a G/G/c FIFO station (warm-up not removed)."""
    interarrival = sample_interarrival_times(rng, n_customers)
    service = sample_service_times(rng, n_customers)
    return simulate_fifo_station(interarrival, service, n_servers)


def simulate_mmc_waits(
    arrival_rate: float,
    service_rate: float,
    n_servers: int,
    n_customers: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Queue waits of ``n_customers`` at an M/M/c FIFO station (warm-up not removed)."""
    return simulate_ggc_waits(
        lambda g, n: g.exponential(1.0 / arrival_rate, n),
        lambda g, n: g.exponential(1.0 / service_rate, n),
        n_servers,
        n_customers,
        rng,
    )


def delete_warm_up(waits: np.ndarray, warm_up_fraction: float = 0.1) -> np.ndarray:
    """Drop the first customers, who met an empty system and bias steady-state means down."""
    if not 0 <= warm_up_fraction < 1:
        raise ValueError(f"warm_up_fraction must be in [0, 1), got {warm_up_fraction}")
    return waits[int(len(waits) * warm_up_fraction) :]


def batch_means_interval(
    steady_state_values: np.ndarray, n_batches: int = 20, z: float = 1.96
) -> tuple[float, float]:
    """Mean and confidence half-width from one long autocorrelated run (batch means)."""
    usable = len(steady_state_values) // n_batches * n_batches
    if usable == 0:
        raise ValueError("fewer values than batches")
    batch_means = np.asarray(steady_state_values[:usable]).reshape(n_batches, -1).mean(axis=1)
    half_width = z * batch_means.std(ddof=1) / math.sqrt(n_batches)
    return float(batch_means.mean()), float(half_width)


def simulate_mmc_waits_simpy(
    arrival_rate: float,
    service_rate: float,
    n_servers: int,
    n_customers: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """The same M/M/c station written the plain SimPy way: the fast path's peer and check.

    Draws the same interarrival and service samples as :func:`simulate_mmc_waits` for the
    same generator state, so both give the same waits (up to float rounding).
    """
    interarrival = rng.exponential(1.0 / arrival_rate, n_customers)
    service = rng.exponential(1.0 / service_rate, n_customers)
    waits = np.empty(n_customers)
    env = simpy.Environment()
    servers = simpy.Resource(env, capacity=n_servers)

    def customer(index: int):
        arrived = env.now
        with servers.request() as request:
            yield request
            waits[index] = env.now - arrived
            yield env.timeout(service[index])

    def arrivals():
        for index in range(n_customers):
            yield env.timeout(interarrival[index])
            env.process(customer(index))

    env.process(arrivals())
    env.run()
    return waits


# --------------------------------------------------------------------------------------
# Open network of M/M/c stations (event driven, compiled)
# --------------------------------------------------------------------------------------
_EXTERNAL_ARRIVAL = 0
_SERVICE_COMPLETION = 1


@numba.njit(cache=True)
def _network_kernel(
    rng: np.random.Generator,
    external_arrival_rates: np.ndarray,
    routing_cumulative: np.ndarray,
    service_rates: np.ndarray,
    n_servers: np.ndarray,
    horizon: float,
    warm_up: float,
    queue_capacity: int,
) -> tuple[np.ndarray, np.ndarray]:
    n_stations = service_rates.size
    busy = np.zeros(n_stations, dtype=np.int64)
    # One FIFO ring buffer of arrival times per station.
    queue = np.empty((n_stations, queue_capacity))
    head = np.zeros(n_stations, dtype=np.int64)
    length = np.zeros(n_stations, dtype=np.int64)
    wait_sum = np.zeros(n_stations)
    wait_count = np.zeros(n_stations, dtype=np.int64)
    events = [(0.0, 0, 0)]
    events.pop()
    for station in range(n_stations):
        if external_arrival_rates[station] > 0:
            first = rng.exponential(1.0 / external_arrival_rates[station])
            heapq.heappush(events, (first, _EXTERNAL_ARRIVAL, station))
    while events:
        now, kind, station = heapq.heappop(events)
        if now > horizon:
            break
        arriving_at = -1
        if kind == _EXTERNAL_ARRIVAL:
            arriving_at = station
            gap = rng.exponential(1.0 / external_arrival_rates[station])
            heapq.heappush(events, (now + gap, _EXTERNAL_ARRIVAL, station))
        else:
            # Service completion: the freed server takes the head of the line, if any.
            if length[station] > 0:
                arrived = queue[station, head[station]]
                head[station] = (head[station] + 1) % queue_capacity
                length[station] -= 1
                if arrived >= warm_up:
                    wait_sum[station] += now - arrived
                    wait_count[station] += 1
                service = rng.exponential(1.0 / service_rates[station])
                heapq.heappush(events, (now + service, _SERVICE_COMPLETION, station))
            else:
                busy[station] -= 1
            # Route the departing customer: next station by inversion, or leave.
            uniform = rng.random()
            for candidate in range(n_stations):
                if uniform < routing_cumulative[station, candidate]:
                    arriving_at = candidate
                    break
        if arriving_at >= 0:
            if busy[arriving_at] < n_servers[arriving_at]:
                busy[arriving_at] += 1
                if now >= warm_up:
                    wait_count[arriving_at] += 1  # served at once: a zero wait
                service = rng.exponential(1.0 / service_rates[arriving_at])
                heapq.heappush(events, (now + service, _SERVICE_COMPLETION, arriving_at))
            else:
                if length[arriving_at] == queue_capacity:
                    raise RuntimeError("station queue overflow: is the network unstable?")
                tail = (head[arriving_at] + length[arriving_at]) % queue_capacity
                queue[arriving_at, tail] = now
                length[arriving_at] += 1
    return wait_sum, wait_count


def simulate_open_network_mean_waits(
    external_arrival_rates: np.ndarray,
    routing_matrix: np.ndarray,
    service_rates: np.ndarray,
    n_servers: np.ndarray,
    horizon_minutes: float,
    rng: np.random.Generator,
    warm_up_minutes: float = 0.0,
    queue_capacity: int = 1 << 16,
) -> tuple[np.ndarray, np.ndarray]:
    """Mean queue wait and number of visits per station of an open M/M/c network.

    Customers arrive from outside as Poisson streams, are served FIFO with exponential
    times, and on leaving station ``i`` go to ``j`` with probability ``routing_matrix[i, j]``
    or leave. Visits that start before ``warm_up_minutes`` are not counted.
    """
    routing = np.asarray(routing_matrix, dtype=float)
    if (routing < 0).any() or (routing.sum(axis=1) > 1 + 1e-12).any():
        raise ValueError("routing rows must be probabilities summing to at most 1")
    wait_sum, visits = _network_kernel(
        rng,
        np.asarray(external_arrival_rates, dtype=float),
        np.cumsum(routing, axis=1),
        np.asarray(service_rates, dtype=float),
        np.asarray(n_servers, dtype=np.int64),
        float(horizon_minutes),
        float(warm_up_minutes),
        int(queue_capacity),
    )
    return wait_sum / np.maximum(visits, 1), visits


# --------------------------------------------------------------------------------------
# General engine: the customer-service centre on SimPy
# --------------------------------------------------------------------------------------
class ServiceCentreConfig(BaseModel):
    """The customer-service model: two agent teams, priorities, escalation, abandonment."""

    model_config = ConfigDict(frozen=True)

    arrivals_per_hour: list[float] = Field(
        min_length=1,
        description="Contact arrival rate per hour for each hour of the day, repeating daily.",
    )
    priority_shares: list[float] = Field(
        default=[1.0],
        min_length=1,
        description="Share of contacts in each priority class; class 0 is served first.",
    )
    first_line_agents: int = Field(ge=1, description="Agents in the first-line team.")
    first_line_mean_service_minutes: float = Field(gt=0, description="Mean handling time.")
    service_time_cv: float = Field(
        default=1.0,
        gt=0,
        description="Coefficient of variation of handling times: 1 = exponential, else lognormal.",
    )
    escalation_probability: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="Share of first-line contacts passed to the second team.",
    )
    second_line_agents: int = Field(default=1, ge=1, description="Agents in the escalation team.")
    second_line_mean_service_minutes: float = Field(
        default=20.0, gt=0, description="Mean handling time."
    )
    mean_patience_minutes: float | None = Field(
        default=None,
        gt=0,
        description="Mean (exponential) time a waiting customer stays before abandoning; None = never.",
    )
    service_level_threshold_minutes: float = Field(
        default=2.0,
        gt=0,
        description="A contact answered within this wait counts as in service level.",
    )
    satisfaction_when_answered_at_once: float = Field(
        default=4.6, description="Mean satisfaction (1-5) of a contact that did not wait."
    )
    satisfaction_drop_per_wait_minute: float = Field(
        default=0.05, ge=0, description="Satisfaction lost per minute of total wait."
    )
    satisfaction_drop_if_escalated: float = Field(
        default=0.4, ge=0, description="Satisfaction lost by a contact that had to be escalated."
    )
    satisfaction_if_abandoned: float = Field(
        default=1.5, description="Satisfaction of a customer who gave up waiting."
    )

    @model_validator(mode="after")
    def _check_priority_shares(self) -> ServiceCentreConfig:
        if min(self.priority_shares) < 0 or not math.isclose(sum(self.priority_shares), 1.0):
            raise ValueError("priority_shares must be non-negative and sum to 1")
        if min(self.arrivals_per_hour) < 0 or max(self.arrivals_per_hour) == 0:
            raise ValueError("arrivals_per_hour must be non-negative and not all zero")
        return self


@dataclass(frozen=True)
class ServiceCentreOutcome:
    """One row per contact, in arrival order."""

    arrival_minute: np.ndarray
    priority: np.ndarray
    first_line_wait_minutes: np.ndarray
    second_line_wait_minutes: np.ndarray  # 0 when not escalated
    escalated: np.ndarray
    abandoned: np.ndarray
    satisfaction: np.ndarray

    @property
    def total_wait_minutes(self) -> np.ndarray:
        return self.first_line_wait_minutes + self.second_line_wait_minutes

    def service_level(self, threshold_minutes: float) -> float:
        """Share of contacts answered by the first line within ``threshold_minutes``."""
        answered_in_time = (~self.abandoned) & (self.first_line_wait_minutes <= threshold_minutes)
        return float(answered_in_time.mean())

    def summary(self, threshold_minutes: float) -> dict[str, float]:
        """The figures the support lead reads: waits, service level, abandonment, satisfaction."""
        answered = ~self.abandoned
        return {
            "contacts": float(self.abandoned.size),
            "mean_first_line_wait_minutes": float(self.first_line_wait_minutes[answered].mean()),
            "p90_total_wait_minutes": float(np.percentile(self.total_wait_minutes, 90)),
            "service_level": self.service_level(threshold_minutes),
            "abandonment_rate": float(self.abandoned.mean()),
            "escalation_rate": float(self.escalated.mean()),
            "mean_satisfaction": float(self.satisfaction.mean()),
        }


def _handling_times(rng: np.random.Generator, mean: float, cv: float, n: int) -> np.ndarray:
    if math.isclose(cv, 1.0):
        return rng.exponential(mean, n)
    sigma2 = math.log1p(cv * cv)
    return rng.lognormal(math.log(mean) - sigma2 / 2.0, math.sqrt(sigma2), n)


def _contact_arrival_minutes(
    arrivals_per_hour: list[float], horizon_minutes: float, rng: np.random.Generator
) -> np.ndarray:
    # Non-homogeneous Poisson by thinning: draw at the peak rate, keep each candidate with
    # probability rate(t) / peak. Exact for piecewise-constant hourly rates.
    hourly = np.asarray(arrivals_per_hour, dtype=float)
    peak_per_minute = hourly.max() / 60.0
    n_candidates = rng.poisson(peak_per_minute * horizon_minutes)
    candidates = np.sort(rng.uniform(0.0, horizon_minutes, n_candidates))
    rate_now = hourly[(candidates // 60.0).astype(np.int64) % hourly.size] / 60.0
    keep = rng.random(n_candidates) < rate_now / peak_per_minute
    return candidates[keep]


def simulate_service_centre(
    config: ServiceCentreConfig, horizon_minutes: float, rng: np.random.Generator
) -> ServiceCentreOutcome:
    """Simulate the customer-service centre for ``horizon_minutes`` (general SimPy engine).

    All random inputs (arrivals, priorities, handling times, patience, escalation) are drawn
    up front from ``rng`` so the outcome depends only on the generator's state, and two
    scenarios run with the same seed share them (common random numbers).
    """
    arrival = _contact_arrival_minutes(config.arrivals_per_hour, horizon_minutes, rng)
    n = arrival.size
    priority = rng.choice(len(config.priority_shares), size=n, p=config.priority_shares)
    first_service = _handling_times(
        rng, config.first_line_mean_service_minutes, config.service_time_cv, n
    )
    second_service = _handling_times(
        rng, config.second_line_mean_service_minutes, config.service_time_cv, n
    )
    escalated = rng.random(n) < config.escalation_probability
    patience = (
        rng.exponential(config.mean_patience_minutes, n)
        if config.mean_patience_minutes is not None
        else np.full(n, np.inf)
    )

    first_wait = np.zeros(n)
    second_wait = np.zeros(n)
    abandoned = np.zeros(n, dtype=bool)
    reached_second_line = np.zeros(n, dtype=bool)
    env = simpy.Environment()
    first_line = simpy.PriorityResource(env, capacity=config.first_line_agents)
    second_line = simpy.PriorityResource(env, capacity=config.second_line_agents)

    def wait_for_agent(team: simpy.PriorityResource, contact: int, waits: np.ndarray):
        queued_at = env.now
        request = team.request(priority=int(priority[contact]))
        if np.isfinite(patience[contact]):
            outcome = yield request | env.timeout(patience[contact])
            got_agent = request in outcome
        else:
            yield request
            got_agent = True
        waits[contact] = env.now - queued_at
        if not got_agent:
            request.cancel()
        return request if got_agent else None

    def contact_journey(contact: int):
        request = yield from wait_for_agent(first_line, contact, first_wait)
        if request is None:
            abandoned[contact] = True
            return
        yield env.timeout(first_service[contact])
        first_line.release(request)
        if escalated[contact]:
            reached_second_line[contact] = True
            request = yield from wait_for_agent(second_line, contact, second_wait)
            if request is None:
                abandoned[contact] = True
                return
            yield env.timeout(second_service[contact])
            second_line.release(request)

    def contacts_arrive():
        previous = 0.0
        for contact in range(n):
            yield env.timeout(arrival[contact] - previous)
            previous = arrival[contact]
            env.process(contact_journey(contact))

    env.process(contacts_arrive())
    env.run()

    satisfaction = (
        config.satisfaction_when_answered_at_once
        - config.satisfaction_drop_per_wait_minute * (first_wait + second_wait)
        - config.satisfaction_drop_if_escalated * reached_second_line
    )
    satisfaction = np.where(
        abandoned, config.satisfaction_if_abandoned, np.clip(satisfaction, 1, 5)
    )
    return ServiceCentreOutcome(
        arrival_minute=arrival,
        priority=priority,
        first_line_wait_minutes=first_wait,
        second_line_wait_minutes=second_wait,
        escalated=reached_second_line,
        abandoned=abandoned,
        satisfaction=satisfaction,
    )
