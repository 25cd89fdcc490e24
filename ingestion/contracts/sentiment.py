"""Contracts of the sentiment department: NPS survey responses."""

from ingestion.contracts.base import Column, ForeignKey, TableContract

NPS_RESPONSES = TableContract(
    name="nps_responses",
    description="One row per answered NPS survey (0–10: how likely to recommend us).",
    department="sentiment",
    primary_key=("response_id",),
    foreign_keys=(ForeignKey("customer_id", "customers", "customer_id"),),
    partition_column="response_date",
    freshness_days=7,
    columns=(
        Column("response_id", "BIGINT", "Response key.", min_value=1),
        Column("customer_id", "BIGINT", "Customer who answered.", min_value=1),
        Column("response_date", "DATE", "Day of the answer (partition key)."),
        Column("score", "BIGINT", "Likelihood to recommend, 0–10.", min_value=0, max_value=10),
        Column(
            "channel",
            "VARCHAR",
            "Channel the survey was answered in.",
            accepted_values=("email", "in_app", "sms"),
        ),
    ),
)
