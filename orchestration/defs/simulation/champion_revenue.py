"""The revenue model of today's customers as the champion churn model scores them."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ml.churn import predict_churn
from ml.promotion import load_verified_model
from ml.tracking import CHAMPION, CHURN_MODEL_NAME
from orchestration.resources import MlflowResource, WarehouseResource
from orchestration.warehouse_reads import churn_features
from simulation.engines.finance import RevenueModel
from simulation.revenue_forecast import revenue_model_from_scored_customers


@dataclass(frozen=True)
class ChampionRevenueModel:
    """The revenue model, the champion version behind it and the month it starts after."""

    model: RevenueModel
    champion_version: str
    as_of: pd.Timestamp
    current_monthly_revenue: float


def champion_revenue_model(
    warehouse: WarehouseResource, mlflow: MlflowResource
) -> ChampionRevenueModel:
    """Score the feature mart's newest month with `churn_lgbm@champion` and build the model."""
    # The artifact's hash is checked against the one recorded at registration: no tampered model.
    model, version = load_verified_model(mlflow.settings, CHURN_MODEL_NAME, CHAMPION)
    with warehouse.connect(read_only=True) as con:
        features = churn_features(con)
        customers = con.execute("select * from raw.customers").df()
    latest = features[features["month_start"] == features["month_start"].max()].copy()
    latest["predicted_churn_probability"] = predict_churn(model, latest)
    as_of = pd.Timestamp(latest["month_end"].max())
    revenue_model = revenue_model_from_scored_customers(
        latest, customers, as_of, pd.Timestamp(features["month_start"].min())
    )
    return ChampionRevenueModel(
        model=revenue_model,
        champion_version=str(version),
        as_of=as_of,
        current_monthly_revenue=float(latest["monthly_price"].sum()),
    )
