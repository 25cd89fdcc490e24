"""Monitoring: drift (features since training, every new billing day, predictions and churn rate),
and champion versus challenger on one holdout with the promotion rule and the ledger."""

import dagster as dg
import pandas as pd
from pydantic import Field

from ml.churn import (
    CATEGORICAL_FEATURES,
    DRIFT_MONITORED_NUMERIC_FEATURES,
    LABEL,
    predict_churn,
    time_split,
)
from ml.compare import compare_on_holdout
from ml.drift import DriftRule, detect_drift
from ml.monitoring import (
    DailyDriftRule,
    ModelDriftRule,
    first_alarm,
    judge_days,
    latest_realised_performance,
    prediction_drift,
    reference_window,
    refresh_prediction_outcomes,
    score_customers,
    score_day,
    score_days,
    target_drift,
    write_predictions,
)
from ml.promotion import (
    PromotionRule,
    ensure_artifact_hashes,
    load_verified_model,
    promote_if_better,
)
from ml.tracking import CHALLENGER, CHAMPION, CHURN_MODEL_NAME
from orchestration.defs.monitoring.reads import (
    DAILY_DRIFT_TABLE,
    billing_stream_from_warehouse,
    new_days,
    scored_days,
)
from orchestration.metadata import table_preview
from orchestration.paths import StatePaths
from orchestration.resources import MlflowResource, WarehouseResource
from orchestration.warehouse_reads import CHURN_FEATURES_DEP, append_results_table, churn_features

FEATURES_STABLE = "features_stable_since_training"
BILLING_STABLE = "billing_stream_stable"
MODEL_OUTPUT_STABLE = "predictions_and_churn_rate_stable"
CHAMPION_FLOOR = "champion_above_auc_floor"
REALISED_FLOOR = "champion_realised_auc_above_floor"
RETRAIN_FLAG = "retrain_recommended"  # read by the retrain sensor


def _now() -> pd.Timestamp:
    return pd.Timestamp.now(tz="UTC").tz_localize(None)


class FeatureDriftConfig(dg.Config):
    """Our drift rules (ml.drift.DriftRule, ml.monitoring.DailyDriftRule); explicit thresholds."""

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
    daily_p_value: float = Field(
        default=DailyDriftRule().numeric_p_value,
        description="A billing column drifts on a day when its p-value is below this (calibrated).",
    )
    daily_consecutive_days: int = Field(
        default=DailyDriftRule().consecutive_days,
        description="Drifted billing days in a row at which the check warns (calibrated).",
    )
    daily_lookback_days: int = Field(
        default=14, description="Newest billing days scored and judged by each run."
    )
    prediction_threshold: float = Field(
        default=ModelDriftRule().prediction_threshold,
        description="Normed Wasserstein distance at which the champion's predictions have drifted.",
    )
    target_p_value: float = Field(
        default=ModelDriftRule().target_p_value,
        description="Chi-square p-value under which the churn rate has drifted.",
    )


def _daily_billing_drift(con, config: FeatureDriftConfig, run_id: str):
    """Score each billing day not scored before, store it, and judge the lookback window."""
    rule = DailyDriftRule(
        numeric_p_value=config.daily_p_value,
        categorical_p_value=config.daily_p_value,
        consecutive_days=config.daily_consecutive_days,
    )
    stream = billing_stream_from_warehouse(con)
    days = new_days(stream, scored_days(con), config.daily_lookback_days)
    scores = score_days(stream, days, rule)
    if not scores.empty:
        append_results_table(
            con, DAILY_DRIFT_TABLE, scores.assign(checked_at=_now(), run_id=run_id)
        )
    stored = scored_days(con)
    window = sorted(stored["day"].unique())[-config.daily_lookback_days :]
    judged = judge_days(stored[stored["day"].isin(window)], rule)
    newest = pd.Timestamp(window[-1])
    report = score_day(
        reference_window(stream, pd.Timestamp(window[0]).date(), rule.reference_days),
        stream[stream["day"] == newest],
        rule,
    )
    return rule, judged, report, len(days)


def _model_drift(features: pd.DataFrame, config: FeatureDriftConfig, mlflow: MlflowResource):
    """Drift of the champion's predictions and of the churn rate since the training window."""
    ensure_artifact_hashes(mlflow.settings, CHURN_MODEL_NAME, (CHAMPION,))
    champion, version = load_verified_model(mlflow.settings, CHURN_MODEL_NAME, CHAMPION)
    reference, holdout = time_split(features, config.holdout_months)
    newest = features[features["month_start"] == features["month_start"].max()]
    labelled_newest = holdout[holdout["month_start"] == holdout["month_start"].max()]
    rule = ModelDriftRule(
        prediction_threshold=config.prediction_threshold, target_p_value=config.target_p_value
    )
    predictions = prediction_drift(
        predict_churn(champion, reference), predict_churn(champion, newest), rule
    )
    target = target_drift(reference[LABEL], labelled_newest[LABEL], rule)
    rows = pd.concat(
        [
            predictions.columns.assign(kind="prediction"),
            target.columns.assign(kind="target"),
        ],
        ignore_index=True,
    ).assign(model_version=version)
    return predictions, target, rows


@dg.asset(
    deps=["churn_model", CHURN_FEATURES_DEP],
    group_name="monitoring",
    kinds={"evidently", "duckdb"},
    pool="warehouse",
    check_specs=[
        dg.AssetCheckSpec(
            FEATURES_STABLE,
            asset="churn_feature_drift",
            description="Warns when the share of drifted churn features reaches the rule's threshold.",
        ),
        dg.AssetCheckSpec(
            BILLING_STABLE,
            asset="churn_feature_drift",
            description="Warns when the daily billing stream drifts on the rule's consecutive days.",
        ),
        dg.AssetCheckSpec(
            MODEL_OUTPUT_STABLE,
            asset="churn_feature_drift",
            description="Warns when the champion's predictions or the churn rate have drifted.",
        ),
    ],
)
def churn_feature_drift(
    context: dg.AssetExecutionContext,
    config: FeatureDriftConfig,
    warehouse: WarehouseResource,
    mlflow: MlflowResource,
):
    """Drift since training: every churn feature (latest month), every new billing day, and the
    champion's predictions and the churn rate. Evidently scores; our explicit rules decide."""
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
        reference,
        current,
        list(DRIFT_MONITORED_NUMERIC_FEATURES),
        list(CATEGORICAL_FEATURES),
        rule,
    )
    predictions, target, model_rows = _model_drift(features, config, mlflow)
    reports = StatePaths.from_env().reports
    html = result.save_html(reports / "churn_feature_drift.html")
    model_html = predictions.save_html(reports / "churn_prediction_drift.html")
    checked_at = _now()
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
        append_results_table(
            con, "model_drift", model_rows.assign(checked_at=checked_at, run_id=context.run_id)
        )
        daily_rule, judged, daily_report, scored = _daily_billing_drift(con, config, context.run_id)
    daily_html = daily_report.save_html(reports / "daily_billing_drift.html")
    alarm_day = first_alarm(judged)
    model_drifted = bool(predictions.dataset_drifted or target.dataset_drifted)
    drifted = result.columns[result.columns["drifted"]]["column_name"].tolist()
    yield dg.MaterializeResult(
        metadata={
            "share_drifted": result.share_drifted,
            "drifted_features": ", ".join(drifted) or "none",
            "report": dg.MetadataValue.path(str(html)),
            "daily_report": dg.MetadataValue.path(str(daily_html)),
            "prediction_report": dg.MetadataValue.path(str(model_html)),
            "billing_days_scored": scored,
            "billing_alarm_day": str(alarm_day.date()) if alarm_day is not None else "none",
            RETRAIN_FLAG: bool(alarm_day is not None or model_drifted),
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
    yield dg.AssetCheckResult(
        check_name=BILLING_STABLE,
        passed=alarm_day is None,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "rule": dg.MetadataValue.json(daily_rule.model_dump()),
            "days": dg.MetadataValue.md(table_preview(judged, rows=len(judged))),
            "report": dg.MetadataValue.path(str(daily_html)),
        },
    )
    yield dg.AssetCheckResult(
        check_name=MODEL_OUTPUT_STABLE,
        passed=not model_drifted,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"scores": dg.MetadataValue.md(table_preview(model_rows, rows=len(model_rows)))},
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
    apply_promotion: bool = Field(
        default=True, description="Apply the promotion rule and record the decision in the ledger."
    )
    auc_margin: float = Field(
        default=PromotionRule().auc_margin,
        description="The CI lower bound of the ROC AUC gain must exceed this to promote.",
    )
    brier_tolerance: float = Field(
        default=PromotionRule().brier_tolerance,
        description="The challenger's Brier score may be worse by at most this.",
    )
    score_months: int = Field(
        default=3, description="Newest feature months the champion scores (predictions table)."
    )


@dg.asset(
    deps=["churn_model", CHURN_FEATURES_DEP],
    group_name="monitoring",
    kinds={"mlflow", "duckdb"},
    pool="warehouse",
    check_specs=[
        dg.AssetCheckSpec(
            CHAMPION_FLOOR,
            asset="champion_vs_challenger",
            description="Fails when the champion's ROC AUC on the newest labelled data is below the floor.",
        ),
        dg.AssetCheckSpec(
            REALISED_FLOOR,
            asset="champion_vs_challenger",
            description="Fails when the champion's stored predictions, joined with the labels that "
            "arrived since, score a ROC AUC below the floor.",
        ),
    ],
)
def champion_vs_challenger(
    context: dg.AssetExecutionContext,
    config: ChampionChallengerConfig,
    warehouse: WarehouseResource,
    mlflow: MlflowResource,
):
    """Both aliases scored on the same newest labelled month, with a paired bootstrap interval;
    the champion's predictions and realised outcomes; then the promotion rule and the ledger."""
    ensure_artifact_hashes(mlflow.settings, CHURN_MODEL_NAME, (CHAMPION, CHALLENGER))
    champion, champion_version = load_verified_model(mlflow.settings, CHURN_MODEL_NAME, CHAMPION)
    challenger, challenger_version = load_verified_model(
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
                "compared_at": _now(),
                "run_id": context.run_id,
            }
        ]
    )
    newest_months = sorted(features["month_start"].unique())[-config.score_months :]
    to_score = features[features["month_start"].isin(newest_months)]
    predictions = score_customers(
        champion, to_score, CHURN_MODEL_NAME, champion_version, _now(), context.run_id
    )
    rule = PromotionRule(
        auc_margin=config.auc_margin,
        brier_tolerance=config.brier_tolerance,
        n_bootstrap=config.n_bootstrap,
        seed=config.seed,
    )
    with warehouse.connect() as con:
        append_results_table(con, "champion_vs_challenger", row)
        added = write_predictions(con, predictions)
        outcomes = refresh_prediction_outcomes(
            con, features[["customer_id", "month_start", LABEL]], _now()
        )
        decision = (
            promote_if_better(
                mlflow.settings, con, CHURN_MODEL_NAME, holdout, rule, f"dagster:{context.run_id}"
            ).entry
            if config.apply_promotion
            else None
        )
    realised = latest_realised_performance(outcomes, champion_version)
    realised_auc = float("nan") if realised is None else float(realised["realised_roc_auc"])
    below_floor = not comparison.champion >= config.auc_floor
    realised_below = realised is not None and not realised_auc >= config.auc_floor
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
            "predictions_added": added,
            "realised_roc_auc": realised_auc,
            "decision": decision.action if decision else "not applied",
            "decision_reason": decision.reason if decision else "apply_promotion is off",
            "champion_after": decision.champion_after if decision else champion_version,
            RETRAIN_FLAG: bool(below_floor or realised_below),
        }
    )
    yield dg.AssetCheckResult(
        check_name=CHAMPION_FLOOR,
        passed=not below_floor,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"auc_floor": config.auc_floor, "comparison": dg.MetadataValue.json(summary)},
    )
    yield dg.AssetCheckResult(
        check_name=REALISED_FLOOR,
        passed=not realised_below,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "auc_floor": config.auc_floor,
            "realised_roc_auc": realised_auc,
            "labelled_month": str(realised["month_start"]) if realised is not None else "none yet",
            "outcomes": dg.MetadataValue.md(table_preview(outcomes, rows=12)),
        },
    )
