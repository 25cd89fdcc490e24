import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from ml.churn import LABEL, ChurnTrainingConfig, FeatureFrame, time_split, train_churn_model

FAST = ChurnTrainingConfig(n_estimators=60, holdout_months=2)


def test_time_split_holds_out_the_newest_labelled_months(customer_months):
    train, holdout = time_split(customer_months, holdout_months=2)
    months = sorted(customer_months["month_start"].unique())
    assert set(holdout["month_start"].unique()) == set(months[-2:])
    assert train["month_start"].max() < holdout["month_start"].min()


def test_unlabelled_rows_are_never_trained_or_evaluated_on(customer_months):
    frame = customer_months.copy()
    frame[LABEL] = frame[LABEL].astype("object")
    newest = frame["month_start"] == frame["month_start"].max()
    frame.loc[newest, LABEL] = None
    train, holdout = time_split(frame, holdout_months=1)
    assert frame.loc[newest, "month_start"].iloc[0] not in set(holdout["month_start"]) | set(
        train["month_start"]
    )


def test_split_refuses_too_few_months(customer_months):
    two_months = customer_months[customer_months["month_start"] < "2025-03-01"]
    with pytest.raises(ValueError, match="labelled months"):
        time_split(two_months, holdout_months=2)


def test_model_learns_the_churn_signal_and_beats_chance(customer_months, true_churn):
    result = train_churn_model(customer_months, FAST, true_churn)
    metrics = result.metrics()
    assert metrics["roc_auc"] > 0.7
    assert metrics["baseline_roc_auc"] > 0.6
    assert 0 < metrics["brier"] < metrics["base_rate"]  # better than always saying "no churn"
    assert result.feature_importance().index[0] == "sessions_30d"


def test_oracle_gap_uses_the_truth_of_the_following_month(customer_months, true_churn):
    result = train_churn_model(customer_months, FAST, true_churn)
    holdout = result.holdout
    expected = roc_auc_score(holdout[LABEL].astype(int), holdout["true_probability"])
    assert result.oracle_roc_auc == pytest.approx(expected)
    assert result.metrics()["oracle_auc_gap"] == pytest.approx(expected - result.evaluation.roc_auc)


def test_missing_truth_rows_are_an_error_not_a_silent_gap(customer_months, true_churn):
    with pytest.raises(ValueError, match="no true churn probability"):
        train_churn_model(customer_months, FAST, true_churn.iloc[:10])


def test_same_seed_trains_identical_models(customer_months):
    first = (
        train_churn_model(customer_months, FAST).holdout["predicted_churn_probability"].to_numpy()
    )
    second = (
        train_churn_model(customer_months, FAST).holdout["predicted_churn_probability"].to_numpy()
    )
    np.testing.assert_array_equal(first, second)


def test_the_rows_order_does_not_change_the_model(customer_months):
    config = ChurnTrainingConfig(n_estimators=30)
    shuffled = customer_months.sample(frac=1.0, random_state=3)
    first = train_churn_model(customer_months, config)
    second = train_churn_model(shuffled, config)
    assert np.array_equal(
        first.model.predict_proba(first.holdout), second.model.predict_proba(first.holdout)
    )


def test_feature_frame_names_missing_columns(customer_months):
    transformer = FeatureFrame().fit(customer_months)
    with pytest.raises(KeyError, match="sessions_30d"):
        transformer.transform(customer_months.drop(columns=["sessions_30d"]))


def test_unseen_category_at_scoring_time_is_treated_as_missing(customer_months):
    transformer = FeatureFrame().fit(customer_months)
    scoring = customer_months.head(3).copy()
    scoring["segment"] = pd.Series(["enterprise"] * 3, dtype="str", index=scoring.index)
    assert transformer.transform(scoring)["segment"].isna().all()
