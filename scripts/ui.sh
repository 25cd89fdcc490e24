#!/usr/bin/env bash
# Start the Dagster UI and the MLflow UI on 127.0.0.1; Ctrl-C stops both.
set -euo pipefail
dagster_port=${1:-3000}
mlflow_port=${2:-5000}
mkdir -p "$TWINOPS_HOME/logs" "$TWINOPS_HOME/mlartifacts"

# One worker and no job runner: the defaults take ~40 s to start and leave orphans behind.
MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false mlflow ui \
  --backend-store-uri "sqlite:///$TWINOPS_HOME/mlflow.db" \
  --default-artifact-root "file://$TWINOPS_HOME/mlartifacts" \
  --host 127.0.0.1 --port "$mlflow_port" --workers 1 \
  >"$TWINOPS_HOME/logs/mlflow-ui.log" 2>&1 &
mlflow_pid=$!
trap 'kill "$mlflow_pid" 2>/dev/null || true; wait "$mlflow_pid" 2>/dev/null || true' EXIT INT TERM

echo "Dagster UI: http://127.0.0.1:$dagster_port   (lineage, asset checks, runs, schedules)"
echo "MLflow UI:  http://127.0.0.1:$mlflow_port   (experiments, runs, registered models)"
echo "Logs: $TWINOPS_HOME/logs/mlflow-ui.log; stop both with Ctrl-C."
TWINOPS_MLFLOW_UI="http://127.0.0.1:$mlflow_port" dagster dev -h 127.0.0.1 -p "$dagster_port" -m orchestration.definitions
