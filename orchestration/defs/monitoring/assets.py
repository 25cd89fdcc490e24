"""Monitoring: feature drift since training, and champion versus challenger on one holdout."""

import dagster as dg
import pandas as pd
from pydantic import Field

from ml.churn import CATEGORICAL_FEATURES, LABEL, NUMERIC_FEATURES, predict_churn, time_split
from ml.compare import compare_on_holdout
from ml.drift import DriftRule, detect_drift
from ml.tracking import CHALLENGER, CHAMPION, CHURN_MODEL_NAME, load_model_by_alias
from orchestration.metadata import table_preview
from orchestration.paths import StatePaths
from orchestration.resources import MlflowResource, WarehouseResource
from orchestration.warehouse_reads import CHURN_FEATURES_ASSET, append_results_table, churn_features

FEATURES_STABLE = "features_stable_since_training"
CHAMPION_FLOOR = "champion_above_auc_floor"


class FeatureDriftConfig(dg.Config):
    """Our drift rule (ml.drift.DriftRule); the defaults are explicit, not Evidently's."""

    numeric_threshold: float = Field(
        default=0.1, description="Normed Wasserstein distance at which a numeric feature drifts."
    )
    categorical_threshold: float = Field(
        default=0.1, description="Jensen-Shannon distance at which a categorical feature drifts."
    )
    share_threshold: float = Field(
        default=0.25, description="Share of drifted features at which the check warns."
    )
    holdout_months: int = Field(
        default=2, description="Months after the training window (as in training)."
    )


@dg.asset(
    deps=["churn_model", CHURN_FEATURES_ASSET],
    group_name="monitoring",
    kinds={"evidently", "duckdb"},
    pool="warehouse",
    check_specs=[
        dg.AssetCheckSpec(
            FEATURES_STABLE,
            asset="churn_feature_drift",
            description="Warns when the share of drifted churn features reaches the rule's threshold.",
        )
    ],
)
def churn_feature_drift(
    context: dg.AssetExecutionContext, config: FeatureDriftConfig, warehouse: WarehouseResource
):
    """Drift of every churn feature between the training window and the latest month."""
    with warehouse.connect(read_only=True) as con:
        features = churn_features(con)
    reference, _ = time_split(features, config.holdout_months)
    current = features[features["month_start"] == features["month_start"].max()]
    rule = DriftRule(
        numeric_threshold=config.numeric_threshold,
        categorical_threshold=config.categorical_threshold,
        share_threshold=config.share_threshold,
    )
    result = detect_drift(
        reference, current, list(NUMERIC_FEATURES), list(CATEGORICAL_FEATURES), rule
    )
    reports = StatePaths.from_env().reports
    html = result.save_html(reports / "churn_feature_drift.html")
    checked_at = pd.Timestamp.now(tz="UTC").tz_localize(None)
    rows = result.columns.assign(
        checked_at=checked_at,
        reference_rows=result.reference_rows,
        current_rows=result.current_rows,
        current_month=pd.Timestamp(current["month_start"].max()),
        dataset_drifted=result.dataset_drifted,
        run_id=context.run_id,
    )
    with warehouse.connect() as con:
        append_results_table(con, "feature_drift", rows)
    drifted = result.columns[result.columns["drifted"]]["column_name"].tolist()
    yield dg.MaterializeResult(
        metadata={
            "share_drifted": result.share_drifted,
            "drifted_features": ", ".join(drifted) or "none",
            "report": dg.MetadataValue.path(str(html)),
            "scores": dg.MetadataValue.md(table_preview(result.columns, rows=len(result.columns))),
        }
    )
    yield dg.AssetCheckResult(
        check_name=FEATURES_STABLE,
        passed=not result.dataset_drifted,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "share_drifted": result.share_drifted,
            "threshold": rule.share_threshold,
            "drifted_features": ", ".join(drifted) or "none",
        },
    )


class ChampionChallengerConfig(dg.Config):
    holdout_months: int = Field(
        default=1, description="Newest labelled months both models are scored on."
    )
    auc_floor: float = Field(
        default=0.65, description="The champion's ROC AUC must stay above this."
    )
    n_bootstrap: int = Field(
        default=300, description="Bootstrap resamples of the paired difference."
    )
    seed: int = Field(default=0, description="Seed of the bootstrap.")


@dg.asset(
    deps=["churn_model", CHURN_FEATURES_ASSET],
    group_name="monitoring",
    kinds={"mlflow", "duckdb"},
    pool="warehouse",
    check_specs=[
        dg.AssetCheckSpec(
            CHAMPION_FLOOR,
            asset="champion_vs_challenger",
            description="Fails when the champion's ROC AUC on the newest labelled data is below the floor.",
        )
    ],
)
def champion_vs_challenger(
    context: dg.AssetExecutionContext,
    config: ChampionChallengerConfig,
    warehouse: WarehouseResource,
    mlflow: MlflowResource,
):
    """Both aliases scored on the same newest labelled month, with a paired bootstrap interval."""
    champion, champion_version = load_model_by_alias(mlflow.settings, CHURN_MODEL_NAME, CHAMPION)
    challenger, challenger_version = load_model_by_alias(
        mlflow.settings, CHURN_MODEL_NAME, CHALLENGER
    )
    with warehouse.connect(read_only=True) as con:
        features = churn_features(con)
    _, holdout = time_split(features, config.holdout_months)
    comparison = compare_on_holdout(
        holdout[LABEL].to_numpy(dtype=bool),
        predict_churn(champion, holdout),
        predict_churn(challenger, holdout),
        n_bootstrap=config.n_bootstrap,
        seed=config.seed,
    )
    row = pd.DataFrame(
        [
            comparison.as_dict()
            | {
                "champion_version": champion_version,
                "challenger_version": challenger_version,
                "holdout_start": pd.Timestamp(holdout["month_start"].min()),
                "compared_at": pd.Timestamp.now(tz="UTC").tz_localize(None),
                "run_id": context.run_id,
            }
        ]
    )
    with warehouse.connect() as con:
        append_results_table(con, "champion_vs_challenger", row)
    summary = {
        k: (float(v) if isinstance(v, float) else v) for k, v in comparison.as_dict().items()
    }
    yield dg.MaterializeResult(
        metadata={
            "champion_version": champion_version,
            "challenger_version": challenger_version,
            "champion_roc_auc": comparison.champion,
            "challenger_roc_auc": comparison.challenger,
            "difference_ci95": f"[{comparison.ci_low:.4f}, {comparison.ci_high:.4f}]",
            "holdout_rows": comparison.n_rows,
        }
    )
    yield dg.AssetCheckResult(
        check_name=CHAMPION_FLOOR,
        passed=bool(comparison.champion >= config.auc_floor),
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"auc_floor": config.auc_floor, "comparison": dg.MetadataValue.json(summary)},
    )
