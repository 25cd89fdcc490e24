"""The monitoring assets, the retrain sensor, the weekly schedule and the rollback job, in-process.

The warehouse is built directly (a tiny world's raw billing tables with a price change, and the
synthetic churn features), so no dbt run is needed.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg
import duckdb
import numpy as np
import pytest

from ml.churn import LABEL, ChurnTrainingConfig, train_churn_model
from ml.ledger import PROMOTE, read_ledger
from ml.tracking import (
    CHAMPION,
    CHURN_MODEL_NAME,
    MlflowSettings,
    alias_version,
    log_churn_training,
)
from orchestration.defs.monitoring.assets import (
    BILLING_STABLE,
    RETRAIN_FLAG,
    champion_vs_challenger,
    churn_feature_drift,
)
from orchestration.defs.monitoring.jobs import rollback_champion, weekly_retrain
from orchestration.defs.monitoring.sensors import retrain_on_drift_or_degradation
from orchestration.resources import MlflowResource, WarehouseResource
from simulation.world import WorldConfig, generate_world
from simulation.world.config import DriftEvent
from tests.unit.ml.conftest import synthetic_customer_months

pytestmark = pytest.mark.integration
FAST = ChurnTrainingConfig(n_estimators=30)
RUN_CONFIG = {
    "ops": {
        "churn_feature_drift": {"config": {"daily_lookback_days": 14}},
        "champion_vs_challenger": {"config": {"n_bootstrap": 100}},
    }
}


@pytest.fixture(scope="module")
def monitored(tmp_path_factory):
    """A warehouse whose billing changed price on 2025-06-01, v1 (noise) champion, v2 challenger."""
    home = tmp_path_factory.mktemp("monitoring_home")
    mp = pytest.MonkeyPatch()
    mp.setenv("TWINOPS_HOME", str(home))
    world = generate_world(
        WorldConfig.tiny(
            seed=5,
            n_customers=3000,
            end=dt.date(2025, 6, 14),
            drift=(DriftEvent(kind="price_change", start=dt.date(2025, 6, 1), magnitude=0.15),),
        )
    )
    features = synthetic_customer_months()
    con = duckdb.connect(str(home / "warehouse.duckdb"))
    for schema in ("raw", "features", "results"):
        con.execute(f"create schema {schema}")
    for table in ("customers", "subscription_events"):
        con.register("frame", world.tables[table])
        con.execute(f"create table raw.{table} as select * from frame")
    con.register("frame", features.drop(columns="true_probability"))
    con.execute("create table features.customer_month_churn_features as select * from frame")
    con.close()

    settings = MlflowSettings.local(home)
    noise = features.copy()
    noise[LABEL] = np.random.default_rng(0).permutation(noise[LABEL].to_numpy())
    log_churn_training(settings, train_churn_model(noise, FAST), FAST, {})
    log_churn_training(settings, train_churn_model(features, FAST), FAST, {})
    resources = {
        "warehouse": WarehouseResource(path=str(home / "warehouse.duckdb")),
        "mlflow": MlflowResource(
            tracking_uri=settings.tracking_uri, artifact_root=settings.artifact_root
        ),
    }
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            [churn_feature_drift, champion_vs_challenger],
            resources=resources,
            run_config=RUN_CONFIG,
            instance=instance,
        )
        yield home, settings, resources, instance, result
    mp.undo()


def test_price_change_warns_on_the_billing_check_and_stores_every_day(monitored):
    home, _, _, _, result = monitored
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert not checks[BILLING_STABLE].passed
    assert checks[BILLING_STABLE].severity == dg.AssetCheckSeverity.WARN
    metadata = result.asset_materializations_for_node("churn_feature_drift")[0].metadata
    assert metadata[RETRAIN_FLAG].value is True
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        days, columns = con.execute(
            "select count(distinct day), count(distinct column_name) from results.daily_drift"
        ).fetchone()
        assert (days, columns) == (14, 3)
        assert con.execute("select count(*) from results.model_drift").fetchone()[0] == 2
    for report in ("churn_feature_drift", "daily_billing_drift", "churn_prediction_drift"):
        assert (home / "reports" / f"{report}.html").stat().st_size > 10_000


def test_better_challenger_is_promoted_with_predictions_and_outcomes_stored(monitored):
    home, settings, _, _, result = monitored
    metadata = result.asset_materializations_for_node("champion_vs_challenger")[0].metadata
    assert metadata["decision"].value == PROMOTE
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        ledger = read_ledger(con, CHURN_MODEL_NAME)
        assert ledger["action"].tolist() == ["bootstrap", "promote", "promote"]
        outcomes = con.execute("select * from results.prediction_outcomes").df()
        predictions = con.execute("select count(*) from results.churn_predictions").fetchone()[0]
    assert predictions == 3 * 1500  # the newest three months, scored by the champion v1
    assert set(outcomes["model_version"]) == {"1"}
    assert len(outcomes) == 3  # the synthetic features are labelled in every month
    assert alias_version(settings, CHURN_MODEL_NAME, CHAMPION) == "2"


def test_sensor_requests_a_retrain_once_per_recommendation(monitored):
    _, _, _, instance, _ = monitored
    context = dg.build_sensor_context(instance=instance)
    requests = retrain_on_drift_or_degradation(context)
    assert len(requests) == 1 and isinstance(requests[0], dg.RunRequest)
    again = retrain_on_drift_or_degradation(
        dg.build_sensor_context(instance=instance, cursor=context.cursor)
    )
    assert isinstance(again, dg.SkipReason)


def test_weekly_schedule_launches_the_retrain_job():
    assert weekly_retrain.job_name == "retrain_churn_model"
    assert weekly_retrain.cron_schedule == "0 3 * * 1"


def test_rollback_job_restores_the_previous_champion(monitored):
    _, settings, resources, instance, _ = monitored
    result = rollback_champion.execute_in_process(resources=resources, instance=instance)
    assert result.success
    assert alias_version(settings, CHURN_MODEL_NAME, CHAMPION) == "1"
