"""Where twinops keeps its runtime state: one folder, `.twinops/` or `$TWINOPS_HOME`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class StatePaths:
    """Every file and folder of the state folder, by name. Nothing is created here."""

    home: Path

    @classmethod
    def from_env(cls) -> StatePaths:
        """`$TWINOPS_HOME` if set (relative paths resolve against the repository root)."""
        configured = os.environ.get("TWINOPS_HOME")
        home = Path(configured) if configured else REPO_ROOT / ".twinops"
        if not home.is_absolute():
            home = REPO_ROOT / home
        return cls(home=home.resolve())

    @property
    def warehouse(self) -> Path:
        return self.home / "warehouse.duckdb"

    @property
    def mlflow_db(self) -> Path:
        return self.home / "mlflow.db"

    @property
    def mlartifacts(self) -> Path:
        return self.home / "mlartifacts"

    @property
    def dagster(self) -> Path:
        return self.home / "dagster"

    @property
    def reports(self) -> Path:
        return self.home / "reports"

    @property
    def landing(self) -> Path:
        return self.home / "landing"

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    @property
    def ray(self) -> Path:
        return self.home / "ray"
