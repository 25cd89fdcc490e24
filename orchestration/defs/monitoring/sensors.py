"""The retrain sensor: launches retraining when a drift or degradation monitor recommends it."""

import json

import dagster as dg

from orchestration.defs.monitoring.assets import RETRAIN_FLAG
from orchestration.defs.monitoring.jobs import retrain_churn_model

MONITORS = (dg.AssetKey("churn_feature_drift"), dg.AssetKey("champion_vs_challenger"))


def retrain_requests(
    instance: dg.DagsterInstance, cursor: dict[str, int]
) -> tuple[list[dg.RunRequest], dict[str, int]]:
    """One run request per monitor whose newest materialization (not yet seen, and not made by
    a retrain run itself, which would loop) recommends retraining; and the advanced cursor."""
    requests, seen = [], dict(cursor)
    for key in MONITORS:
        records = instance.fetch_materializations(key, limit=1, ascending=False).records
        name = key.to_user_string()
        if not records or records[0].storage_id <= cursor.get(name, 0):
            continue
        storage_id, event = records[0].storage_id, records[0].event_log_entry
        seen[name] = storage_id
        run = instance.get_run_by_id(event.run_id)
        if run is not None and run.job_name == retrain_churn_model.name:
            continue
        metadata = event.asset_materialization.metadata
        flag = metadata.get(RETRAIN_FLAG)
        if flag is not None and flag.value is True:
            requests.append(
                dg.RunRequest(
                    run_key=f"{name}:{storage_id}",
                    tags={"twinops/retrain_reason": f"{name} recommended retraining"},
                )
            )
    return requests, seen


@dg.sensor(
    job=retrain_churn_model,
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Retrain when drift or a performance floor fires (monitors' retrain_recommended).",
)
def retrain_on_drift_or_degradation(context: dg.SensorEvaluationContext):
    cursor = json.loads(context.cursor) if context.cursor else {}
    requests, seen = retrain_requests(context.instance, cursor)
    context.update_cursor(json.dumps(seen))
    if not requests:
        return dg.SkipReason("no monitor recommends retraining since the last tick")
    return requests[:1]  # one retrain covers every reason
