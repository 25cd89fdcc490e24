"""Contracts of the demand department: the product catalogue and daily orders."""

from ingestion.contracts.base import Column, ForeignKey, TableContract

REGIONS = ("north", "south", "east", "west")

PRODUCTS = TableContract(
    name="products",
    description="One row per product the business sells.",
    department="demand",
    primary_key=("product_id",),
    columns=(
        Column("product_id", "VARCHAR", "Product key, e.g. P01."),
        Column("product_name", "VARCHAR", "Product name."),
        Column(
            "category",
            "VARCHAR",
            "Product category.",
            accepted_values=("device", "accessory", "consumable", "service"),
        ),
        Column("list_price", "DOUBLE", "List price at launch.", min_value=0, max_value=100_000),
    ),
)

DEMAND_ORDERS = TableContract(
    name="demand_orders",
    description="Orders per product, region and day, with the price charged and promotions.",
    department="demand",
    primary_key=("date", "product_id", "region"),
    foreign_keys=(ForeignKey("product_id", "products", "product_id"),),
    partition_column="date",
    freshness_days=2,
    columns=(
        Column("date", "DATE", "Day of the orders."),
        Column("product_id", "VARCHAR", "Product ordered."),
        Column("region", "VARCHAR", "Sales region.", accepted_values=REGIONS),
        Column("orders", "BIGINT", "Units ordered that day.", min_value=0),
        Column(
            "unit_price",
            "DOUBLE",
            "Price per unit charged that day.",
            min_value=0,
            max_value=100_000,
        ),
        Column("promo", "BOOLEAN", "Whether a promotion ran for the product in the region."),
        Column("revenue", "DOUBLE", "orders * unit_price.", min_value=0),
    ),
)
