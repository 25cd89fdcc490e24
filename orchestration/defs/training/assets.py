"""The churn model: trained on the feature mart, tracked and registered in MLflow."""

import dagster as dg
from pydantic import Field

from ml.churn import ChurnTrainingConfig as ChurnKnobs
from ml.churn import train_churn_model
from ml.promotion import record_artifact_hash
from ml.tracking import log_churn_training
from orchestration.defs.training.run_tags import registered_model_metadata, training_run_tags
from orchestration.metadata import table_preview
from orchestration.resources import MlflowResource, WarehouseResource
from orchestration.warehouse_reads import (
    CHURN_FEATURES_DEP,
    churn_features,
    true_churn,
)

DEFAULTS = ChurnKnobs()


class ChurnTrainingConfig(dg.Config):
    """Launchpad knobs of the churn model; defaults and meaning from ml.churn.ChurnTrainingConfig."""

    holdout_months: int = Field(
        default=DEFAULTS.holdout_months, description="Newest labelled months held out."
    )
    n_estimators: int = Field(default=DEFAULTS.n_estimators, description="Boosting rounds.")
    learning_rate: float = Field(
        default=DEFAULTS.learning_rate, description="LightGBM learning rate."
    )
    num_leaves: int = Field(default=DEFAULTS.num_leaves, description="Leaves per tree.")
    min_child_samples: int = Field(
        default=DEFAULTS.min_child_samples, description="Minimum rows per leaf."
    )
    reg_lambda: float = Field(default=DEFAULTS.reg_lambda, description="L2 penalty on leaf values.")
    seed: int = Field(default=DEFAULTS.seed, description="Seed of LightGBM's sampling.")


@dg.asset(
    deps=[CHURN_FEATURES_DEP, "world_ground_truth"],
    group_name="training",
    kinds={"lightgbm", "mlflow"},
    pool="warehouse",
)
def churn_model(
    context: dg.AssetExecutionContext,
    config: ChurnTrainingConfig,
    warehouse: WarehouseResource,
    mlflow: MlflowResource,
) -> dg.MaterializeResult:
    """LightGBM churn classifier (with a logistic baseline), registered as `churn_lgbm@challenger`.

    The first version also becomes `champion`.
    """
    with warehouse.connect(read_only=True) as con:
        features = churn_features(con)
        truth = true_churn(con)
        tags = training_run_tags(context, con)
    knobs = ChurnKnobs(**config.model_dump())
    result = train_churn_model(features, knobs, truth)
    registered = log_churn_training(mlflow.settings, result, knobs, tags)
    # Registration recorded the hash (it never overwrites one): this returns it for the metadata.
    # Every later load by alias verifies the files against it.
    artifact_sha256 = record_artifact_hash(mlflow.settings, registered.name, registered.version)
    metrics = result.metrics()
    return dg.MaterializeResult(
        metadata={
            **registered_model_metadata(mlflow, registered),
            "artifact_sha256": artifact_sha256,
            "roc_auc": metrics["roc_auc"],
            "baseline_roc_auc": metrics["baseline_roc_auc"],
            "oracle_auc_gap": metrics.get("oracle_auc_gap", float("nan")),
            "train_rows": result.train_rows,
            "holdout_rows": result.evaluation.n_rows,
            "feature_importance": dg.MetadataValue.md(
                table_preview(result.feature_importance().reset_index(), rows=10)
            ),
        }
    )
