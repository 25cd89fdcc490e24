"""Contracts of the marketing department."""

from ingestion.contracts.base import Column, TableContract

MARKETING_SPEND = TableContract(
    name="marketing_spend",
    description="Daily spend, impressions, clicks and attributed conversions per paid channel.",
    department="marketing",
    primary_key=("date", "channel"),
    partition_column="date",
    freshness_days=3,
    columns=(
        Column("date", "DATE", "Day of spend."),
        Column(
            "channel",
            "VARCHAR",
            "Paid marketing channel.",
            accepted_values=("search", "social", "display", "email", "affiliate"),
        ),
        Column("spend", "DOUBLE", "Spend in currency units.", min_value=0, max_value=10_000_000),
        Column("impressions", "BIGINT", "Ad impressions.", min_value=0),
        Column("clicks", "BIGINT", "Ad clicks.", min_value=0),
        Column("conversions", "BIGINT", "New customers acquired through the channel.", min_value=0),
    ),
)
