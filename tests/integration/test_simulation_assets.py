"""Scenario-partitioned simulation assets on a tiny world: results, intervals, plots."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pytest

from ingestion.load import load_tables
from ingestion.warehouse import connect, replace_table
from ml.churn import ChurnTrainingConfig, train_churn_model
from ml.forecasting import ForecastConfig, demand_series_from_orders, forecast_series
from ml.marketing_roi import MediaMixConfig, fit_media_mix
from ml.tracking import MlflowSettings, log_churn_training
from ml.tracking_forecast import log_forecast_training, log_marketing_roi
from orchestration.defs.simulation.champion_effects import (
    current_effects,
    load_effect_champions,
    twin_effects,
)
from orchestration.defs.simulation.comparison import scenario_comparison
from orchestration.defs.simulation.partitions import scenario_file_fingerprints, scenario_files
from orchestration.defs.simulation.scenario_assets import (
    scenario_definition,
    scenario_onboarding_process,
    scenario_revenue,
    scenario_service_queue,
    scenario_supply_chain,
)
from orchestration.paths import REPO_ROOT
from orchestration.resources import MlflowResource, RayResource, WarehouseResource
from orchestration.warehouse_reads import churn_features
from simulation.world import WorldConfig, generate_world

SCENARIO_ASSETS = [
    scenario_definition,
    scenario_revenue,
    scenario_service_queue,
    scenario_onboarding_process,
    scenario_supply_chain,
]
QUICK = {
    "scenario_revenue": {"config": {"n_paths": 2_000, "paths_per_chunk": 500}},
    "scenario_service_queue": {"config": {"n_replications": 6}},
    "scenario_onboarding_process": {"config": {"n_replications": 6}},
    "scenario_supply_chain": {"config": {"n_replications": 6}},
}


@pytest.fixture(scope="module")
def twin_home(tmp_path_factory, state_home, ray_local):
    """A tiny world in a warehouse of its own (raw, truth, the churn mart) and the churn and
    marketing-ROI champions the learned effects are measured on."""
    home = tmp_path_factory.mktemp("simulation_home")
    world = generate_world(WorldConfig.tiny())
    with connect(home / "warehouse.duckdb") as con:
        load_tables(con, world.tables, source="generator:seed=7")
        for name, frame in world.truth.items():
            replace_table(con, "truth", name, frame)
    dbt = Path(sys.executable).parent / "dbt"
    subprocess.run(
        [
            *(str(dbt), "run", "--select", "+customer_month_churn_features", "--quiet"),
            *("--profiles-dir", ".", "--target-path", str(home / "dbt_target")),
        ],
        cwd=REPO_ROOT / "transforms",
        env={**os.environ, "TWINOPS_HOME": str(home), "DBT_LOG_PATH": str(home / "logs")},
        check=True,
    )
    settings = MlflowSettings.local(home)
    settings.activate()
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        features = churn_features(con)
    config = ChurnTrainingConfig(n_estimators=30)
    log_churn_training(settings, train_churn_model(features, config), config, tags={})
    spend = world.tables["marketing_spend"][["date", "channel", "spend", "conversions"]]
    log_marketing_roi(settings, fit_media_mix(spend, MediaMixConfig()), tags={})
    demand = forecast_series(
        demand_series_from_orders(world.tables["demand_orders"]),
        ForecastConfig(horizons=(7, 28), models=("seasonal_naive", "ets"), cv_folds=1),
    )
    log_forecast_training(settings, demand, "demand", tags={})
    return home


@pytest.fixture(scope="module")
def resources(twin_home):
    settings = MlflowSettings.local(twin_home)
    return {
        "warehouse": WarehouseResource(path=str(twin_home / "warehouse.duckdb")),
        "mlflow": MlflowResource(
            tracking_uri=settings.tracking_uri, artifact_root=settings.artifact_root
        ),
        "ray": RayResource(),
    }


@pytest.fixture(scope="module")
def runs(resources):
    """Baseline and price_up_5pct on every engine, then the comparison, on one instance."""
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(
            "scenario", ["baseline", "price_up_5pct", "two_more_agents"]
        )
        effects = dg.materialize([twin_effects], resources=resources, instance=instance)
        by_partition = {
            key: dg.materialize(
                SCENARIO_ASSETS,
                partition_key=key,
                resources=resources,
                instance=instance,
                run_config={"ops": QUICK},
            )
            for key in ("baseline", "price_up_5pct")
        }
        by_partition["comparison"] = dg.materialize(
            [scenario_comparison],
            resources=resources,
            instance=instance,
            run_config={
                "ops": {
                    "scenario_comparison": {
                        "config": {"pilot_replications": 4, "max_replications": 12}
                    }
                }
            },
        )
        # After the comparison (which compares every scenario partition): product prices.
        instance.add_dynamic_partitions("scenario", ["product_price_up_5pct"])
        by_partition["product_price_up_5pct"] = dg.materialize(
            [scenario_definition, scenario_supply_chain],
            partition_key="product_price_up_5pct",
            resources=resources,
            instance=instance,
            run_config={"ops": {"scenario_supply_chain": QUICK["scenario_supply_chain"]}},
        )
        by_partition["effects"] = effects
        yield instance, by_partition


@pytest.fixture
def warehouse(runs, twin_home):
    # Opened per test: the launchpad test writes, and DuckDB allows one writer.
    with duckdb.connect(str(twin_home / "warehouse.duckdb"), read_only=True) as con:
        yield con


def table(con: duckdb.DuckDBPyConnection, name: str) -> pd.DataFrame:
    return con.execute(f"select * from results.{name}").df()


def test_every_scenario_run_succeeds(runs):
    _, by_partition = runs
    assert all(result.success for result in by_partition.values())


def test_each_scenario_keeps_its_own_revenue_rows(warehouse):
    revenue = table(warehouse, "scenario_revenue")
    assert revenue.groupby("scenario").size().to_dict() == {"baseline": 12, "price_up_5pct": 12}
    assert (revenue["revenue_p5"] <= revenue["revenue_p50"]).all()
    assert (revenue["revenue_p50"] <= revenue["revenue_p95"]).all()
    first = revenue.sort_values("month_start").groupby("scenario")["revenue_mean"].first()
    # A 5 % price rise lifts next month's revenue by about 5 % (churn responds slowly).
    assert first["price_up_5pct"] / first["baseline"] == pytest.approx(1.05, abs=0.02)


def test_queue_kpis_carry_confidence_intervals_around_the_mean(warehouse):
    queue = table(warehouse, "scenario_service_queue")
    assert set(queue["scenario"]) == {"baseline", "price_up_5pct"}
    level = queue[queue["kpi"] == "service_level"]
    assert ((level["ci_low"] <= level["mean"]) & (level["mean"] <= level["ci_high"])).all()
    assert level["mean"].between(0, 1).all()
    assert (queue["n_replications"] == 6).all() and (queue["warm_up_days"] > 0).all()


def test_onboarding_names_exactly_one_primary_bottleneck_per_scenario(warehouse):
    stages = table(warehouse, "scenario_onboarding_stages")
    assert stages.groupby("scenario")["is_primary_bottleneck"].sum().to_dict() == {
        "baseline": 1,
        "price_up_5pct": 1,
    }
    truth = warehouse.execute("select stage from truth.process_stage_truth").df()
    assert set(stages["stage"]) == set(truth["stage"])


def test_supply_chain_reports_fill_rate_and_supplier_risk(warehouse):
    supply = table(warehouse, "scenario_supply_chain").set_index(["scenario", "kpi"])
    assert 0 < supply.loc[("baseline", "fill_rate"), "mean"] <= 1
    assert supply.loc[("baseline", "probability_of_shortfall:SUP-001"), "mean"] > 0


def test_replications_are_paired_across_scenarios(warehouse):
    # Price does not touch the queue: on common random numbers every replication is equal.
    reps = table(warehouse, "scenario_replications_service_queue")
    wide = reps.pivot_table(index=["replication", "kpi"], columns="scenario", values="value")
    pd.testing.assert_series_equal(wide["baseline"], wide["price_up_5pct"], check_names=False)


def test_comparison_has_intervals_and_finds_the_price_effect(warehouse):
    comparison = table(warehouse, "scenario_comparison").set_index(["scenario", "kpi"])
    assert set(comparison.index.get_level_values("scenario")) == {
        "price_up_5pct",
        "two_more_agents",
    }
    assert (comparison["ci_low"] <= comparison["difference"]).all()
    assert (comparison["difference"] <= comparison["ci_high"]).all()
    revenue = comparison.loc[("price_up_5pct", "expected_total_revenue")]
    assert revenue["is_significant"] and revenue["difference"] > 0
    untouched = comparison.loc[("price_up_5pct", "service_level")]
    assert untouched["difference"] == 0 and not untouched["is_significant"]
    more_agents = comparison.loc[("two_more_agents", "mean_first_line_wait_minutes")]
    assert more_agents["ci_high"] <= 0


def test_plots_land_in_reports_and_in_metadata(runs, state_home):
    _, by_partition = runs
    metadata = {
        m.asset_key.to_user_string(): m.metadata
        for m in by_partition["price_up_5pct"].get_asset_materialization_events()
        for m in [m.materialization]
    }
    paths = [
        metadata["scenario_revenue"]["fan_chart"].value,
        metadata["scenario_service_queue"]["wait_histogram"].value,
        metadata["scenario_onboarding_process"]["bottleneck_chart"].value,
        metadata["scenario_onboarding_process"]["cycle_time_histogram"].value,
        metadata["scenario_supply_chain"]["supplier_risk_chart"].value,
    ]
    for path in paths:
        assert Path(path).parent == state_home / "reports"
        assert Path(path).stat().st_size > 5_000
    assert "preview" in metadata["scenario_onboarding_process"]
    comparison = by_partition["comparison"].asset_materializations_for_node("scenario_comparison")[
        0
    ]
    assert Path(comparison.metadata["comparison_chart"].value).stat().st_size > 5_000


def test_effects_are_measured_on_the_champions_and_shown_beside_the_truth(runs):
    _, by_partition = runs
    for asset in ("scenario_revenue", "scenario_onboarding_process"):
        metadata = by_partition["price_up_5pct"].asset_materializations_for_node(asset)[0].metadata
        measured = metadata["effects/churn_price_elasticity"].value
        truth = metadata["effects/churn_price_elasticity_truth"].value
        # 30 trees on three small price-test waves: finite and modest, its sign not settled.
        assert np.isfinite(measured) and abs(measured) < 5 and truth > 0
        assert 0 < metadata["effects/acquisition_marketing_elasticity"].value < 1
        assert metadata["effects/churn_model_version"].value == "1"
        assert metadata["effects/marketing_model_version"].value == "1"
        assert "measured on churn_lgbm v1" in metadata["effects/source"].value
    comparison = by_partition["comparison"].asset_materializations_for_node("scenario_comparison")
    assert "effects/churn_price_elasticity" in comparison[0].metadata


def test_effects_are_measured_once_and_every_scenario_applies_the_same(runs, warehouse):
    _, by_partition = runs
    recorded = table(warehouse, "twin_effects")
    assert recorded["figure"].is_unique and recorded["measured"].notna().all()
    churn = recorded.set_index("figure").loc["churn_price_elasticity"]
    assert (churn["model"], churn["model_version"]) == ("churn_lgbm", "1")
    applied = {
        (key, asset): result.asset_materializations_for_node(asset)[0]
        .metadata["effects/churn_price_elasticity"]
        .value
        for key, result in by_partition.items()
        for asset in ("scenario_revenue", "scenario_onboarding_process")
        if key in ("baseline", "price_up_5pct")
    }
    assert len(applied) == 4
    assert list(applied.values()) == [pytest.approx(churn["measured"])] * 4


def test_effects_measured_on_an_earlier_champion_are_refused(runs, warehouse, resources):
    assert current_effects(warehouse, resources["mlflow"]).model_versions["marketing_mmm"] == "1"
    stale = table(warehouse, "twin_effects")
    stale.loc[stale["model"] == "marketing_mmm", "model_version"] = "0"
    with duckdb.connect() as con:
        con.execute("create schema results")
        con.execute("create table results.twin_effects as select * from stale")
        with pytest.raises(LookupError, match="marketing_mmm v0, but marketing_mmm@champion is v1"):
            current_effects(con, resources["mlflow"])


def test_a_missing_champion_fails_saying_what_to_materialize(tmp_path):
    empty = MlflowSettings.local(tmp_path)
    registry = MlflowResource(tracking_uri=empty.tracking_uri, artifact_root=empty.artifact_root)
    with pytest.raises(LookupError, match="materialize the churn_model asset"):
        load_effect_champions(registry)


def test_launchpad_scenario_is_validated_and_recorded(resources, twin_home):
    given = {"name": "hire_four", "extra_first_line_agents": 4}
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions("scenario", ["hire_four"])
        ok = dg.materialize(
            [scenario_definition],
            partition_key="hire_four",
            resources=resources,
            instance=instance,
            run_config={"ops": {"scenario_definition": {"config": {"scenario": given}}}},
        )
        misnamed = dg.materialize(
            [scenario_definition],
            partition_key="hire_four",
            resources=resources,
            instance=instance,
            run_config={
                "ops": {"scenario_definition": {"config": {"scenario": {"name": "other"}}}}
            },
            raise_on_error=False,
        )
    assert ok.success and not misnamed.success
    with duckdb.connect(str(twin_home / "warehouse.duckdb"), read_only=True) as con:
        source = con.execute(
            "select source from results.scenario_definitions where scenario = 'hire_four'"
        ).fetchone()[0]
    assert source == "launchpad"


def test_sensor_registers_every_scenario_file_and_the_baseline():
    with dg.DagsterInstance.ephemeral() as instance:
        result = scenario_files(dg.build_sensor_context(instance=instance))
    added = set(result.dynamic_partitions_requests[0].partition_keys)
    assert added == {"baseline", *scenario_file_fingerprints()}
    assert {r.partition_key for r in result.run_requests} == added


def test_product_prices_move_supply_chain_demand_by_the_demand_champions_elasticity(runs):
    _, by_partition = runs
    metadata = (
        by_partition["product_price_up_5pct"]
        .asset_materializations_for_node("scenario_supply_chain")[0]
        .metadata
    )
    elasticity = metadata["effects/product_demand_price_elasticity"].value
    assert elasticity < 0  # dearer products sell less
    assert metadata["demand_factor"].value == pytest.approx(1.05**elasticity)
    assert metadata["effects/demand_model_version"].value == "1"
