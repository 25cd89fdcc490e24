"""Contracts of the customers-and-revenue department."""

from ingestion.contracts.base import Column, ForeignKey, TableContract

CUSTOMERS = TableContract(
    name="customers",
    description="One row per customer, as of signup.",
    department="customers",
    primary_key=("customer_id",),
    columns=(
        Column("customer_id", "BIGINT", "Customer key.", min_value=1),
        Column("signup_date", "DATE", "Day the subscription started."),
        Column(
            "segment",
            "VARCHAR",
            "Customer segment.",
            accepted_values=("basic", "standard", "premium"),
        ),
        Column(
            "region", "VARCHAR", "Sales region.", accepted_values=("north", "south", "east", "west")
        ),
        Column(
            "acquisition_channel",
            "VARCHAR",
            "Marketing channel that acquired the customer.",
            accepted_values=("search", "social", "display", "email", "affiliate", "organic"),
        ),
        Column("plan", "VARCHAR", "Billing plan.", accepted_values=("monthly", "annual")),
        Column(
            "monthly_price",
            "DOUBLE",
            "Monthly-equivalent price at signup.",
            min_value=0,
            max_value=10_000,
        ),
    ),
)

SUBSCRIPTION_EVENTS = TableContract(
    name="subscription_events",
    description="Signups, charges, price changes and cancellations. Charges carry the revenue.",
    department="customers",
    primary_key=("event_id",),
    foreign_keys=(ForeignKey("customer_id", "customers", "customer_id"),),
    partition_column="event_date",
    freshness_days=3,
    columns=(
        Column("event_id", "BIGINT", "Event key.", min_value=1),
        Column("customer_id", "BIGINT", "Customer the event belongs to.", min_value=1),
        Column("event_date", "DATE", "Day of the event."),
        Column(
            "event_type",
            "VARCHAR",
            "What happened.",
            accepted_values=("signup", "charge", "price_change", "cancel"),
        ),
        Column(
            "amount",
            "DOUBLE",
            "Amount charged (0 for non-billing events).",
            min_value=0,
            max_value=200_000,
        ),
        Column(
            "monthly_price",
            "DOUBLE",
            "Monthly-equivalent price after the event.",
            min_value=0,
            max_value=10_000,
        ),
    ),
)

USAGE_EVENTS = TableContract(
    name="usage_events",
    description="One row per product session of a customer.",
    department="customers",
    primary_key=("session_id",),
    foreign_keys=(ForeignKey("customer_id", "customers", "customer_id"),),
    partition_column="session_date",
    freshness_days=3,
    columns=(
        Column("session_id", "BIGINT", "Session key.", min_value=1),
        Column("customer_id", "BIGINT", "Customer who used the product.", min_value=1),
        Column("session_date", "DATE", "Day of the session."),
        Column("minutes", "DOUBLE", "Session length in minutes.", min_value=0, max_value=1_440),
    ),
)
