"""The dbt project, wired once. Kept apart from @dbt_assets so that it imports without a manifest."""

import functools
import shutil
import sys
from pathlib import Path

from dagster_dbt import DbtProject

from orchestration.paths import REPO_ROOT


@functools.cache
def transforms_project() -> DbtProject:
    project = DbtProject(
        project_dir=REPO_ROOT / "transforms", profiles_dir=REPO_ROOT / "transforms"
    )
    # Under `dagster dev` this parses the project so that edits show without a rebuild.
    project.prepare_if_dev()
    return project


def dbt_executable() -> str:
    """dbt from this interpreter's environment, so that a non-activated venv still works."""
    beside_python = Path(sys.executable).parent / "dbt"
    return str(beside_python) if beside_python.exists() else (shutil.which("dbt") or "dbt")
