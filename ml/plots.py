"""Plots for MLflow artifacts and analysts' reports (PNG, headless)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: no display on servers and CI

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd


def feature_importance_png(importance: pd.Series, path: Path, title: str) -> Path:
    top = importance.head(15)[::-1]
    fig, ax = plt.subplots(figsize=(7, 5))
    ax.barh(top.index, top.to_numpy())
    ax.set_xlabel("gain")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def calibration_png(calibration: pd.DataFrame, path: Path, title: str) -> Path:
    fig, ax = plt.subplots(figsize=(5, 5))
    limit = float(
        max(calibration["mean_predicted"].max(), calibration["observed_rate"].max(), 0.05)
    )
    ax.plot([0, limit], [0, limit], linestyle="--", color="grey", label="perfect")
    ax.plot(calibration["mean_predicted"], calibration["observed_rate"], marker="o", label="model")
    ax.set_xlabel("mean predicted churn probability")
    ax.set_ylabel("observed churn rate")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def fan_chart_png(
    months: pd.Series | np.ndarray,
    p5: np.ndarray,
    p50: np.ndarray,
    p95: np.ndarray,
    path: Path,
    title: str,
    ylabel: str,
) -> Path:
    fig, ax = plt.subplots(figsize=(8, 4.5))
    x = pd.to_datetime(pd.Series(months))
    ax.fill_between(x, p5, p95, alpha=0.25, label="P5–P95")
    ax.plot(x, p50, label="P50")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(loc="upper left")
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
