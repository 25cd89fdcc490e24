"""Champion versus challenger on the same holdout, with a paired bootstrap of the difference."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


def roc_auc(y_true: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC by the rank-sum formula (ties get average ranks); NaN when one class is absent."""
    y = np.asarray(y_true, dtype=bool)
    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(score, kind="mergesort")
    ranks = np.empty(len(score))
    sorted_scores = np.asarray(score)[order]
    # Average ranks over ties.
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    average = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(average, counts)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


@dataclass(frozen=True)
class PairedComparison:
    metric: str
    champion: float
    challenger: float
    difference: float  # challenger minus champion
    ci_low: float
    ci_high: float
    n_rows: int
    n_bootstrap: int

    def as_dict(self) -> dict[str, float | int | str]:
        return asdict(self)


def compare_on_holdout(
    y_true: np.ndarray,
    champion_score: np.ndarray,
    challenger_score: np.ndarray,
    *,
    n_bootstrap: int = 300,
    confidence: float = 0.95,
    seed: int = 0,
) -> PairedComparison:
    """ROC AUC of both models on the same rows, and a bootstrap interval of their difference.

    The same resampled rows score both models (a paired design), so the interval reflects
    the difference between the models, not the noise of the holdout.
    """
    y = np.asarray(y_true, dtype=bool)
    champion_score = np.asarray(champion_score, dtype=float)
    challenger_score = np.asarray(challenger_score, dtype=float)
    if not (len(y) == len(champion_score) == len(challenger_score)):
        raise ValueError("labels and both score arrays must have the same length")
    rng = np.random.default_rng(seed)
    differences = np.empty(n_bootstrap)
    for b in range(n_bootstrap):  # one resample per iteration, vectorised inside
        rows = rng.integers(0, len(y), size=len(y))
        differences[b] = roc_auc(y[rows], challenger_score[rows]) - roc_auc(
            y[rows], champion_score[rows]
        )
    alpha = (1 - confidence) / 2
    finite = differences[np.isfinite(differences)]
    low, high = np.quantile(finite, [alpha, 1 - alpha]) if len(finite) else (np.nan, np.nan)
    champion_auc = roc_auc(y, champion_score)
    challenger_auc = roc_auc(y, challenger_score)
    return PairedComparison(
        metric="roc_auc",
        champion=champion_auc,
        challenger=challenger_auc,
        difference=challenger_auc - champion_auc,
        ci_low=float(low),
        ci_high=float(high),
        n_rows=len(y),
        n_bootstrap=n_bootstrap,
    )
