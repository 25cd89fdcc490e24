"""Feature and prediction drift with Evidently, judged by our own explicit rule.

Evidently computes one score per column with the method we name (never its defaults, which
switch between p-values and distances at 1,000 rows). Our rule then decides: a column has
drifted when its score crosses the threshold we set, and the dataset has drifted when the
share of drifted columns reaches `share_threshold`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently.metrics import ValueDrift
from pydantic import BaseModel, ConfigDict, Field

# Methods whose score is a p-value (drift when below the threshold); the rest are distances.
P_VALUE_METHODS = frozenset(
    {
        "ks",
        "chisquare",
        "z",
        "fisher_exact",
        "t_test",
        "anderson",
        "cramer_von_mises",
        "mannw",
        "g_test",
    }
)


class DriftRule(BaseModel):
    """The decision rule for drift. Explicit and configurable, not Evidently's default."""

    model_config = ConfigDict(frozen=True)

    numeric_method: str = Field(
        default="wasserstein", description="Evidently method for numeric columns."
    )
    numeric_threshold: float = Field(
        default=0.1, gt=0, description="Score at which a numeric column drifts."
    )
    categorical_method: str = Field(
        default="jensenshannon", description="Evidently method for categorical columns."
    )
    categorical_threshold: float = Field(
        default=0.1, gt=0, description="Score at which a categorical column drifts."
    )
    share_threshold: float = Field(
        default=0.25,
        gt=0,
        le=1,
        description="Share of drifted columns at which the dataset has drifted.",
    )
    max_rows: int = Field(
        default=20_000,
        ge=100,
        description="Rows sampled from each side, so that reports stay quick to open.",
    )
    seed: int = Field(default=0, description="Seed of the row sampling.")


def column_drifted(method: str, score: float, threshold: float) -> bool:
    """A p-value drifts below its threshold; a distance drifts at or above it."""
    if not np.isfinite(score):
        return False
    return score < threshold if method in P_VALUE_METHODS else score >= threshold


@dataclass
class DriftResult:
    columns: pd.DataFrame  # column, kind, method, threshold, score, drifted
    share_drifted: float
    dataset_drifted: bool
    reference_rows: int
    current_rows: int
    report: object  # evidently Snapshot, for HTML export

    def save_html(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.report.save_html(str(path))
        return path


def _sample(frame: pd.DataFrame, max_rows: int, seed: int) -> pd.DataFrame:
    if len(frame) <= max_rows:
        return frame.reset_index(drop=True)
    return frame.sample(n=max_rows, random_state=seed).reset_index(drop=True)


def detect_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    numeric_columns: list[str],
    categorical_columns: list[str],
    rule: DriftRule,
) -> DriftResult:
    """Score every column of `current` against `reference` and apply `rule`."""
    if reference.empty or current.empty:
        raise ValueError(
            f"drift needs rows on both sides: reference={len(reference)}, current={len(current)}"
        )
    columns = numeric_columns + categorical_columns
    ref = _sample(reference[columns], rule.max_rows, rule.seed)
    cur = _sample(current[columns], rule.max_rows, rule.seed + 1)
    for name in numeric_columns:
        ref[name] = ref[name].astype("float64")
        cur[name] = cur[name].astype("float64")
    for name in categorical_columns:
        ref[name] = ref[name].astype("str")
        cur[name] = cur[name].astype("str")
    definition = DataDefinition(
        numerical_columns=numeric_columns, categorical_columns=categorical_columns
    )
    metrics = [
        ValueDrift(column=name, method=rule.numeric_method, threshold=rule.numeric_threshold)
        for name in numeric_columns
    ]
    metrics += [
        ValueDrift(
            column=name, method=rule.categorical_method, threshold=rule.categorical_threshold
        )
        for name in categorical_columns
    ]
    snapshot = Report(metrics).run(
        Dataset.from_pandas(cur, data_definition=definition),
        Dataset.from_pandas(ref, data_definition=definition),
    )
    rows = []
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        score = float(metric["value"])
        kind = "numeric" if config["column"] in numeric_columns else "categorical"
        rows.append(
            {
                "column_name": config["column"],
                "kind": kind,
                "method": config["method"],
                "threshold": float(config["threshold"]),
                "score": score,
                "drifted": column_drifted(config["method"], score, float(config["threshold"])),
            }
        )
    table = pd.DataFrame(rows)
    share = float(table["drifted"].mean())
    return DriftResult(
        columns=table,
        share_drifted=share,
        dataset_drifted=share >= rule.share_threshold,
        reference_rows=len(ref),
        current_rows=len(cur),
        report=snapshot,
    )
