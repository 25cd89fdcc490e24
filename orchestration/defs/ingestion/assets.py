"""Raw tables: generate the synthetic business, quarantine bad rows, load, validate with GX."""

import dagster as dg

from ingestion.contracts import ALL_CONTRACTS
from ingestion.load import load_frame, parent_keys_from_warehouse
from ingestion.validation import validate_table
from orchestration.defs.ingestion.world import SyntheticBusinessConfig
from orchestration.metadata import table_preview
from orchestration.resources import WarehouseResource
from simulation.world import generate_world

CONTRACT_CHECK = "meets_contract"
TRUTH_SCHEMA = "truth"


def raw_asset_key(table: str) -> dg.AssetKey:
    """raw/<table>: asset keys name the warehouse schema and table, as dbt's do."""
    return dg.AssetKey(["raw", table])


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            raw_asset_key(contract.name),
            description=f"raw.{contract.name}: {contract.description}",
            group_name="ingestion",
            kinds={"duckdb", "python"},
            tags={"department": contract.department},
            metadata={"dagster/table_name": f"raw.{contract.name}"},
        )
        for contract in ALL_CONTRACTS
    ]
    + [
        dg.AssetSpec(
            "world_ground_truth",
            description="The synthetic world's true parameters (truth.*): churn probabilities, ROI, regimes…",
            group_name="ingestion",
            kinds={"duckdb"},
        )
    ],
    check_specs=[
        dg.AssetCheckSpec(
            CONTRACT_CHECK,
            asset=raw_asset_key(contract.name),
            blocking=True,
            description="Great Expectations suite from the table contract: types, keys, ranges, values, references, freshness.",
        )
        for contract in ALL_CONTRACTS
    ],
    pool="warehouse",
)
def synthetic_business(
    context: dg.AssetExecutionContext, config: SyntheticBusinessConfig, warehouse: WarehouseResource
):
    """Generate the built-in business and load every raw table through its contract."""
    world_config = config.world_config()
    world = generate_world(world_config)
    source = f"generator:seed={world_config.seed}"
    with warehouse.connect() as con:
        for contract in ALL_CONTRACTS:  # parents first, so references resolve
            parents = parent_keys_from_warehouse(con, contract)
            loaded = load_frame(
                con, contract, world.tables[contract.name], source=source, parent_keys=parents
            )
            table = con.execute(f'select * from raw."{contract.name}"').df()
            suite = validate_table(contract, table, parent_keys=parents, as_of=world_config.end)
            key = raw_asset_key(contract.name)
            context.log.info(
                f"raw.{contract.name}: {loaded.loaded_rows} loaded, {loaded.quarantined_rows} quarantined"
            )
            yield dg.MaterializeResult(
                asset_key=key,
                data_version=dg.DataVersion(loaded.content_hash),
                metadata={
                    "dagster/row_count": loaded.loaded_rows,
                    "quarantined_rows": loaded.quarantined_rows,
                    "input_rows": loaded.input_rows,
                    "content_hash": loaded.content_hash,
                    "source": source,
                    "preview": dg.MetadataValue.md(table_preview(table)),
                },
            )
            yield dg.AssetCheckResult(
                asset_key=key,
                check_name=CONTRACT_CHECK,
                passed=suite.success,
                metadata={
                    "evaluated_rows": suite.evaluated_rows,
                    "failed_expectations": dg.MetadataValue.json(suite.to_metadata()),
                },
            )
        con.execute(f"create schema if not exists {TRUTH_SCHEMA}")
        con.begin()
        for name, frame in world.truth.items():
            con.register("truth_frame", frame)
            con.execute(
                f'create or replace table {TRUTH_SCHEMA}."{name}" as select * from truth_frame'
            )
            con.unregister("truth_frame")
        con.commit()
    yield dg.MaterializeResult(
        asset_key="world_ground_truth",
        metadata={
            "tables": dg.MetadataValue.json(
                {name: len(frame) for name, frame in world.truth.items()}
            ),
            "seed": world_config.seed,
            "preview": dg.MetadataValue.md(table_preview(world.truth["marketing_channels"])),
        },
    )
