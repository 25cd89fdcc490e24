"""Metadata helpers shared by assets: previews a user can read in the Dagster UI."""

from __future__ import annotations

import pandas as pd


def table_preview(frame: pd.DataFrame, rows: int = 5) -> str:
    """The first rows of a frame as a markdown table."""
    return frame.head(rows).to_markdown(index=False) if not frame.empty else "_(empty)_"
