"""User files: a sensor watches `landing/<table>/` and a job upserts each new file."""

import dagster as dg
from pydantic import Field

from ingestion.landing import ingest_landing_file, pending_landing_files, unknown_landing_folders
from orchestration.defs.ingestion.assets import raw_asset_key
from orchestration.paths import StatePaths
from orchestration.resources import WarehouseResource


class LandingFileConfig(dg.Config):
    table: str = Field(description="Raw table the file belongs to (its folder under landing/).")
    relative_path: str = Field(description="Path of the file inside landing/<table>/.")


@dg.op(pool="warehouse")
def ingest_landing_file_op(
    context: dg.OpExecutionContext, config: LandingFileConfig, warehouse: WarehouseResource
):
    """Upsert one landing file into raw.<table>, quarantining bad rows, then validate the table."""
    landing = StatePaths.from_env().landing
    with warehouse.connect() as con:
        loaded, suite = ingest_landing_file(con, landing, config.table, config.relative_path)
    context.log_event(
        dg.AssetMaterialization(
            asset_key=raw_asset_key(config.table),
            description=f"upserted from landing/{config.table}/{config.relative_path}",
            metadata=loaded.to_metadata() | {"contract_suite_passed": suite.success},
        )
    )
    if not suite.success:
        failed = ", ".join(f"{o.expectation}({o.column})" for o in suite.failed)
        raise dg.Failure(
            description=f"raw.{config.table} breaks its contract after loading landing/{config.table}/{config.relative_path}: {failed}",
            metadata={"expectations": dg.MetadataValue.json(suite.to_metadata())},
        )


@dg.job(description="Upsert one landing file into its raw table (launched by landing_files).")
def ingest_landing_file_job():
    ingest_landing_file_op()


@dg.sensor(
    job=ingest_landing_file_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def landing_files(context: dg.SensorEvaluationContext):
    """One run per new or replaced file in `$TWINOPS_HOME/landing/<table>/` (CSV or Parquet)."""
    landing = StatePaths.from_env().landing
    for folder in unknown_landing_folders(landing):
        context.log.warning(
            f"landing/{folder}/ names no table with a contract; its files are ignored"
        )
    requests = [
        dg.RunRequest(
            run_key=file.run_key,
            run_config={
                "ops": {
                    "ingest_landing_file_op": {
                        "config": {"table": file.table, "relative_path": file.relative_path}
                    }
                }
            },
            tags={"twinops/landing_file": f"{file.table}/{file.relative_path}"},
        )
        for file in pending_landing_files(landing)
    ]
    if not requests:
        return dg.SkipReason(f"no files in {landing}")
    return requests
