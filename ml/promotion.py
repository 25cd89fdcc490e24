"""Champion/challenger promotion: the rule, crash-safe alias moves, rollback, verified loading.

The rule (`PromotionRule`) promotes the challenger only when the lower bound of the paired
bootstrap interval of its ROC AUC gain exceeds a margin AND its Brier score is not worse than
the champion's beyond a tolerance. A tie, a NaN or a missing figure never promotes.

Moving the champion is crash-safe: an `intent` row goes to the ledger first, then the aliases
are written (`previous_champion`, then `champion`), then a `done` row. `reconcile_promotions`
finishes any intent left open by a crash, so re-running always converges to a champion that
passed the gate (or was restored from the ledger by a rollback).

Models are loaded through `load_verified_model`: the model version's artifact files are
downloaded, their sha256 is checked against the `artifact_sha256` tag recorded at registration
(`record_artifact_hash`), and only that verified copy is loaded.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from pydantic import BaseModel, ConfigDict, Field

from ml.churn import LABEL, predict_churn
from ml.compare import PairedComparison, compare_on_holdout
from ml.ledger import (
    BOOTSTRAP,
    DONE,
    INTENT,
    KEEP,
    PROMOTE,
    RECOVERED,
    ROLLBACK,
    LedgerEntry,
    append_entry,
    champion_history,
    incomplete_intents,
    read_ledger,
)
from ml.tracking import CHALLENGER, CHAMPION, MlflowSettings, alias_version, file_sha256

PREVIOUS_CHAMPION = "previous_champion"
ARTIFACT_HASH_TAG = "artifact_sha256"


class ArtifactIntegrityError(RuntimeError):
    """A model's files do not match the hash recorded at registration (or none was recorded)."""


class PromotionRule(BaseModel):
    """When a challenger replaces the champion. Explicit, configurable, logged with each decision."""

    model_config = ConfigDict(frozen=True)

    auc_margin: float = Field(
        default=0.005,
        ge=0,
        description="The bootstrap CI lower bound of (challenger - champion) ROC AUC must exceed this.",
    )
    brier_tolerance: float = Field(
        default=0.002,
        ge=0,
        description="The challenger's Brier score may exceed the champion's by at most this.",
    )
    confidence: float = Field(
        default=0.95, gt=0.5, lt=1, description="Coverage of the bootstrap interval."
    )
    n_bootstrap: int = Field(default=300, ge=50, description="Paired bootstrap resamples.")
    seed: int = Field(default=0, description="Seed of the bootstrap.")


@dataclass(frozen=True)
class PromotionEvidence:
    """Both models on the same holdout rows."""

    comparison: PairedComparison
    champion_brier: float
    challenger_brier: float


@dataclass(frozen=True)
class PromotionDecision:
    action: str  # PROMOTE or KEEP
    reason: str


def brier_score(y_true: np.ndarray, probability: np.ndarray) -> float:
    """Mean squared error of probabilities; NaN for an empty holdout."""
    y = np.asarray(y_true, dtype=float)
    p = np.asarray(probability, dtype=float)
    return float(np.mean((p - y) ** 2)) if len(y) else float("nan")


def evaluate_pair(
    y_true: np.ndarray,
    champion_probability: np.ndarray,
    challenger_probability: np.ndarray,
    rule: PromotionRule,
) -> PromotionEvidence:
    """Paired bootstrap of the ROC AUC difference and both Brier scores on the same rows."""
    comparison = compare_on_holdout(
        y_true,
        champion_probability,
        challenger_probability,
        n_bootstrap=rule.n_bootstrap,
        confidence=rule.confidence,
        seed=rule.seed,
    )
    return PromotionEvidence(
        comparison=comparison,
        champion_brier=brier_score(y_true, champion_probability),
        challenger_brier=brier_score(y_true, challenger_probability),
    )


def decide(evidence: PromotionEvidence, rule: PromotionRule) -> PromotionDecision:
    """Apply the rule. Anything not finite, or not strictly better by the margin, keeps."""
    c = evidence.comparison
    figures = [
        c.champion,
        c.challenger,
        c.ci_low,
        evidence.champion_brier,
        evidence.challenger_brier,
    ]
    if not all(np.isfinite(figures)):
        return PromotionDecision(KEEP, f"a figure is not finite ({figures}): never promote on NaN")
    if not c.ci_low > rule.auc_margin:
        return PromotionDecision(
            KEEP,
            f"ROC AUC gain CI lower bound {c.ci_low:.4f} is not above the margin {rule.auc_margin:.4f}",
        )
    brier_excess = evidence.challenger_brier - evidence.champion_brier
    if not brier_excess <= rule.brier_tolerance:
        return PromotionDecision(
            KEEP,
            f"Brier worse by {brier_excess:.4f}, beyond the tolerance {rule.brier_tolerance:.4f}",
        )
    return PromotionDecision(
        PROMOTE,
        f"ROC AUC gain CI lower bound {c.ci_low:.4f} > margin {rule.auc_margin:.4f} and Brier "
        f"change {brier_excess:+.4f} <= tolerance {rule.brier_tolerance:.4f}",
    )


# --- artifact integrity -------------------------------------------------------------------


def directory_sha256(folder: Path) -> str:
    """One sha256 over every file's relative path and content hash, in path order."""
    digest = hashlib.sha256()
    files = sorted(p for p in Path(folder).rglob("*") if p.is_file())
    if not files:
        raise ArtifactIntegrityError(f"no model files found under {folder}")
    for path in files:
        digest.update(f"{path.relative_to(folder).as_posix()}\0{file_sha256(path)}\n".encode())
    return digest.hexdigest()


def _download_model_version(settings: MlflowSettings, name: str, version: str, dst: Path) -> Path:
    settings.activate()
    return Path(
        mlflow.artifacts.download_artifacts(
            artifact_uri=f"models:/{name}/{version}", dst_path=str(dst)
        )
    )


def record_artifact_hash(settings: MlflowSettings, name: str, version: str) -> str:
    """Hash the version's artifact files and record it as the `artifact_sha256` version tag.

    Call it right after registration. An existing tag is never overwritten: a version's hash is
    recorded once, so a later tampering cannot be blessed by re-recording.
    """
    client = MlflowClient(settings.tracking_uri)
    existing = client.get_model_version(name, version).tags.get(ARTIFACT_HASH_TAG)
    if existing:
        return existing
    with tempfile.TemporaryDirectory() as tmp:
        sha = directory_sha256(_download_model_version(settings, name, version, Path(tmp)))
    client.set_model_version_tag(name, version, ARTIFACT_HASH_TAG, sha)
    return sha


def ensure_artifact_hashes(
    settings: MlflowSettings, name: str, aliases: tuple[str, ...]
) -> dict[str, str]:
    """Record the hash of each alias's version that has none yet (trust on first sight).

    For versions registered by code that does not call `record_artifact_hash` itself. The
    window between registration and this call is not covered; recording at registration is.
    """
    hashes = {}
    for alias in aliases:
        version = alias_version(settings, name, alias)
        if version is not None:
            hashes[alias] = record_artifact_hash(settings, name, version)
    return hashes


def load_verified_model(
    settings: MlflowSettings,
    name: str,
    alias: str,
    loader: Callable[[str], Any] | None = None,
) -> tuple[Any, str]:
    """The model behind `name@alias` and its version, after checking its artifact hash.

    The files are downloaded once, hashed and loaded from that same copy by `loader` (the
    model's MLflow flavour: `mlflow.sklearn.load_model` when None, or e.g.
    `mlflow.pyfunc.load_model`), so
    what is loaded is what was checked. Raises LookupError when the alias is not set and
    ArtifactIntegrityError when no hash was recorded or it differs.
    """
    version = alias_version(settings, name, alias)
    if version is None:
        raise LookupError(f"model {name!r} has no {alias!r} alias in {settings.tracking_uri}")
    expected = (
        MlflowClient(settings.tracking_uri)
        .get_model_version(name, version)
        .tags.get(ARTIFACT_HASH_TAG)
    )
    if not expected:
        raise ArtifactIntegrityError(
            f"{name} v{version} has no {ARTIFACT_HASH_TAG!r} tag: record it at registration with "
            "ml.promotion.record_artifact_hash before loading"
        )
    with tempfile.TemporaryDirectory() as tmp:
        local = _download_model_version(settings, name, version, Path(tmp))
        actual = directory_sha256(local)
        if actual != expected:
            raise ArtifactIntegrityError(
                f"refusing to load {name}@{alias} (v{version}): its artifact files hash to "
                f"{actual}, but {expected} was recorded at registration. The files were changed "
                "after registration; restore them or retrain."
            )
        model = (loader or mlflow.sklearn.load_model)(str(local))
    return model, version


# --- alias moves with the ledger ---------------------------------------------------------

AliasWriter = Callable[[MlflowClient, str, str, str], None]


def _write_alias(client: MlflowClient, name: str, alias: str, version: str) -> None:
    client.set_registered_model_alias(name, alias, version)


def _move_champion(
    settings: MlflowSettings,
    con: duckdb.DuckDBPyConnection,
    intent: LedgerEntry,
    *,
    close_status: str = DONE,
    write_alias: AliasWriter = _write_alias,
) -> LedgerEntry:
    """Write the aliases an intent asks for (idempotent), then close it in the ledger."""
    client = MlflowClient(settings.tracking_uri)
    if intent.champion_before is not None and intent.champion_before != intent.champion_after:
        write_alias(client, intent.model_name, PREVIOUS_CHAMPION, intent.champion_before)
    write_alias(client, intent.model_name, CHAMPION, str(intent.champion_after))
    done = intent.completed(close_status)
    append_entry(con, done)
    return done


def reconcile_promotions(
    settings: MlflowSettings, con: duckdb.DuckDBPyConnection, name: str
) -> list[LedgerEntry]:
    """Finish every intent a crash left open (oldest first) and return the closing rows.

    An intent is only written once its decision passed the gate (or is a rollback to a
    champion the ledger vouches for), so finishing it is always safe and idempotent.
    """
    return [
        _move_champion(settings, con, intent, close_status=RECOVERED)
        for intent in incomplete_intents(con, name)
    ]


def _ensure_bootstrap(
    settings: MlflowSettings, con: duckdb.DuckDBPyConnection, name: str, decided_by: str
) -> str:
    """The current champion; the first one (set by registration) is recorded as a bootstrap."""
    champion = alias_version(settings, name, CHAMPION)
    if champion is None:
        raise LookupError(f"model {name!r} has no champion: train and register it first")
    if not champion_history(con, name):
        append_entry(
            con,
            LedgerEntry(
                model_name=name,
                action=BOOTSTRAP,
                status=DONE,
                decided_by=decided_by,
                champion_after=champion,
                reason="first registered version became champion at registration; nothing to compare",
            ),
        )
    return champion


@dataclass(frozen=True)
class PromotionOutcome:
    entry: LedgerEntry  # the row that closed the decision
    evidence: PromotionEvidence | None
    recovered: list[LedgerEntry]


def promote_if_better(
    settings: MlflowSettings,
    con: duckdb.DuckDBPyConnection,
    name: str,
    holdout: pd.DataFrame,
    rule: PromotionRule,
    decided_by: str,
    *,
    write_alias: AliasWriter = _write_alias,
) -> PromotionOutcome:
    """Compare champion and challenger on `holdout`, apply the rule and record the decision.

    Open intents from an earlier crash are finished first. Both models are loaded with their
    artifact hash verified. `write_alias` is a seam for tests that inject a crash.
    """
    recovered = reconcile_promotions(settings, con, name)
    champion_before = _ensure_bootstrap(settings, con, name, decided_by)
    challenger = alias_version(settings, name, CHALLENGER)
    if challenger is None or challenger == champion_before:
        entry = LedgerEntry(
            model_name=name,
            action=KEEP,
            status=DONE,
            decided_by=decided_by,
            champion_before=champion_before,
            champion_after=champion_before,
            challenger_version=challenger,
            rule=rule.model_dump_json(),
            reason="no challenger other than the champion",
        )
        append_entry(con, entry)
        return PromotionOutcome(entry, None, recovered)
    champion_model, _ = load_verified_model(settings, name, CHAMPION)
    challenger_model, _ = load_verified_model(settings, name, CHALLENGER)
    y = holdout[LABEL].to_numpy(dtype=bool)
    evidence = evaluate_pair(
        y, predict_churn(champion_model, holdout), predict_churn(challenger_model, holdout), rule
    )
    decision = decide(evidence, rule)
    c = evidence.comparison
    entry = LedgerEntry(
        model_name=name,
        action=decision.action,
        status=INTENT if decision.action == PROMOTE else DONE,
        decided_by=decided_by,
        champion_before=champion_before,
        champion_after=challenger if decision.action == PROMOTE else champion_before,
        challenger_version=challenger,
        champion_roc_auc=c.champion,
        challenger_roc_auc=c.challenger,
        roc_auc_difference=c.difference,
        roc_auc_ci_low=c.ci_low,
        roc_auc_ci_high=c.ci_high,
        champion_brier=evidence.champion_brier,
        challenger_brier=evidence.challenger_brier,
        holdout_rows=c.n_rows,
        rule=rule.model_dump_json(),
        reason=decision.reason,
    )
    append_entry(con, entry)
    if decision.action == PROMOTE:
        entry = _move_champion(settings, con, entry, write_alias=write_alias)
    return PromotionOutcome(entry, evidence, recovered)


def rollback_champion(
    settings: MlflowSettings,
    con: duckdb.DuckDBPyConnection,
    name: str,
    decided_by: str,
    *,
    write_alias: AliasWriter = _write_alias,
) -> LedgerEntry:
    """Restore the champion before the current one, as the ledger records it.

    Fails when the ledger knows no earlier champion. The rollback is written intent-first like
    a promotion, so a crash in the middle is finished by `reconcile_promotions`.
    """
    reconcile_promotions(settings, con, name)
    current = _ensure_bootstrap(settings, con, name, decided_by)
    history = champion_history(con, name)
    if history[-1] != current:
        raise RuntimeError(
            f"{name}@champion is v{current} but the ledger's champion is v{history[-1]}: the alias "
            "was moved outside the ledger; fix it by hand before rolling back"
        )
    if len(history) < 2:
        raise LookupError(f"the ledger holds no champion of {name} before v{current}")
    intent = LedgerEntry(
        model_name=name,
        action=ROLLBACK,
        status=INTENT,
        decided_by=decided_by,
        champion_before=current,
        champion_after=history[-2],
        challenger_version=alias_version(settings, name, CHALLENGER),
        reason=f"rollback from v{current} to the previous champion v{history[-2]}",
    )
    append_entry(con, intent)
    return _move_champion(settings, con, intent, write_alias=write_alias)


def ledger_summary(con: duckdb.DuckDBPyConnection, name: str) -> pd.DataFrame:
    """The ledger's completed decisions, newest first, for display."""
    ledger = read_ledger(con, name)
    return ledger[ledger["status"] != INTENT].iloc[::-1].reset_index(drop=True)


def rule_from_json(text: str) -> PromotionRule:
    return PromotionRule(**json.loads(text))
