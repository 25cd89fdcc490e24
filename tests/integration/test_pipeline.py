"""The whole asset graph, materialized in-process on a tiny world, twice."""

from __future__ import annotations

import math

import dagster as dg
import duckdb
import mlflow
import pytest

from ml.tracking import (
    CHALLENGER,
    CHAMPION,
    CHURN_EXPERIMENT,
    CHURN_MODEL_NAME,
    MlflowSettings,
    alias_version,
)
from orchestration.demo import partition_window_tags
from simulation.world import WorldConfig, generate_world

TINY_WORLD = WorldConfig.tiny()
TINY_RUN_CONFIG = {
    "resources": {
        "business": {
            "config": {
                "seed": TINY_WORLD.seed,
                "n_customers": TINY_WORLD.n_customers,
                "start": TINY_WORLD.start.isoformat(),
                "end": TINY_WORLD.end.isoformat(),
            }
        }
    },
    "ops": {
        "churn_model": {"config": {"n_estimators": 60}},
        # The tiny world has eight months: short horizons, one fold, one process.
        "demand_forecaster": {"config": {"horizons": [7, 28], "cv_folds": 1, "n_jobs": 1}},
        "revenue_forecaster": {
            "config": {"frequency": "D", "horizons": [7, 28], "cv_folds": 1, "n_jobs": 1}
        },
        "revenue_forecast": {"config": {"n_paths": 2_000, "paths_per_chunk": 500}},
        "champion_vs_challenger": {"config": {"n_bootstrap": 100}},
    },
}


@pytest.fixture(scope="module")
def pipeline_runs(definitions, state_home, ray_local):
    """Run the pipeline twice on the same world, as a nightly schedule would."""
    job = definitions.resolve_job_def("twinops_pipeline")
    # Every day of the tiny world in one run: a single-run backfill of the daily partitions.
    whole_world = partition_window_tags(TINY_WORLD.start.isoformat(), TINY_WORLD.end.isoformat())
    with dg.DagsterInstance.ephemeral() as instance:
        first = job.execute_in_process(
            run_config=TINY_RUN_CONFIG, instance=instance, raise_on_error=False, tags=whole_world
        )
        with duckdb.connect(str(state_home / "warehouse.duckdb"), read_only=True) as con:
            counts_after_first = _raw_counts(con)
        second = job.execute_in_process(
            run_config=TINY_RUN_CONFIG, instance=instance, raise_on_error=False, tags=whole_world
        )
    return first, second, counts_after_first


def _raw_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    tables = con.execute(
        "select table_name from duckdb_tables() where schema_name = 'raw'"
    ).fetchall()
    return {
        name: con.execute(f'select count(*) from raw."{name}"').fetchone()[0] for (name,) in tables
    }


@pytest.fixture(scope="module")
def warehouse(pipeline_runs, state_home):
    with duckdb.connect(str(state_home / "warehouse.duckdb"), read_only=True) as con:
        yield con


def test_both_runs_succeed(pipeline_runs):
    first, second, _ = pipeline_runs
    assert first.success, [e.message for e in first.all_events if e.is_failure]
    assert second.success


def test_every_error_check_passes(pipeline_runs):
    first, _, _ = pipeline_runs
    evaluations = first.get_asset_check_evaluations()
    assert len(evaluations) > 20
    failed = [
        f"{e.asset_key.to_user_string()}:{e.check_name}"
        for e in evaluations
        if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR
    ]
    assert not failed


def test_raw_tables_hold_every_generated_row_and_reloads_add_no_duplicates(
    pipeline_runs, warehouse
):
    _, _, counts_after_first = pipeline_runs
    world = generate_world(TINY_WORLD)
    counts = _raw_counts(warehouse)
    assert counts == {name: len(frame) for name, frame in world.tables.items()}
    assert counts == counts_after_first
    assert warehouse.execute("select count(*) from ops.quarantine").fetchone()[0] == 0


def test_materializations_carry_row_counts(pipeline_runs):
    first, _, _ = pipeline_runs
    customers = first.asset_materializations_for_node("business_entities")
    by_key = {m.asset_key.to_user_string(): m.metadata for m in customers}
    assert by_key["raw/customers"]["dagster/row_count"].value == len(
        generate_world(TINY_WORLD).tables["customers"]
    )
    assert "preview" in by_key["raw/customers"]


def test_feature_mart_has_one_row_per_active_customer_month(warehouse):
    rows, distinct, labelled = warehouse.execute(
        """select count(*), count(distinct customer_month_id), count(churned_next_month)
        from features.customer_month_churn_features"""
    ).fetchone()
    assert rows == distinct > 1000
    assert 0 < labelled < rows  # the newest month has no label yet


def test_mlflow_has_runs_with_metrics_and_aliases(pipeline_runs, state_home):
    settings = MlflowSettings.local(state_home)
    settings.activate()
    runs = mlflow.search_runs(experiment_names=[CHURN_EXPERIMENT])
    assert len(runs) == 2
    assert runs["metrics.roc_auc"].between(0.6, 1.0).all()
    assert runs["metrics.oracle_auc_gap"].notna().all()
    assert set(runs["tags.world_seed"]) == {str(TINY_WORLD.seed)}
    # The first version became champion; the retrain is only the challenger.
    assert alias_version(settings, CHURN_MODEL_NAME, CHAMPION) == "1"
    assert alias_version(settings, CHURN_MODEL_NAME, CHALLENGER) == "2"


def test_forecasters_and_roi_model_are_registered_with_comparable_metrics(
    pipeline_runs, state_home
):
    settings = MlflowSettings.local(state_home)
    settings.activate()
    for experiment, metric in (
        ("demand_forecast", "mase_vs_snaive_max"),
        ("revenue_forecast", "coverage95_min"),
        ("marketing_roi", "roi_max_abs_rel_error"),
    ):
        runs = mlflow.search_runs(experiment_names=[experiment])
        assert len(runs) == 2, experiment
        assert f"metrics.{metric}" in runs.columns, (experiment, sorted(runs.columns))
    first, _, _ = pipeline_runs
    roi = first.asset_materializations_for_node("marketing_roi")[0].metadata
    assert roi["max_abs_rel_error_vs_truth"].value < 0.5


def test_training_links_its_mlflow_run(pipeline_runs):
    first, _, _ = pipeline_runs
    metadata = first.asset_materializations_for_node("churn_model")[0].metadata
    assert "/#/experiments/" in metadata["mlflow_run"].value
    assert metadata["aliases"].value == "challenger, champion"


def test_revenue_forecast_percentiles_are_ordered(warehouse):
    forecast = warehouse.execute("select * from results.revenue_forecast order by month_start").df()
    assert len(forecast) == 12
    assert (forecast["revenue_p5"] <= forecast["revenue_p50"]).all()
    assert (forecast["revenue_p50"] <= forecast["revenue_p95"]).all()
    assert (forecast["champion_version"] == "1").all()


def test_same_seed_and_champion_give_the_same_forecast_on_both_runs(pipeline_runs):
    first, second, _ = pipeline_runs

    def figures(run):
        metadata = run.asset_materializations_for_node("revenue_forecast")[0].metadata
        return metadata["expected_total_revenue"].value, metadata[
            "probability_of_missing_plan"
        ].value

    assert figures(first) == figures(second)


def test_monitoring_appends_drift_and_comparison_rows(warehouse, state_home):
    comparisons = warehouse.execute(
        "select * from results.champion_vs_challenger order by compared_at"
    ).df()
    assert len(comparisons) == 2
    assert list(comparisons["challenger_version"]) == ["1", "2"]
    drift = warehouse.execute(
        "select count(distinct run_id), count(*) from results.feature_drift"
    ).fetchone()
    assert drift[0] == 2 and drift[1] > 10
    assert (state_home / "reports" / "churn_feature_drift.html").stat().st_size > 10_000
    assert (state_home / "reports" / "revenue_forecast.png").stat().st_size > 5_000


def test_runs_reuse_a_running_ray_and_leave_it_to_its_owner(pipeline_runs, ray_local):
    # The session fixture started Ray; the run's resource must neither start another nor stop it.
    assert ray_local.is_initialized()
    assert len(ray_local.nodes()) == 1


def test_the_pipeline_records_finite_effects_measured_on_todays_champions(
    pipeline_runs, state_home, warehouse
):
    """The what-if scenarios apply the elasticities twin_effects measured (issue #7)."""
    from orchestration.defs.simulation.champion_effects import current_effects
    from orchestration.resources import MlflowResource

    settings = MlflowSettings.local(state_home)
    registry = MlflowResource(
        tracking_uri=settings.tracking_uri, artifact_root=settings.artifact_root
    )
    recorded = current_effects(warehouse, registry)  # raises if a champion changed since
    effects = recorded.for_horizon(12).model_dump()
    assert all(math.isfinite(value) for value in effects.values()), effects
    assert 0 < effects["acquisition_marketing_elasticity"] < 1
    assert set(recorded.model_versions) == {"churn_lgbm", "marketing_mmm", "demand_forecaster"}
    assert recorded.table["truth"].notna().sum() >= 4
