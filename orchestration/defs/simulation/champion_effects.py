"""The twin's price and marketing effects, measured once on the champion models.

`twin_effects` loads the champions by alias, each with its artifact hash checked against the
one recorded at registration (`ml.promotion.load_verified_model`): the churn champion
(`churn_lgbm@champion`, scikit-learn flavour), the marketing-ROI champion
(`marketing_mmm@champion`, a pyfunc holding the fitted response curves) and the demand
forecaster champion (`demand_forecaster@champion`, a pyfunc holding one fitted forecaster per
product-region series). It measures the elasticities on them (`simulation.twin_parameters.
learned_effects`) and writes them, with the truth-based values beside them, to
results.twin_effects. Every scenario run reads that table (`current_effects`) and refuses it
when a champion has changed since it was measured.
"""

from __future__ import annotations

import dagster as dg
import duckdb
import mlflow
import pandas as pd

from ml.churn import predict_churn
from ml.promotion import load_verified_model
from ml.tracking import CHAMPION, CHURN_MODEL_NAME, MlflowSettings, alias_version
from ml.tracking_forecast import MODEL_NAMES
from orchestration.metadata import table_preview
from orchestration.resources import MlflowResource, WarehouseResource
from orchestration.warehouse_reads import CHURN_FEATURES_DEP, replace_results_table
from simulation.twin_parameters import (
    EFFECTS_TABLE,
    EffectChampions,
    ModelVersion,
    RecordedEffects,
    learned_effects,
    read_recorded_effects,
)

MARKETING_MODEL_NAME = MODEL_NAMES["marketing_roi"]
DEMAND_MODEL_NAME = MODEL_NAMES["demand"]
EFFECT_CHAMPION_ASSETS = ["churn_model", "marketing_roi", "demand_forecaster"]


def load_verified_response_curves(
    settings: MlflowSettings, name: str = MARKETING_MODEL_NAME, alias: str = CHAMPION
) -> tuple[pd.DataFrame, str]:
    """The response curves of `name@alias` (one row per channel) and its version, hash-checked."""
    if alias_version(settings, name, alias) is None:
        raise LookupError(
            f"model {name!r} has no {alias!r} alias in {settings.tracking_uri}: materialize the "
            "marketing_roi asset first; the twin's marketing elasticity is measured on it"
        )
    wrapper, version = load_verified_model(settings, name, alias, loader=mlflow.pyfunc.load_model)
    model = wrapper.unwrap_python_model()
    curves = getattr(model, "response", None)
    if not isinstance(curves, pd.DataFrame):
        raise TypeError(
            f"{name} v{version} holds a {type(model).__name__}, not the media-mix response "
            "model (ml.tracking_forecast.ChannelResponseModel): its curves cannot be read"
        )
    return curves.reset_index(), str(version)


def load_effect_champions(mlflow_resource: MlflowResource) -> EffectChampions:
    """The churn, marketing-ROI and demand champions, ready for `simulation.twin_parameters`."""
    settings = mlflow_resource.settings
    try:
        churn, churn_version = load_verified_model(settings, CHURN_MODEL_NAME, CHAMPION)
    except LookupError as error:
        raise LookupError(
            f"{error}: materialize the churn_model asset first; the twin's churn price "
            "elasticity is measured on the churn champion"
        ) from error
    curves, marketing_version = load_verified_response_curves(settings)
    try:
        bundle, demand_version = load_verified_model(
            settings, DEMAND_MODEL_NAME, CHAMPION, loader=mlflow.pyfunc.load_model
        )
    except LookupError as error:
        raise LookupError(
            f"{error}: materialize the demand_forecaster asset first; the twin's product demand "
            "price elasticity is measured on the demand champion"
        ) from error
    return EffectChampions(
        churn_scorer=lambda rows: predict_churn(churn, rows),
        churn=ModelVersion(CHURN_MODEL_NAME, str(churn_version)),
        marketing_responses=curves,
        marketing=ModelVersion(MARKETING_MODEL_NAME, marketing_version),
        demand_forecasters=bundle.unwrap_python_model().forecasters,
        demand=ModelVersion(DEMAND_MODEL_NAME, str(demand_version)),
    )


def current_effects(
    con: duckdb.DuckDBPyConnection, mlflow_resource: MlflowResource
) -> RecordedEffects:
    """results.twin_effects, when it was measured on today's champions; else a LookupError."""
    recorded = read_recorded_effects(con)
    for name, version in sorted(recorded.model_versions.items()):
        champion = alias_version(mlflow_resource.settings, name, CHAMPION)
        if champion != version:
            raise LookupError(
                f"results.{EFFECTS_TABLE} was measured on {name} v{version}, but "
                f"{name}@{CHAMPION} is {'v' + champion if champion else 'unset'}: "
                "materialize the twin_effects asset again"
            )
    return recorded


def effects_metadata(recorded: RecordedEffects | None) -> dict[str, float | str]:
    """Measured elasticities, their model versions and the truth-based values, for metadata."""
    if recorded is None:
        return {}
    return {
        f"effects/{key}": value for key, value in recorded.summary().items() if value is not None
    } | {"effects/source": recorded.source}


@dg.asset(
    deps=[
        *EFFECT_CHAMPION_ASSETS,
        "champion_vs_challenger",  # it may promote the churn challenger
        CHURN_FEATURES_DEP,
        *(
            dg.AssetDep(dg.AssetKey(["raw", t]), partition_mapping=dg.AllPartitionMapping())
            for t in ("customers", "marketing_spend", "demand_orders")
        ),
        "world_ground_truth",
    ],
    group_name="simulation",
    kinds={"mlflow", "duckdb"},
    pool="warehouse",
)
def twin_effects(warehouse: WarehouseResource, mlflow: MlflowResource) -> dg.MaterializeResult:
    """Price and marketing elasticities measured on the champions, in results.twin_effects.

    One row per figure: the measured value, the world's truth-based value when known, the
    champion and version it was measured on, and how. Scenarios apply these; they refuse them
    once a champion has changed, until this asset is materialized again.
    """
    champions = load_effect_champions(mlflow)
    with warehouse.connect(read_only=True) as con:
        recorded = learned_effects(con, champions).record()
    table = recorded.table.assign(measured_at=pd.Timestamp.now(tz="UTC").tz_localize(None))
    with warehouse.connect() as con:
        replace_results_table(con, EFFECTS_TABLE, table)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(table),
            **effects_metadata(recorded),
            "preview": dg.MetadataValue.md(table_preview(table, rows=len(table))),
        }
    )
