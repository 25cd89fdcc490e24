"""Contracts of the support department: customer tickets."""

from ingestion.contracts.base import Column, ForeignKey, TableContract

SUPPORT_TICKETS = TableContract(
    name="support_tickets",
    description="One row per support ticket: priority, channel, agent, wait, handling and CSAT.",
    department="support",
    primary_key=("ticket_id",),
    foreign_keys=(
        ForeignKey("customer_id", "customers", "customer_id"),
        ForeignKey("agent_id", "employees", "employee_id"),
    ),
    partition_column="opened_date",
    freshness_days=2,
    columns=(
        Column("ticket_id", "BIGINT", "Ticket key.", min_value=1),
        Column("customer_id", "BIGINT", "Customer who opened the ticket.", min_value=1),
        Column("opened_date", "DATE", "Day the ticket was opened (partition key)."),
        Column("opened_at", "TIMESTAMP", "When the ticket was opened."),
        Column(
            "priority",
            "VARCHAR",
            "Priority set at triage.",
            accepted_values=("low", "normal", "high", "urgent"),
        ),
        Column(
            "channel",
            "VARCHAR",
            "Contact channel.",
            accepted_values=("email", "chat", "phone", "web"),
        ),
        Column("agent_id", "BIGINT", "Support agent (an employee) who handled it.", min_value=1),
        Column(
            "wait_minutes",
            "DOUBLE",
            "Minutes in the queue before an agent picked it up.",
            min_value=0,
        ),
        Column(
            "handle_minutes",
            "DOUBLE",
            "Minutes the agent worked on it.",
            min_value=0,
            max_value=1_440,
        ),
        Column("escalated", "BOOLEAN", "Whether it went to second-line support."),
        Column(
            "satisfaction",
            "DOUBLE",
            "CSAT score 1–5 (whole numbers); null when the customer was not surveyed.",
            nullable=True,
            min_value=1,
            max_value=5,
        ),
        Column(
            "resolved_at",
            "TIMESTAMP",
            "When it was resolved; null while still open at the end of the data.",
            nullable=True,
        ),
    ),
)
