"""PNG charts of scenario runs for analysts: histograms and bar charts (headless)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: no display on servers and CI

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd


def binned_histogram_png(
    histogram: pd.DataFrame, path: Path, title: str, xlabel: str, unit: str
) -> Path:
    """Bars of pooled counts per bin (``bin_low``, ``bin_high``, ``count``), as shares."""
    labels = [
        f"{low:g}+" if np.isinf(high) else f"{low:g}–{high:g}"
        for low, high in zip(histogram["bin_low"], histogram["bin_high"], strict=True)
    ]
    total = max(float(histogram["count"].sum()), 1.0)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.bar(labels, histogram["count"] / total)
    ax.set_xlabel(f"{xlabel} ({unit})")
    ax.set_ylabel("share")
    ax.set_title(title)
    ax.tick_params(axis="x", rotation=45)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def highlighted_bar_chart_png(
    labels: Sequence[str],
    values: Sequence[float],
    highlight: str | None,
    path: Path,
    title: str,
    xlabel: str,
    reference: float | None = None,
) -> Path:
    """Horizontal bars, the ``highlight`` one in red (e.g. the bottleneck), optional line."""
    fig, ax = plt.subplots(figsize=(7, 0.5 * len(labels) + 1.5))
    colours = ["tab:red" if label == highlight else "tab:blue" for label in labels]
    ax.barh(list(labels)[::-1], list(values)[::-1], color=colours[::-1])
    if reference is not None:
        ax.axvline(reference, color="grey", linestyle="--")
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def comparison_chart_png(comparison: pd.DataFrame, path: Path, title: str) -> Path:
    """Relative difference to the baseline with its confidence interval, one panel per KPI."""
    kpis = list(dict.fromkeys(comparison["kpi"]))
    fig, axes = plt.subplots(
        len(kpis), 1, figsize=(8, 1.0 + 1.3 * len(kpis) * 1.0), squeeze=False, sharex=False
    )
    for ax, kpi in zip(axes[:, 0], kpis, strict=True):
        rows = comparison[comparison["kpi"] == kpi]
        base = rows["baseline_mean"].abs().replace(0, np.nan)
        centre = 100 * rows["difference"] / base
        error = 100 * rows["half_width"] / base
        ax.errorbar(centre, rows["scenario"], xerr=error, fmt="o", capsize=3)
        ax.axvline(0, color="grey", linestyle="--")
        ax.set_title(kpi, fontsize=9)
        ax.tick_params(labelsize=8)
    axes[-1, 0].set_xlabel("difference to baseline (%), with confidence interval")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
