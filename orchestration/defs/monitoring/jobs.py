"""Retraining, promotion and rollback: jobs, the weekly schedule."""

import getpass

import dagster as dg
from pydantic import Field

from ml.churn import time_split
from ml.promotion import PromotionRule, ensure_artifact_hashes, promote_if_better
from ml.promotion import rollback_champion as rollback_to_previous_champion
from ml.tracking import CHALLENGER, CHAMPION, CHURN_MODEL_NAME
from orchestration.defs.training.assets import churn_model
from orchestration.resources import MlflowResource, WarehouseResource
from orchestration.warehouse_reads import churn_features

# Train a new challenger, compare it with the champion and apply the promotion rule, then
# measure the twin's effects on whichever model is champion now.
retrain_churn_model = dg.define_asset_job(
    "retrain_churn_model",
    selection=dg.AssetSelection.assets(churn_model.key, "champion_vs_challenger", "twin_effects"),
    description="Retrain the churn model (new challenger), compare it with the champion, promote "
    "by the rule, and measure the twin's effects on the champion.",
)

weekly_retrain = dg.ScheduleDefinition(
    name="weekly_retrain",
    job=retrain_churn_model,
    cron_schedule="0 3 * * 1",
    execution_timezone="UTC",
    description="Retrain every Monday at 03:00 UTC, whatever the monitors say.",
)


class PromotionConfig(dg.Config):
    holdout_months: int = Field(default=1, description="Newest labelled months both models see.")
    auc_margin: float = Field(
        default=PromotionRule().auc_margin, description="ROC AUC gain margin."
    )
    brier_tolerance: float = Field(
        default=PromotionRule().brier_tolerance, description="Allowed Brier deterioration."
    )
    n_bootstrap: int = Field(default=300, description="Bootstrap resamples.")


@dg.op(pool="warehouse")
def promote_challenger_op(
    context: dg.OpExecutionContext,
    config: PromotionConfig,
    warehouse: WarehouseResource,
    mlflow: MlflowResource,
) -> None:
    """Apply the promotion rule to the current champion and challenger; record the decision."""
    ensure_artifact_hashes(mlflow.settings, CHURN_MODEL_NAME, (CHAMPION, CHALLENGER))
    with warehouse.connect(read_only=True) as con:
        _, holdout = time_split(churn_features(con), config.holdout_months)
    rule = PromotionRule(
        auc_margin=config.auc_margin,
        brier_tolerance=config.brier_tolerance,
        n_bootstrap=config.n_bootstrap,
    )
    with warehouse.connect() as con:
        outcome = promote_if_better(
            mlflow.settings, con, CHURN_MODEL_NAME, holdout, rule, f"dagster:{context.run_id}"
        )
    context.log.info(f"{outcome.entry.action}: {outcome.entry.reason}")


@dg.job(description="Apply the promotion rule to churn_lgbm's champion and challenger.")
def promote_challenger() -> None:
    promote_challenger_op()


@dg.op(pool="warehouse")
def rollback_champion_op(
    context: dg.OpExecutionContext, warehouse: WarehouseResource, mlflow: MlflowResource
) -> None:
    """Restore the previous champion recorded in the promotion ledger."""
    decided_by = f"dagster:{context.run_id}:{getpass.getuser()}"
    with warehouse.connect() as con:
        entry = rollback_to_previous_champion(mlflow.settings, con, CHURN_MODEL_NAME, decided_by)
    context.log.info(entry.reason)


@dg.job(description="Roll churn_lgbm@champion back to the previous champion in the ledger.")
def rollback_champion() -> None:
    rollback_champion_op()
