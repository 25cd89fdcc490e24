"""Integration fixtures: a state folder in tmp, a parsed dbt project, the loaded Definitions."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from orchestration.paths import REPO_ROOT


@pytest.fixture(scope="session")
def state_home(tmp_path_factory) -> Path:
    """TWINOPS_HOME for the session; resources and dbt (a subprocess) both read it."""
    home = tmp_path_factory.mktemp("twinops_home")
    os.environ["TWINOPS_HOME"] = str(home)
    os.environ["TWINOPS_DAGSTER_STORAGE"] = str(home / "dagster" / "storage")
    os.environ["TWINOPS_DAGSTER_COMPUTE_LOGS"] = str(home / "dagster" / "compute_logs")
    os.environ["DBT_LOG_PATH"] = str(home / "logs" / "dbt")
    return home


@pytest.fixture(scope="session")
def dbt_manifest(state_home: Path) -> Path:
    """Parse the dbt project once, so the @dbt_assets see the current models."""
    dbt = Path(sys.executable).parent / "dbt"
    subprocess.run(
        [str(dbt), "parse", "--profiles-dir", ".", "--quiet"],
        cwd=REPO_ROOT / "transforms",
        check=True,
    )
    return REPO_ROOT / "transforms" / "target" / "manifest.json"


@pytest.fixture(scope="session")
def definitions(dbt_manifest: Path):
    from orchestration.definitions import defs

    return defs()
