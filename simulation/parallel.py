"""Chunked, reproducible Monte Carlo runner: serial, on Ray, or on a process pool.

The reproducibility contract (issue #7): work of ``n_total`` samples is cut into chunks of
``chunk_size`` samples and chunk ``i`` draws only from
``np.random.default_rng(np.random.SeedSequence(seed).spawn(n_chunks)[i])``. Results are
concatenated in chunk order. Because a chunk's random stream depends only on ``(seed,
n_chunks, i)`` and never on which worker ran it, the output is bit-identical whether it ran
serially, on 1, 2 or N Ray workers, with several chunks batched into one task, or after a
worker was killed and its task retried.

Ray tasks should be coarse (about 100 ms or more each, vectorised inside), so choose
``chunk_size`` large and, if chunks are small, batch them with ``chunks_per_task``.

Nothing here starts Ray at import time; :func:`ensure_ray` does it on first use.
"""

from __future__ import annotations

import contextlib
import functools
import multiprocessing
import multiprocessing.pool
import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol

import numpy as np


class ChunkTask(Protocol):
    """A unit of Monte Carlo work: ``n`` samples drawn from ``rng`` (plus shared objects)."""

    def __call__(self, rng: np.random.Generator, n: int, /, **shared: Any) -> np.ndarray: ...


# Local development defaults for a Ray started by us. Token auth is new in Ray 2.60 and
# only adds a warning and a file in ~/.ray for a loopback-only cluster; usage stats would
# phone home; under `uv run` the runtime-env hook would zip the working tree (0.8 MB, with
# warnings) and start every worker through uv, although workers share our .venv anyway.
_LOCAL_RAY_ENV_DEFAULTS = {
    "RAY_AUTH_MODE": "disabled",
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_ENABLE_UV_RUN_RUNTIME_ENV": "0",
}

DEFAULT_MAX_RETRIES = 3


def chunk_sizes(n_total: int, chunk_size: int) -> list[int]:
    """Sizes of the chunks that ``n_total`` samples are cut into (the last may be short)."""
    if n_total < 0:
        raise ValueError(f"n_total must be >= 0, got {n_total}")
    if chunk_size <= 0:
        raise ValueError(f"chunk_size must be > 0, got {chunk_size}")
    full, rest = divmod(n_total, chunk_size)
    return [chunk_size] * full + ([rest] if rest else [])


def chunk_seeds(seed: int, n_chunks: int) -> list[np.random.SeedSequence]:
    """The independent seed of every chunk: ``SeedSequence(seed).spawn(n_chunks)``."""
    return np.random.SeedSequence(seed).spawn(n_chunks)


def _run_chunk_batch(
    task: Callable[..., np.ndarray],
    batch: list[tuple[np.random.SeedSequence, int]],
    shared: Mapping[str, Any],
) -> list[np.ndarray]:
    """Run several chunks in one worker call, each with its own generator."""
    return [
        np.asarray(task(np.random.default_rng(chunk_seed), n, **shared)) for chunk_seed, n in batch
    ]


def _batches(
    seed: int, n_total: int, chunk_size: int, chunks_per_task: int
) -> list[list[tuple[np.random.SeedSequence, int]]]:
    if chunks_per_task <= 0:
        raise ValueError(f"chunks_per_task must be > 0, got {chunks_per_task}")
    sizes = chunk_sizes(n_total, chunk_size)
    chunks = list(zip(chunk_seeds(seed, len(sizes)), sizes, strict=True))
    return [chunks[i : i + chunks_per_task] for i in range(0, len(chunks), chunks_per_task)]


def _concatenate(batch_results: list[list[np.ndarray]]) -> np.ndarray:
    parts = [part for batch in batch_results for part in batch]
    if not parts:
        raise ValueError("n_total is 0: there is nothing to simulate")
    return np.concatenate(parts, axis=0)


def _import_ray() -> Any:
    """Import ray, first applying our local defaults (ray reads some flags at import)."""
    if not os.environ.get("RAY_ADDRESS"):
        for name, value in _LOCAL_RAY_ENV_DEFAULTS.items():
            os.environ.setdefault(name, value)
    import ray

    return ray


def ensure_ray(num_cpus: int | None = None, temp_dir: str | None = None) -> bool:
    """Start a local Ray once, or connect to the cluster named by ``RAY_ADDRESS``.

    Returns True if this call started (or connected) Ray, so the caller knows it owns the
    shutdown. Call it before importing ray yourself: ray reads some of the local
    defaults set here when it is first imported.

    Does nothing when Ray is already initialised in this process (for example by the
    tests' ``ray_local`` fixture or a Dagster resource). A local Ray gets ``num_cpus``
    (default: all of the machine's), no dashboard, no log forwarding and loopback only;
    ``temp_dir`` keeps its session files out of the shared ``/tmp/ray``. Never runs
    ``ray stop``: that would kill every Ray instance on the machine.
    """
    ray = _import_ray()
    if ray.is_initialized():
        return False
    address = os.environ.get("RAY_ADDRESS")
    if address:
        ray.init(address=address, log_to_driver=False)
        return True
    init_kwargs: dict[str, Any] = {
        "address": "local",
        "num_cpus": num_cpus or os.cpu_count(),
        "include_dashboard": False,
        "log_to_driver": False,
        "_node_ip_address": "127.0.0.1",
    }
    if temp_dir is not None:
        init_kwargs["_temp_dir"] = temp_dir
    ray.init(**init_kwargs)
    return True


@contextlib.contextmanager
def ray_session(num_cpus: int | None = None, temp_dir: str | None = None) -> Iterator[None]:
    """Ray for the duration of a block; shuts it down only if this block started it."""
    started_here = ensure_ray(num_cpus=num_cpus, temp_dir=temp_dir)
    try:
        yield
    finally:
        if started_here:
            _import_ray().shutdown()


@functools.cache
def _remote_chunk_batch() -> Any:
    return _import_ray().remote(_run_chunk_batch_remote)


def _run_chunk_batch_remote(
    task: Callable[..., np.ndarray],
    batch: list[tuple[np.random.SeedSequence, int]],
    shared_names: list[str],
    *shared_values: Any,
) -> list[np.ndarray]:
    # Shared objects travel as top-level arguments so that Ray resolves their ObjectRefs
    # (zero-copy, read-only views of large arrays) before the task runs.
    return _run_chunk_batch(task, batch, dict(zip(shared_names, shared_values, strict=True)))


def run_chunked(
    task: Callable[..., np.ndarray],
    n_total: int,
    chunk_size: int,
    seed: int,
    *,
    use_ray: bool = True,
    ray_objects: Mapping[str, Any] | None = None,
    chunks_per_task: int = 1,
    max_retries: int = DEFAULT_MAX_RETRIES,
) -> np.ndarray:
    """Run ``task(rng, n, **ray_objects)`` over ``n_total`` samples in reproducible chunks.

    Args:
        task: draws ``n`` samples from ``rng`` and returns an array whose first axis has
            length ``n`` (for example ``(n, horizon)`` revenue paths). It must be picklable
            (a module-level function, or a ``functools.partial`` of one) for Ray.
        n_total: total number of samples (paths, replications, customers...).
        chunk_size: samples per chunk; chunk ``i`` gets ``SeedSequence(seed).spawn(n)[i]``.
        seed: root seed of the whole run.
        use_ray: run chunks as Ray tasks (starting local Ray via :func:`ensure_ray` if
            needed); ``False`` runs them serially in this process with identical output.
        ray_objects: large read-only objects the task needs, passed to it as keyword
            arguments. On Ray they are ``ray.put`` once and shared by all tasks (workers
            see read-only arrays: copy before mutating).
        chunks_per_task: chunks batched into one Ray task, to keep tasks coarse. It does
            not change the output.
        max_retries: Ray re-runs a task this many times if its worker dies.

    Returns:
        The chunk results concatenated along axis 0, in chunk order.
    """
    batches = _batches(seed, n_total, chunk_size, chunks_per_task)
    shared = dict(ray_objects or {})
    if not use_ray:
        return _concatenate([_run_chunk_batch(task, batch, shared) for batch in batches])

    ray = _import_ray()
    ensure_ray()
    names = list(shared)
    refs = [ray.put(shared[name]) for name in names]
    remote = _remote_chunk_batch().options(max_retries=max_retries)
    futures = [remote.remote(task, batch, names, *refs) for batch in batches]
    return _concatenate(ray.get(futures))


def run_chunked_on_pool(
    task: Callable[..., np.ndarray],
    n_total: int,
    chunk_size: int,
    seed: int,
    *,
    processes: int = 2,
    shared: Mapping[str, Any] | None = None,
    chunks_per_task: int = 1,
    pool: multiprocessing.pool.Pool | None = None,
) -> np.ndarray:
    """Same contract and output as :func:`run_chunked`, on ``multiprocessing.Pool``.

    Exists as the peer that Ray is benchmarked against; pipelines should use Ray. Pass a
    running ``pool`` to reuse warm workers; otherwise a pool of ``processes`` is started
    and closed around the call.
    """
    batches = _batches(seed, n_total, chunk_size, chunks_per_task)
    worker = functools.partial(_run_chunk_batch, task, shared=dict(shared or {}))
    if pool is not None:
        return _concatenate(pool.map(worker, batches, chunksize=1))
    # fork would copy a driver that may hold Ray or numba threads; spawn is the safe default.
    with multiprocessing.get_context("spawn").Pool(processes) as new_pool:
        return _concatenate(new_pool.map(worker, batches, chunksize=1))
