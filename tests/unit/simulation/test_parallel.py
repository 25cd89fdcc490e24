"""The Ray runner's reproducibility contract: same seed, same numbers, however it runs."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np
import pytest

from simulation.parallel import chunk_sizes, run_chunked, run_chunked_on_pool


def normal_draws(rng: np.random.Generator, n: int, *, offsets: np.ndarray) -> np.ndarray:
    """A chunk task with a shared array, as pipelines pass large model parameters."""
    return rng.standard_normal((n, offsets.size)) + offsets


def die_on_first_attempt(rng: np.random.Generator, n: int, *, claim_file: str) -> np.ndarray:
    """Kill the worker process the first time any chunk runs; later attempts succeed."""
    try:
        os.close(os.open(claim_file, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return rng.standard_normal(n)
    os._exit(1)  # a hard crash, as if the node died: no exception reaches Ray


OFFSETS = np.arange(3.0)


def test_chunks_cover_every_sample_exactly_once() -> None:
    assert chunk_sizes(10, 4) == [4, 4, 2]
    assert chunk_sizes(8, 4) == [4, 4]


def test_serial_run_is_bit_identical_for_the_same_seed_and_differs_for_another() -> None:
    task = functools.partial(normal_draws, offsets=OFFSETS)
    first = run_chunked(task, 1_000, 128, seed=7, use_ray=False)
    again = run_chunked(task, 1_000, 128, seed=7, use_ray=False)
    other = run_chunked(task, 1_000, 128, seed=8, use_ray=False)
    assert first.shape == (1_000, 3)
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)


def test_chunk_i_draws_from_the_ith_spawned_seed() -> None:
    result = run_chunked(lambda rng, n: rng.random(n), 10, 4, seed=3, use_ray=False)
    third_chunk_seed = np.random.SeedSequence(3).spawn(3)[2]
    assert np.array_equal(result[8:], np.random.default_rng(third_chunk_seed).random(2))


def test_ray_matches_serial_bit_for_bit_for_any_task_batching(ray_local) -> None:
    task = functools.partial(normal_draws, offsets=OFFSETS)
    serial = run_chunked(task, 5_000, 500, seed=11, use_ray=False)
    for chunks_per_task in (1, 3, 10):
        on_ray = run_chunked(
            normal_draws,
            5_000,
            500,
            seed=11,
            ray_objects={"offsets": OFFSETS},
            chunks_per_task=chunks_per_task,
        )
        assert np.array_equal(on_ray, serial), f"chunks_per_task={chunks_per_task}"


def test_process_pool_with_one_or_two_workers_matches_serial_bit_for_bit() -> None:
    task = functools.partial(normal_draws, offsets=OFFSETS)
    serial = run_chunked(task, 2_000, 300, seed=5, use_ray=False)
    for processes in (1, 2):
        pooled = run_chunked_on_pool(task, 2_000, 300, seed=5, processes=processes)
        assert np.array_equal(pooled, serial), f"processes={processes}"


def test_killed_ray_worker_is_retried_and_results_are_bit_identical(
    ray_local, tmp_path: Path
) -> None:
    claim_file = tmp_path / "a-worker-was-killed"
    task = functools.partial(die_on_first_attempt, claim_file=str(claim_file))
    serial = run_chunked(
        lambda rng, n: rng.standard_normal(n), 4_000, 1_000, seed=21, use_ray=False
    )
    on_ray = run_chunked(task, 4_000, 1_000, seed=21, max_retries=2)
    assert claim_file.exists(), "no worker was killed, so the retry path was not exercised"
    assert np.array_equal(on_ray, serial)


def test_empty_run_fails_loudly() -> None:
    with pytest.raises(ValueError, match="nothing to simulate"):
        run_chunked(lambda rng, n: rng.random(n), 0, 10, seed=1, use_ray=False)
