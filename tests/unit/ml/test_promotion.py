"""Promotion rule, ledger, crash recovery, rollback and verified loading on tmp MLflow stores."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from ml.churn import LABEL, ChurnTrainingConfig, time_split, train_churn_model
from ml.compare import PairedComparison
from ml.ledger import (
    BOOTSTRAP,
    DONE,
    INTENT,
    KEEP,
    PROMOTE,
    RECOVERED,
    ROLLBACK,
    champion_history,
    incomplete_intents,
    read_ledger,
)
from ml.promotion import (
    ARTIFACT_HASH_TAG,
    PREVIOUS_CHAMPION,
    ArtifactIntegrityError,
    PromotionEvidence,
    PromotionRule,
    decide,
    load_verified_model,
    promote_if_better,
    reconcile_promotions,
    record_artifact_hash,
    rollback_champion,
)
from ml.tracking import (
    CHALLENGER,
    CHAMPION,
    CHURN_MODEL_NAME,
    MlflowSettings,
    alias_version,
    log_churn_training,
)

FAST = ChurnTrainingConfig(n_estimators=30)
RULE = PromotionRule(n_bootstrap=100)


@pytest.fixture(scope="module")
def good_model(customer_months):
    return train_churn_model(customer_months, FAST)


@pytest.fixture(scope="module")
def noise_model(customer_months):
    """Trained on shuffled labels: no better than chance on the real holdout."""
    shuffled = customer_months.copy()
    shuffled[LABEL] = np.random.default_rng(0).permutation(shuffled[LABEL].to_numpy())
    return train_churn_model(shuffled, FAST)


@pytest.fixture(scope="module")
def holdout(customer_months):
    return time_split(customer_months, 2)[1]


@pytest.fixture(scope="module")
def registry(tmp_path_factory, noise_model, good_model) -> dict[str, str]:
    """One store for the module (creating one costs seconds): v1 noise, v2 good, v3 = v2 again.

    Each test points the aliases where its scenario needs them and keeps its own ledger.
    """
    settings = MlflowSettings.local(tmp_path_factory.mktemp("mlflow"))
    versions = {
        "settings": settings,
        "noise": register(settings, noise_model),
        "good": register(settings, good_model),
        "good_again": register(settings, good_model),
    }
    return versions


@pytest.fixture
def settings(registry) -> MlflowSettings:
    return registry["settings"]


def point_aliases(settings: MlflowSettings, champion: str, challenger: str) -> None:
    client = MlflowClient(settings.tracking_uri)
    client.set_registered_model_alias(CHURN_MODEL_NAME, CHAMPION, champion)
    client.set_registered_model_alias(CHURN_MODEL_NAME, CHALLENGER, challenger)
    if alias_version(settings, CHURN_MODEL_NAME, PREVIOUS_CHAMPION) is not None:
        client.delete_registered_model_alias(CHURN_MODEL_NAME, PREVIOUS_CHAMPION)


@pytest.fixture
def ledger_db(tmp_path):
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    yield con
    con.close()


def register(settings: MlflowSettings, result) -> str:
    """Register as our training asset does, then record the artifact hash."""
    version = log_churn_training(settings, result, FAST, {"world_seed": "test"}).version
    record_artifact_hash(settings, CHURN_MODEL_NAME, version)
    return version


def evidence(ci_low: float, champion_brier: float = 0.1, challenger_brier: float = 0.1):
    comparison = PairedComparison(
        "roc_auc", 0.7, 0.7 + ci_low, ci_low, ci_low, ci_low + 0.02, 500, 100
    )
    return PromotionEvidence(comparison, champion_brier, challenger_brier)


def test_rule_promotes_only_a_clear_gain_without_worse_calibration():
    rule = PromotionRule(auc_margin=0.01, brier_tolerance=0.001)
    assert decide(evidence(0.02), rule).action == PROMOTE
    assert decide(evidence(0.01), rule).action == KEEP  # equal to the margin is not above it
    assert decide(evidence(0.0), PromotionRule(auc_margin=0.0)).action == KEEP  # a tie
    assert decide(evidence(0.02, 0.10, 0.102), rule).action == KEEP  # calibration worse
    assert decide(evidence(float("nan")), rule).action == KEEP
    assert decide(evidence(0.02, float("nan")), rule).action == KEEP


def test_better_challenger_is_promoted_and_the_ledger_keeps_both_figures(
    settings, registry, ledger_db, holdout
):
    bad, good = registry["noise"], registry["good"]
    point_aliases(settings, champion=bad, challenger=good)
    outcome = promote_if_better(settings, ledger_db, CHURN_MODEL_NAME, holdout, RULE, "tester")
    assert outcome.entry.action == PROMOTE
    assert alias_version(settings, CHURN_MODEL_NAME, CHAMPION) == good
    assert alias_version(settings, CHURN_MODEL_NAME, PREVIOUS_CHAMPION) == bad
    ledger = read_ledger(ledger_db, CHURN_MODEL_NAME)
    assert list(zip(ledger["action"], ledger["status"], strict=True)) == [
        (BOOTSTRAP, DONE),
        (PROMOTE, INTENT),
        (PROMOTE, DONE),
    ]
    done = ledger.iloc[-1]
    assert (done["champion_before"], done["champion_after"], done["decided_by"]) == (
        bad,
        good,
        "tester",
    )
    assert done["challenger_roc_auc"] > done["champion_roc_auc"] + 0.1
    assert np.isfinite(done["champion_brier"]) and np.isfinite(done["challenger_brier"])


@pytest.mark.parametrize("challenger_kind", ["worse", "equal"])
def test_worse_or_equal_challenger_is_not_promoted(
    settings, registry, ledger_db, holdout, challenger_kind
):
    champion = registry["good"]
    challenger = registry["noise" if challenger_kind == "worse" else "good_again"]
    point_aliases(settings, champion=champion, challenger=challenger)
    outcome = promote_if_better(settings, ledger_db, CHURN_MODEL_NAME, holdout, RULE, "tester")
    assert outcome.entry.action == KEEP
    assert alias_version(settings, CHURN_MODEL_NAME, CHAMPION) == champion
    assert read_ledger(ledger_db, CHURN_MODEL_NAME)["status"].tolist() == [DONE, DONE]


def test_rollback_restores_the_previous_champion_from_the_ledger(
    settings, registry, ledger_db, holdout
):
    first, second = registry["noise"], registry["good"]
    point_aliases(settings, champion=first, challenger=second)
    promote_if_better(settings, ledger_db, CHURN_MODEL_NAME, holdout, RULE, "tester")
    entry = rollback_champion(settings, ledger_db, CHURN_MODEL_NAME, "on-call")
    assert (entry.action, entry.champion_before, entry.champion_after) == (ROLLBACK, second, first)
    assert alias_version(settings, CHURN_MODEL_NAME, CHAMPION) == first
    assert champion_history(ledger_db, CHURN_MODEL_NAME) == [first]
    with pytest.raises(LookupError, match="no champion of"):
        rollback_champion(settings, ledger_db, CHURN_MODEL_NAME, "on-call")


class CrashAfterFirstAliasWrite(RuntimeError):
    pass


def test_crash_between_alias_writes_is_finished_on_the_next_start(
    settings, registry, ledger_db, holdout
):
    bad, good = registry["noise"], registry["good"]
    point_aliases(settings, champion=bad, challenger=good)
    writes: list[str] = []

    def crash_after_first(client, name, alias, version):
        if writes:
            raise CrashAfterFirstAliasWrite(f"killed before setting {alias}")
        writes.append(alias)
        client.set_registered_model_alias(name, alias, version)

    with pytest.raises(CrashAfterFirstAliasWrite):
        promote_if_better(
            settings, ledger_db, CHURN_MODEL_NAME, holdout, RULE, "t", write_alias=crash_after_first
        )
    # Half-way: the previous-champion alias moved, the champion did not, the intent is open.
    assert alias_version(settings, CHURN_MODEL_NAME, PREVIOUS_CHAMPION) == bad
    assert alias_version(settings, CHURN_MODEL_NAME, CHAMPION) == bad
    assert len(incomplete_intents(ledger_db, CHURN_MODEL_NAME)) == 1

    recovered = reconcile_promotions(settings, ledger_db, CHURN_MODEL_NAME)
    assert [r.status for r in recovered] == [RECOVERED]
    assert alias_version(settings, CHURN_MODEL_NAME, CHAMPION) == good  # the gate-passed version
    assert incomplete_intents(ledger_db, CHURN_MODEL_NAME) == []
    assert reconcile_promotions(settings, ledger_db, CHURN_MODEL_NAME) == []  # converged
    assert champion_history(ledger_db, CHURN_MODEL_NAME) == [bad, good]


def test_tampered_model_artifact_is_refused(tmp_path, good_model):
    settings = MlflowSettings.local(tmp_path)  # its own store: this test damages a file
    version = register(settings, good_model)
    model, loaded_version = load_verified_model(settings, CHURN_MODEL_NAME, CHAMPION)
    assert loaded_version == version and hasattr(model, "predict_proba")
    root = Path(settings.artifact_root.removeprefix("file://"))
    (model_file,) = [p for p in root.rglob("model.skops") if p.is_file()]
    model_file.write_bytes(model_file.read_bytes() + b"tampered")
    with pytest.raises(ArtifactIntegrityError, match="refusing to load"):
        load_verified_model(settings, CHURN_MODEL_NAME, CHAMPION)
    # Re-recording cannot bless the tampered files: the first hash stays.
    record_artifact_hash(settings, CHURN_MODEL_NAME, version)
    with pytest.raises(ArtifactIntegrityError):
        load_verified_model(settings, CHURN_MODEL_NAME, CHALLENGER)

    # Registration records the hash; a version whose hash is missing (registered by other
    # tooling, or the tag removed) is refused too.
    newest = log_churn_training(settings, good_model, FAST, {}).version
    client = MlflowClient(settings.tracking_uri)
    assert client.get_model_version(CHURN_MODEL_NAME, newest).tags.get(ARTIFACT_HASH_TAG)
    client.delete_model_version_tag(CHURN_MODEL_NAME, newest, ARTIFACT_HASH_TAG)
    with pytest.raises(ArtifactIntegrityError, match="no 'artifact_sha256' tag"):
        load_verified_model(settings, CHURN_MODEL_NAME, CHALLENGER)


def test_ledger_rows_are_typed_and_ordered(ledger_db):
    from ml.ledger import LedgerEntry, append_entry

    for action in (BOOTSTRAP, KEEP):
        append_entry(
            ledger_db, LedgerEntry(CHURN_MODEL_NAME, action, DONE, "t", "why", champion_after="1")
        )
    ledger = read_ledger(ledger_db, CHURN_MODEL_NAME)
    assert ledger["sequence"].tolist() == [1, 2]
    assert isinstance(ledger["recorded_at"].iloc[0], pd.Timestamp)
    with pytest.raises(ValueError, match="unknown ledger action"):
        LedgerEntry(CHURN_MODEL_NAME, "delete", DONE, "t", "why")


def test_rollback_cli_restores_the_previous_champion(settings, registry, holdout, capsys):
    from ml.rollback import main

    home = Path(settings.tracking_uri.removeprefix("sqlite:///")).parent
    point_aliases(settings, champion=registry["noise"], challenger=registry["good"])
    con = duckdb.connect(str(home / "warehouse.duckdb"))
    promote_if_better(settings, con, CHURN_MODEL_NAME, holdout, RULE, "tester")
    con.close()
    assert main(["--model", CHURN_MODEL_NAME, "--home", str(home), "--by", "on-call"]) == 0
    assert alias_version(settings, CHURN_MODEL_NAME, CHAMPION) == registry["noise"]
    assert f"v{registry['good']} -> v{registry['noise']}" in capsys.readouterr().out
