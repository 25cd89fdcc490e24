"""Contracts of the operations department: the customer-onboarding workflow."""

from ingestion.contracts.base import Column, ForeignKey, TableContract

ONBOARDING_STAGE_RUNS = TableContract(
    name="onboarding_stage_runs",
    description=(
        "One row per completed attempt at a stage of a new customer's onboarding case: "
        "when it was queued, started and ended, its outcome and who handled it."
    ),
    department="operations",
    primary_key=("run_id",),
    foreign_keys=(
        ForeignKey("customer_id", "customers", "customer_id"),
        ForeignKey("handled_by", "employees", "employee_id"),
    ),
    partition_column="ended_date",
    freshness_days=3,
    columns=(
        Column("run_id", "BIGINT", "Stage-attempt key.", min_value=1),
        Column("case_id", "BIGINT", "Onboarding case (one per new customer).", min_value=1),
        Column("customer_id", "BIGINT", "Customer being onboarded.", min_value=1),
        Column(
            "stage",
            "VARCHAR",
            "Workflow stage, in order.",
            accepted_values=("application_review", "identity_verification", "account_setup"),
        ),
        Column(
            "attempt", "BIGINT", "1 for the first try, more after rework.", min_value=1, max_value=3
        ),
        Column("queued_at", "TIMESTAMP", "When the case entered the stage's queue."),
        Column("started_at", "TIMESTAMP", "When a staff member started the attempt."),
        Column("ended_at", "TIMESTAMP", "When the attempt ended."),
        Column("ended_date", "DATE", "Day the attempt ended (partition key)."),
        Column(
            "outcome",
            "VARCHAR",
            "passed: next stage; rework: the stage runs again; rejected: the case stops.",
            accepted_values=("passed", "rework", "rejected"),
        ),
        Column("handled_by", "BIGINT", "Employee who handled the attempt.", min_value=1),
    ),
)
