"""Session-wide fixtures: offline settings and one local Ray for the whole run."""

from __future__ import annotations

import os

import pytest

# Offline and quiet, even when pytest is run without the Makefile.
for _name, _value in {
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    "DBT_VERSION_CHECK": "False",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "1",
    "RAY_AUTH_MODE": "disabled",
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_ENABLE_UV_RUN_RUNTIME_ENV": "0",
}.items():
    os.environ.setdefault(_name, _value)
# A developer's cluster must never be picked up by the tests.
os.environ.pop("RAY_ADDRESS", None)


@pytest.fixture(scope="session")
def ray_local(tmp_path_factory):
    """One local two-CPU Ray for the session, shut down at the end (no process left)."""
    import ray

    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        _temp_dir=str(tmp_path_factory.mktemp("ray")),
        ignore_reinit_error=True,
    )
    yield ray
    ray.shutdown()
