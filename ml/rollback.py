"""Roll a model's champion back to the previous one in the promotion ledger.

    python -m ml.rollback --model churn_lgbm [--home .twinops]

Reads and writes the MLflow store and the warehouse under the state folder (`--home`,
default `$TWINOPS_HOME` or `.twinops/`); `MLFLOW_TRACKING_URI` overrides the store.
"""

from __future__ import annotations

import argparse
import getpass
import os
from pathlib import Path

from ingestion.warehouse import connect
from ml.promotion import rollback_champion
from ml.tracking import CHURN_MODEL_NAME, MlflowSettings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=CHURN_MODEL_NAME, help="registered model name")
    parser.add_argument(
        "--home",
        type=Path,
        default=Path(os.environ.get("TWINOPS_HOME", ".twinops")),
        help="state folder holding mlflow.db and warehouse.duckdb",
    )
    parser.add_argument("--by", default=getpass.getuser(), help="who is rolling back")
    args = parser.parse_args(argv)
    settings = MlflowSettings.local(args.home)
    tracking_uri = os.environ.get("MLFLOW_TRACKING_URI")
    if tracking_uri:
        settings = MlflowSettings(tracking_uri=tracking_uri, artifact_root=settings.artifact_root)
    con = connect(args.home / "warehouse.duckdb")
    try:
        entry = rollback_champion(settings, con, args.model, f"cli:{args.by}")
    finally:
        con.close()
    print(
        f"{args.model}@champion: v{entry.champion_before} -> v{entry.champion_after} ({entry.reason})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
