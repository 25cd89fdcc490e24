"""MLflow tracking and registry: experiments, runs, registered versions and aliases.

Only the driver process calls these functions, so the sqlite backend never sees two writers.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature

from ml.churn import FEATURES, NUMERIC_FEATURES, ChurnTrainingConfig, ChurnTrainingResult
from ml.plots import calibration_png, feature_importance_png

CHAMPION = "champion"
CHALLENGER = "challenger"
CHURN_EXPERIMENT = "churn"
CHURN_MODEL_NAME = "churn_lgbm"
# Pinned so that log_model does not infer requirements in a subprocess (7–9 s each).
MODEL_REQUIREMENTS = ["lightgbm==4.7.0", "scikit-learn==1.9.1", "pandas==3.0.6", "numpy==2.4.6"]
SKOPS_TRUSTED_TYPES = [
    "collections.OrderedDict",
    "lightgbm.basic.Booster",
    "lightgbm.sklearn.LGBMClassifier",
    "ml.churn.FeatureFrame",
]


@dataclass(frozen=True)
class MlflowSettings:
    """Where tracking and artifacts live. Defaults are local files under the state folder."""

    tracking_uri: str
    artifact_root: str

    @classmethod
    def local(cls, state_dir: Path) -> MlflowSettings:
        state_dir = Path(state_dir).resolve()
        return cls(
            tracking_uri=f"sqlite:///{state_dir / 'mlflow.db'}",
            artifact_root=(state_dir / "mlartifacts").as_uri(),
        )

    def activate(self) -> None:
        mlflow.set_tracking_uri(self.tracking_uri)

    def experiment_id(self, name: str) -> str:
        """Id of experiment `name`, created with an artifact location under `artifact_root`."""
        self.activate()
        experiment = mlflow.get_experiment_by_name(name)
        if experiment is not None:
            return experiment.experiment_id
        return mlflow.create_experiment(name, artifact_location=f"{self.artifact_root}/{name}")


@dataclass(frozen=True)
class RegisteredVersion:
    name: str
    version: str
    run_id: str
    experiment_id: str
    model_uri: str
    aliases: tuple[str, ...]


def _model_card(
    result: ChurnTrainingResult, config: ChurnTrainingConfig, tags: dict[str, str]
) -> str:
    metrics = result.metrics()
    lines = [
        f"# Model card: {CHURN_MODEL_NAME}",
        "",
        "Predicts the probability that a subscribed customer cancels during the next calendar month.",
        "",
        "## Data",
        f"- Features: `features.customer_month_churn_features` ({len(FEATURES)} features, as of month end).",
        f"- Training rows: {result.train_rows}; holdout rows: {result.evaluation.n_rows} "
        f"(newest {config.holdout_months} labelled months).",
        f"- Data version: `{tags.get('data_version', 'unknown')}`; world seed: `{tags.get('world_seed', 'unknown')}`.",
        "",
        "## Holdout quality",
        "| metric | LightGBM | logistic baseline |",
        "|---|---|---|",
    ]
    for name in ("roc_auc", "pr_auc", "brier", "log_loss"):
        lines.append(f"| {name} | {metrics[name]:.4f} | {metrics['baseline_' + name]:.4f} |")
    if result.oracle_roc_auc is not None:
        lines += [
            "",
            f"Oracle ROC AUC (true probabilities): {result.oracle_roc_auc:.4f}; gap {result.oracle_auc_gap:.4f}.",
        ]
    lines += ["", "## Limits", "- Trained on one business; monthly granularity; no causal claims."]
    return "\n".join(lines) + "\n"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def log_churn_training(
    settings: MlflowSettings,
    result: ChurnTrainingResult,
    config: ChurnTrainingConfig,
    tags: dict[str, str],
) -> RegisteredVersion:
    """Log params, metrics, plots, the model card and the model; register it as challenger.

    The first version of the model also becomes champion.
    """
    experiment_id = settings.experiment_id(CHURN_EXPERIMENT)
    with mlflow.start_run(experiment_id=experiment_id, run_name="churn_lgbm", tags=tags) as run:
        mlflow.log_params(config.model_dump() | {"features": ",".join(FEATURES)})
        mlflow.log_metrics(result.metrics())
        # Numbers as float so that a missing value never breaks the signature's integer type.
        example = (
            result.holdout[list(FEATURES)]
            .head(5)
            .astype({name: "float64" for name in NUMERIC_FEATURES})
        )
        signature = infer_signature(example, result.model.predict_proba(example)[:, 1])
        with tempfile.TemporaryDirectory() as tmp:
            tmp_dir = Path(tmp)
            feature_importance_png(
                result.feature_importance(),
                tmp_dir / "feature_importance.png",
                "Churn model: feature importance",
            )
            calibration_png(
                result.evaluation.calibration,
                tmp_dir / "calibration.png",
                "Churn model: calibration on holdout",
            )
            (tmp_dir / "model_card.md").write_text(_model_card(result, config, tags))
            result.evaluation.calibration.to_csv(tmp_dir / "calibration.csv", index=False)
            mlflow.log_artifacts(str(tmp_dir), artifact_path="reports")
        info = mlflow.sklearn.log_model(
            result.model,
            name="model",
            signature=signature,
            input_example=example,
            pip_requirements=MODEL_REQUIREMENTS,
            registered_model_name=CHURN_MODEL_NAME,
            # MLflow saves sklearn models with skops, which loads only the types named here.
            skops_trusted_types=SKOPS_TRUSTED_TYPES,
        )
    version = str(info.registered_model_version)
    aliases = assign_new_version_aliases(settings, CHURN_MODEL_NAME, version)
    return RegisteredVersion(
        name=CHURN_MODEL_NAME,
        version=version,
        run_id=run.info.run_id,
        experiment_id=experiment_id,
        model_uri=f"models:/{CHURN_MODEL_NAME}/{version}",
        aliases=aliases,
    )


def assign_new_version_aliases(
    settings: MlflowSettings, name: str, version: str
) -> tuple[str, ...]:
    """Record the new version's artifact hash, then make it `challenger` (and `champion` if first).

    The hash comes first, so no alias ever points at a version that loading by alias could not
    verify. Later promotions go through ml.promotion's rule and ledger, never through here.
    """
    # ml.promotion builds on this module; imported here to avoid an import cycle.
    from ml.promotion import record_artifact_hash

    record_artifact_hash(settings, name, version)
    client = MlflowClient(settings.tracking_uri)
    client.set_registered_model_alias(name, CHALLENGER, version)
    if champion_version(settings, name) is not None:
        return (CHALLENGER,)
    client.set_registered_model_alias(name, CHAMPION, version)
    return (CHALLENGER, CHAMPION)


def champion_version(settings: MlflowSettings, name: str) -> str | None:
    return alias_version(settings, name, CHAMPION)


def alias_version(settings: MlflowSettings, name: str, alias: str) -> str | None:
    client = MlflowClient(settings.tracking_uri)
    try:
        return str(client.get_model_version_by_alias(name, alias).version)
    except MlflowException as error:
        if error.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            return None
        raise


def load_model_by_alias(settings: MlflowSettings, name: str, alias: str) -> tuple[Any, str]:
    """The model behind `name@alias` and its version. Fails if the alias is not set."""
    version = alias_version(settings, name, alias)
    if version is None:
        raise LookupError(
            f"model {name!r} has no {alias!r} alias in {settings.tracking_uri}: train it first"
        )
    settings.activate()
    return mlflow.sklearn.load_model(f"models:/{name}@{alias}"), version


def run_link(tracking_ui: str, experiment_id: str, run_id: str) -> str:
    return f"{tracking_ui.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"


def search_churn_runs(settings: MlflowSettings) -> pd.DataFrame:
    settings.activate()
    return mlflow.search_runs(experiment_names=[CHURN_EXPERIMENT], order_by=["start_time DESC"])
