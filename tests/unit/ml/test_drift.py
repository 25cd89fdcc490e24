import numpy as np
import pandas as pd
import pytest

from ml.drift import DriftRule, column_drifted, detect_drift


def frames(shift: float, seed: int = 0, n: int = 3000) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)

    def make(mu: float, p_premium: float) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "sessions_30d": rng.normal(10 + mu, 3, n),
                "monthly_price": rng.normal(50, 5, n),
                "segment": pd.Series(
                    np.where(rng.random(n) < p_premium, "premium", "basic"), dtype="str"
                ),
            }
        )

    return make(0, 0.3), make(shift, 0.3 + shift / 10)


def test_shifted_features_drift_and_stable_ones_do_not():
    reference, current = frames(shift=3.0)
    result = detect_drift(
        reference, current, ["sessions_30d", "monthly_price"], ["segment"], DriftRule()
    )
    drifted = dict(zip(result.columns["column_name"], result.columns["drifted"], strict=True))
    assert drifted == {"sessions_30d": True, "monthly_price": False, "segment": True}
    assert result.share_drifted == pytest.approx(2 / 3)
    assert result.dataset_drifted


def test_same_distribution_does_not_drift():
    reference, current = frames(shift=0.0)
    result = detect_drift(
        reference, current, ["sessions_30d", "monthly_price"], ["segment"], DriftRule()
    )
    assert not result.columns["drifted"].any()
    assert not result.dataset_drifted


def test_the_rule_not_evidentlys_default_decides():
    reference, current = frames(shift=0.6)
    strict = detect_drift(
        reference, current, ["sessions_30d"], [], DriftRule(numeric_threshold=0.01)
    )
    lenient = detect_drift(
        reference, current, ["sessions_30d"], [], DriftRule(numeric_threshold=0.5)
    )
    assert strict.dataset_drifted and not lenient.dataset_drifted
    assert strict.columns["threshold"].iloc[0] == 0.01


def test_p_values_drift_below_and_distances_at_or_above_the_threshold():
    assert column_drifted("ks", 0.01, 0.05) and not column_drifted("ks", 0.2, 0.05)
    assert column_drifted("wasserstein", 0.1, 0.1) and not column_drifted("wasserstein", 0.05, 0.1)
    assert not column_drifted("wasserstein", float("nan"), 0.1)


def test_empty_side_is_refused():
    reference, _ = frames(0.0)
    with pytest.raises(ValueError, match="rows on both sides"):
        detect_drift(reference, reference.iloc[:0], ["sessions_30d"], [], DriftRule())


def test_report_is_written_as_html(tmp_path):
    reference, current = frames(shift=1.0, n=500)
    result = detect_drift(reference, current, ["sessions_30d"], ["segment"], DriftRule())
    path = result.save_html(tmp_path / "reports" / "drift.html")
    assert path.stat().st_size > 10_000
    assert "<html" in path.read_text()[:2000].lower()
