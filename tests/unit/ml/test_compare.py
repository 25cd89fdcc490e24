import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from ml.compare import compare_on_holdout, roc_auc


def test_rank_auc_matches_sklearn_with_ties():
    rng = np.random.default_rng(0)
    y = rng.random(500) < 0.2
    score = np.round(rng.random(500) + 0.3 * y, 1)  # many ties
    assert roc_auc(y, score) == pytest.approx(roc_auc_score(y, score))


def test_auc_is_nan_with_one_class():
    assert np.isnan(roc_auc(np.zeros(10, dtype=bool), np.arange(10.0)))


def test_identical_models_have_an_interval_around_zero():
    rng = np.random.default_rng(1)
    y = rng.random(2000) < 0.1
    score = rng.random(2000) + y
    result = compare_on_holdout(y, score, score, n_bootstrap=100, seed=0)
    assert result.difference == 0
    assert result.ci_low == result.ci_high == 0


def test_clearly_better_challenger_has_an_interval_above_zero():
    rng = np.random.default_rng(2)
    y = rng.random(3000) < 0.1
    champion = rng.random(3000) + 0.3 * y
    challenger = rng.random(3000) + 1.5 * y
    result = compare_on_holdout(y, champion, challenger, n_bootstrap=200, seed=0)
    assert result.ci_low > 0
    assert result.challenger > result.champion


def test_bootstrap_is_reproducible_with_a_seed():
    rng = np.random.default_rng(3)
    y = rng.random(800) < 0.2
    a, b = rng.random(800) + y * 0.5, rng.random(800) + y * 0.6
    assert compare_on_holdout(y, a, b, seed=7) == compare_on_holdout(y, a, b, seed=7)


def test_length_mismatch_is_refused():
    with pytest.raises(ValueError, match="same length"):
        compare_on_holdout(np.ones(3, dtype=bool), np.ones(3), np.ones(2))
