import mlflow
import pytest

from ml.churn import ChurnTrainingConfig, train_churn_model
from ml.tracking import (
    CHALLENGER,
    CHAMPION,
    CHURN_MODEL_NAME,
    MlflowSettings,
    alias_version,
    load_model_by_alias,
    log_churn_training,
)

FAST = ChurnTrainingConfig(n_estimators=30)


@pytest.fixture(scope="module")
def trained(customer_months, true_churn):
    return train_churn_model(customer_months, FAST, true_churn)


@pytest.fixture
def settings(tmp_path):
    return MlflowSettings.local(tmp_path)


def test_first_version_is_champion_and_challenger_later_ones_only_challenger(settings, trained):
    first = log_churn_training(settings, trained, FAST, {"world_seed": "7"})
    second = log_churn_training(settings, trained, FAST, {"world_seed": "7"})
    assert set(first.aliases) == {CHAMPION, CHALLENGER}
    assert second.aliases == (CHALLENGER,)
    assert alias_version(settings, CHURN_MODEL_NAME, CHAMPION) == first.version
    assert alias_version(settings, CHURN_MODEL_NAME, CHALLENGER) == second.version


def test_run_has_comparable_metrics_tags_and_artifacts(settings, trained):
    registered = log_churn_training(
        settings, trained, FAST, {"world_seed": "7", "data_version": "abc"}
    )
    run = mlflow.MlflowClient(settings.tracking_uri).get_run(registered.run_id)
    assert {"roc_auc", "pr_auc", "brier", "baseline_roc_auc", "oracle_auc_gap"} <= set(
        run.data.metrics
    )
    assert run.data.tags["world_seed"] == "7"
    assert run.data.tags["data_version"] == "abc"
    artifacts = {
        a.path
        for a in mlflow.MlflowClient(settings.tracking_uri).list_artifacts(
            registered.run_id, "reports"
        )
    }
    assert {
        "reports/model_card.md",
        "reports/calibration.png",
        "reports/feature_importance.png",
    } <= artifacts
    # Artifacts live under the state folder, never in ./mlruns.
    assert run.info.artifact_uri.startswith(settings.artifact_root)


def test_champion_loads_by_alias_and_scores_like_the_trained_model(settings, trained):
    log_churn_training(settings, trained, FAST, {})
    model, version = load_model_by_alias(settings, CHURN_MODEL_NAME, CHAMPION)
    holdout = trained.holdout
    assert version == "1"
    assert model.predict_proba(holdout)[:, 1] == pytest.approx(
        holdout["predicted_churn_probability"].to_numpy()
    )


def test_missing_alias_says_what_to_do(settings):
    with pytest.raises(LookupError, match="train it first"):
        load_model_by_alias(settings, CHURN_MODEL_NAME, CHAMPION)
