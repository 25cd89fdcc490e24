"""The champion models the twin's price and marketing effects are measured on.

Each is loaded by alias with its artifact hash checked against the one recorded at
registration, through `ml.promotion.load_verified_model`: the churn champion
(`churn_lgbm@champion`, scikit-learn flavour), the marketing-ROI champion
(`marketing_mmm@champion`, a pyfunc holding the fitted response curves) and the demand
forecaster champion (`demand_forecaster@champion`, a pyfunc holding one fitted forecaster per
product-region series).
"""

from __future__ import annotations

import mlflow
import pandas as pd

from ml.churn import predict_churn
from ml.promotion import load_verified_model
from ml.tracking import CHAMPION, CHURN_MODEL_NAME, MlflowSettings, alias_version
from ml.tracking_forecast import MODEL_NAMES
from orchestration.resources import MlflowResource
from simulation.twin_parameters import EffectChampions, TwinParameters

MARKETING_MODEL_NAME = MODEL_NAMES["marketing_roi"]
DEMAND_MODEL_NAME = MODEL_NAMES["demand"]
EFFECT_CHAMPION_ASSETS = ["churn_model", "marketing_roi", "demand_forecaster"]


def load_verified_response_curves(
    settings: MlflowSettings, name: str = MARKETING_MODEL_NAME, alias: str = CHAMPION
) -> tuple[pd.DataFrame, str]:
    """The response curves of `name@alias` (one row per channel) and its version, hash-checked."""
    if alias_version(settings, name, alias) is None:
        raise LookupError(
            f"model {name!r} has no {alias!r} alias in {settings.tracking_uri}: materialize the "
            "marketing_roi asset first; the twin's marketing elasticity is measured on it"
        )
    wrapper, version = load_verified_model(settings, name, alias, loader=mlflow.pyfunc.load_model)
    model = wrapper.unwrap_python_model()
    curves = getattr(model, "response", None)
    if not isinstance(curves, pd.DataFrame):
        raise TypeError(
            f"{name} v{version} holds a {type(model).__name__}, not the media-mix response "
            "model (ml.tracking_forecast.ChannelResponseModel): its curves cannot be read"
        )
    return curves.reset_index(), str(version)


def load_effect_champions(mlflow_resource: MlflowResource) -> EffectChampions:
    """The churn, marketing-ROI and demand champions, ready for `simulation.twin_parameters`."""
    settings = mlflow_resource.settings
    try:
        churn, churn_version = load_verified_model(settings, CHURN_MODEL_NAME, CHAMPION)
    except LookupError as error:
        raise LookupError(
            f"{error}: materialize the churn_model asset first; the twin's churn price "
            "elasticity is measured on the churn champion"
        ) from error
    curves, marketing_version = load_verified_response_curves(settings)
    try:
        bundle, demand_version = load_verified_model(
            settings, DEMAND_MODEL_NAME, CHAMPION, loader=mlflow.pyfunc.load_model
        )
    except LookupError as error:
        raise LookupError(
            f"{error}: materialize the demand_forecaster asset first; the twin's product demand "
            "price elasticity is measured on the demand champion"
        ) from error
    return EffectChampions(
        churn_scorer=lambda rows: predict_churn(churn, rows),
        churn_version=str(churn_version),
        marketing_responses=curves,
        marketing_version=marketing_version,
        demand_forecasters=bundle.unwrap_python_model().forecasters,
        demand_version=str(demand_version),
    )


def effects_metadata(parameters: TwinParameters) -> dict[str, float | str]:
    """Measured elasticities, their model versions and the truth-based values, for metadata."""
    measured = parameters.measured_effects
    if measured is None:
        return {}
    return {
        f"effects/{key}": value for key, value in measured.summary().items() if value is not None
    } | {"effects/source": measured.source}
