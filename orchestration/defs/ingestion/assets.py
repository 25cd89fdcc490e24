"""Raw tables from the built-in business: quarantine bad rows, load, validate with GX.

Entity tables (customers, products, teams, employees, suppliers) are loaded whole. Event
tables are partitioned by day; a backfill over many days runs as a single run that
generates the world once and loads the whole window in one transaction per table.
"""

import datetime as dt
from collections.abc import Iterator

import dagster as dg
import duckdb
import pandas as pd

from ingestion.contracts import ALL_CONTRACTS, TableContract
from ingestion.load import LoadResult, load_frame, parent_keys_from_warehouse
from ingestion.validation import SuiteResult, validate_table
from ingestion.warehouse import quote_identifier, replace_table
from orchestration.defs.ingestion.world import SyntheticBusinessResource
from orchestration.metadata import table_preview
from orchestration.partitions import daily_partitions
from orchestration.resources import WarehouseResource

CONTRACT_CHECK = "meets_contract"
TRUTH_SCHEMA = "truth"
ENTITY_CONTRACTS = tuple(c for c in ALL_CONTRACTS if c.partition_column is None)
EVENT_CONTRACTS = tuple(c for c in ALL_CONTRACTS if c.partition_column is not None)


def raw_asset_key(table: str) -> dg.AssetKey:
    """raw/<table>: asset keys name the warehouse schema and table, as dbt's do."""
    return dg.AssetKey(["raw", table])


def raw_spec(contract: TableContract, deps: list[dg.AssetKey]) -> dg.AssetSpec:
    return dg.AssetSpec(
        raw_asset_key(contract.name),
        description=f"raw.{contract.name}: {contract.description}",
        group_name="ingestion",
        kinds={"duckdb", "python"},
        tags={"department": contract.department},
        metadata={
            "dagster/table_name": f"raw.{contract.name}",
            "primary_key": ", ".join(contract.primary_key),
        },
        deps=deps,
    )


def contract_check(contract: TableContract) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        CONTRACT_CHECK,
        asset=raw_asset_key(contract.name),
        blocking=True,
        description="Great Expectations suite from the table contract: types, keys, ranges, values, references, freshness.",
    )


def parent_assets(contract: TableContract) -> list[dg.AssetKey]:
    return [
        raw_asset_key(fk.ref_table) for fk in contract.foreign_keys if fk.ref_table != contract.name
    ]


def load_and_validate(
    con: duckdb.DuckDBPyConnection,
    contract: TableContract,
    frame: pd.DataFrame,
    *,
    source: str,
    window: tuple[dt.date, dt.date] | None,
    as_of: dt.date | None,
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """Load one table (or one window of its days), then run its GX suite on what was loaded."""
    parents = parent_keys_from_warehouse(con, contract)
    loaded = load_frame(con, contract, frame, source=source, partition=window, parent_keys=parents)
    table = f"raw.{quote_identifier(contract.name)}"
    if window is None:
        stored = con.execute(f"select * from {table}").df()
    else:
        column = quote_identifier(contract.partition_column)
        stored = con.execute(
            f"select * from {table} where {column} between ? and ?", list(window)
        ).df()
    suite = validate_table(contract, stored, parent_keys=parents, as_of=as_of)
    yield _materialization(contract, loaded, stored)
    yield _check_result(contract, suite)


def _materialization(
    contract: TableContract, loaded: LoadResult, stored: pd.DataFrame
) -> dg.MaterializeResult:
    return dg.MaterializeResult(
        asset_key=raw_asset_key(contract.name),
        data_version=dg.DataVersion(loaded.content_hash),
        metadata={
            "dagster/row_count": loaded.loaded_rows,
            "quarantined_rows": loaded.quarantined_rows,
            "input_rows": loaded.input_rows,
            "content_hash": loaded.content_hash,
            "source": loaded.source,
            "load_id": loaded.load_id,
            "preview": dg.MetadataValue.md(table_preview(stored)),
        },
    )


def _check_result(contract: TableContract, suite: SuiteResult) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=raw_asset_key(contract.name),
        check_name=CONTRACT_CHECK,
        passed=suite.success,
        metadata={
            "evaluated_rows": suite.evaluated_rows,
            "expectations": dg.MetadataValue.json(suite.to_metadata()),
        },
    )


@dg.multi_asset(
    specs=[raw_spec(c, parent_assets(c)) for c in ENTITY_CONTRACTS]
    + [
        dg.AssetSpec(
            "world_ground_truth",
            description="The synthetic world's true parameters (truth.*): churn probabilities, ROI, regimes…",
            group_name="ingestion",
            kinds={"duckdb"},
        )
    ],
    check_specs=[contract_check(c) for c in ENTITY_CONTRACTS],
    pool="warehouse",
)
def business_entities(
    context: dg.AssetExecutionContext,
    business: SyntheticBusinessResource,
    warehouse: WarehouseResource,
):
    """Customers, products, teams, employees and suppliers of the built-in business, and its truth."""
    world = business.world()
    source = business.source
    with warehouse.connect() as con:
        for contract in ENTITY_CONTRACTS:  # parents first, so references resolve
            yield from load_and_validate(
                con, contract, world.tables[contract.name], source=source, window=None, as_of=None
            )
        for name, frame in world.truth.items():
            replace_table(con, TRUTH_SCHEMA, name, frame)
    yield dg.MaterializeResult(
        asset_key="world_ground_truth",
        metadata={
            "tables": dg.MetadataValue.json(
                {name: len(frame) for name, frame in world.truth.items()}
            ),
            "seed": business.seed,
            "preview": dg.MetadataValue.md(table_preview(world.truth["marketing_channels"])),
        },
    )


@dg.multi_asset(
    specs=[raw_spec(c, parent_assets(c)) for c in EVENT_CONTRACTS],
    check_specs=[contract_check(c) for c in EVENT_CONTRACTS],
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool="warehouse",
)
def business_events(
    context: dg.AssetExecutionContext,
    business: SyntheticBusinessResource,
    warehouse: WarehouseResource,
):
    """Daily events of the built-in business for the run's partition or window of partitions."""
    world_config = business.world_config()
    window_keys = context.partition_key_range
    window = (dt.date.fromisoformat(window_keys.start), dt.date.fromisoformat(window_keys.end))
    world = business.world()
    source = business.source
    # Freshness is judged as of the window's end, or the world's last day if that is earlier.
    as_of = min(window[1], world_config.end) if window[0] <= world_config.end else None
    context.log.info(
        f"loading {window[0]}..{window[1]} of the world {world_config.start}..{world_config.end}"
    )
    with warehouse.connect() as con:
        for contract in EVENT_CONTRACTS:
            frame = world.tables[contract.name]
            days = pd.to_datetime(frame[contract.partition_column]).dt.normalize()
            in_window = frame[(days >= pd.Timestamp(window[0])) & (days <= pd.Timestamp(window[1]))]
            yield from load_and_validate(
                con, contract, in_window, source=source, window=window, as_of=as_of
            )
