"""Contracts of the supply-chain department: suppliers, purchase orders and inventory."""

from ingestion.contracts.base import Column, ForeignKey, TableContract

SUPPLIERS = TableContract(
    name="suppliers",
    description="The supplier network: tier 1 delivers to us, tier 2 and 3 supply the tier below.",
    department="supply_chain",
    primary_key=("supplier_id",),
    foreign_keys=(ForeignKey("supplies_to", "suppliers", "supplier_id"),),
    columns=(
        Column("supplier_id", "VARCHAR", "Supplier key, e.g. SUP-001."),
        Column(
            "tier",
            "BIGINT",
            "1: supplies us; 2 and 3: supply a supplier.",
            min_value=1,
            max_value=3,
        ),
        Column(
            "supplies_to",
            "VARCHAR",
            "Supplier this one delivers to; null for tier 1 (delivers to us).",
            nullable=True,
        ),
        Column(
            "region",
            "VARCHAR",
            "Where the supplier ships from.",
            accepted_values=("north", "south", "east", "west", "overseas"),
        ),
        Column("capacity_units_per_day", "DOUBLE", "Units it can ship a day.", min_value=0),
        Column(
            "promised_lead_time_days",
            "BIGINT",
            "Lead time the supplier commits to.",
            min_value=1,
            max_value=365,
        ),
    ),
)

PURCHASE_ORDERS = TableContract(
    name="purchase_orders",
    description="Orders placed with tier-1 suppliers, with promised and actual delivery dates.",
    department="supply_chain",
    primary_key=("po_id",),
    foreign_keys=(
        ForeignKey("supplier_id", "suppliers", "supplier_id"),
        ForeignKey("product_id", "products", "product_id"),
    ),
    partition_column="order_date",
    freshness_days=7,
    columns=(
        Column("po_id", "BIGINT", "Purchase-order key.", min_value=1),
        Column("supplier_id", "VARCHAR", "Supplier the order was placed with."),
        Column("product_id", "VARCHAR", "Product ordered."),
        Column("order_date", "DATE", "Day the order was placed (partition key)."),
        Column("promised_date", "DATE", "Delivery day the supplier promised."),
        Column("delivered_date", "DATE", "Day it arrived; null while in transit.", nullable=True),
        Column("quantity", "BIGINT", "Units ordered.", min_value=1),
        Column("disrupted", "BOOLEAN", "Whether a supply disruption hit the order."),
    ),
)

INVENTORY_LEVELS = TableContract(
    name="inventory_levels",
    description="End-of-day stock per product: on hand, on order and backordered units.",
    department="supply_chain",
    primary_key=("date", "product_id"),
    foreign_keys=(ForeignKey("product_id", "products", "product_id"),),
    partition_column="date",
    freshness_days=2,
    columns=(
        Column("date", "DATE", "Day of the snapshot (end of day)."),
        Column("product_id", "VARCHAR", "Product."),
        Column("on_hand", "BIGINT", "Units in stock.", min_value=0),
        Column("on_order", "BIGINT", "Units ordered and not yet delivered.", min_value=0),
        Column(
            "backorders", "BIGINT", "Units ordered by customers and not yet shipped.", min_value=0
        ),
    ),
)
