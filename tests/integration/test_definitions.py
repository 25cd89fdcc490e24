"""The lineage is part of the contract: these edges are what users see in the Dagster UI."""

import dagster as dg
import pytest

from ingestion.contracts import ALL_CONTRACTS

CHAIN = [
    ("raw/customers", "staging/stg_customers"),
    ("raw/subscription_events", "staging/stg_subscription_events"),
    ("raw/usage_events", "staging/stg_usage_events"),
    ("raw/marketing_spend", "staging/stg_marketing_spend"),
    ("staging/stg_customers", "staging/int_customer_months"),
    ("staging/int_customer_months", "features/customer_month_churn_features"),
    ("staging/stg_usage_events", "staging/int_customer_month_usage"),
    ("staging/int_customer_month_usage", "features/customer_month_churn_features"),
    ("staging/stg_support_tickets", "features/customer_month_churn_features"),
    ("staging/stg_nps_responses", "features/customer_month_churn_features"),
    ("features/customer_month_churn_features", "churn_model"),
    ("world_ground_truth", "churn_model"),
    ("churn_model", "revenue_forecast"),
    ("features/customer_month_churn_features", "revenue_forecast"),
    ("churn_model", "churn_feature_drift"),
    ("churn_model", "champion_vs_challenger"),
]


@pytest.fixture(scope="module")
def graph(definitions):
    return definitions.resolve_asset_graph()


def key(name: str) -> dg.AssetKey:
    return dg.AssetKey(name.split("/"))


def test_definitions_load_without_errors(definitions):
    dg.Definitions.validate_loadable(definitions)


@pytest.mark.parametrize(("upstream", "downstream"), CHAIN)
def test_pipeline_edge(graph, upstream, downstream):
    assert key(upstream) in graph.get(key(downstream)).parent_keys


def test_every_dependency_is_a_defined_asset(graph):
    materializable = set(graph.materializable_asset_keys)
    for asset_key in materializable:
        missing = set(graph.get(asset_key).parent_keys) - materializable
        assert not missing, f"{asset_key.to_user_string()} depends on undefined assets {missing}"


def test_every_raw_table_has_a_blocking_contract_check(graph):
    for contract in ALL_CONTRACTS:
        check = dg.AssetCheckKey(dg.AssetKey(["raw", contract.name]), "meets_contract")
        assert check in graph.asset_check_keys, f"raw/{contract.name} has no contract check"
        spec = graph.get_check_spec(check)
        assert spec.blocking


def test_dbt_tests_are_asset_checks(graph):
    churn_mart_checks = {
        c.name
        for c in graph.asset_check_keys
        if c.asset_key == key("features/customer_month_churn_features")
    }
    assert "unique_customer_month_churn_features_customer_month_id" in churn_mart_checks


def test_assets_are_grouped_by_stage(graph):
    groups = {
        asset_key.to_user_string(): graph.get(asset_key).group_name
        for asset_key in graph.materializable_asset_keys
    }
    assert groups["raw/customers"] == "ingestion"
    assert groups["features/customer_month_churn_features"] == "features"
    assert groups["churn_model"] == "training"
    assert groups["revenue_forecast"] == "simulation"
    assert groups["champion_vs_challenger"] == "monitoring"


def test_warehouse_writers_share_one_pool(graph):
    """DuckDB allows one writer: every step that opens the warehouse is in the same pool."""
    pools = {
        key.to_user_string(): graph.get(key).assets_def.op.pool
        for key in graph.materializable_asset_keys
    }
    assert {
        pools[name]
        for name in (
            "raw/customers",
            "features/customer_month_churn_features",
            "churn_model",
            "revenue_forecast",
        )
    } == {"warehouse"}


def test_nightly_schedule_targets_the_whole_pipeline(definitions):
    schedule = definitions.resolve_schedule_def("nightly_refresh")
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.job_name == "twinops_pipeline"
