"""Contracts of the HR department: teams and employees."""

from ingestion.contracts.base import Column, ForeignKey, TableContract

TEAM_NAMES = (
    "support",
    "onboarding_review",
    "onboarding_verification",
    "onboarding_setup",
    "supply_chain",
    "engineering",
    "sales",
)

TEAMS = TableContract(
    name="teams",
    description="One row per team, with its department and headcount planned at the start.",
    department="hr",
    primary_key=("team",),
    columns=(
        Column("team", "VARCHAR", "Team key.", accepted_values=TEAM_NAMES),
        Column("department", "VARCHAR", "Department the team belongs to."),
        Column(
            "office_region",
            "VARCHAR",
            "Region of the team's office.",
            accepted_values=("north", "south", "east", "west"),
        ),
        Column(
            "planned_headcount", "BIGINT", "Headcount planned for the first month.", min_value=0
        ),
    ),
)

EMPLOYEES = TableContract(
    name="employees",
    description="Everyone employed at some point in the window, with skills and salary.",
    department="hr",
    primary_key=("employee_id",),
    foreign_keys=(ForeignKey("team", "teams", "team"),),
    columns=(
        Column("employee_id", "BIGINT", "Employee key.", min_value=1),
        Column("team", "VARCHAR", "Team the employee works in.", accepted_values=TEAM_NAMES),
        Column(
            "role",
            "VARCHAR",
            "Seniority of the role.",
            accepted_values=("associate", "senior", "lead"),
        ),
        Column("hire_date", "DATE", "First day of employment."),
        Column(
            "termination_date",
            "DATE",
            "Last day of employment is the day before; null while still employed.",
            nullable=True,
        ),
        Column("skill_product", "DOUBLE", "Product knowledge, 1–5.", min_value=1, max_value=5),
        Column("skill_technical", "DOUBLE", "Technical skill, 1–5.", min_value=1, max_value=5),
        Column(
            "skill_communication", "DOUBLE", "Communication skill, 1–5.", min_value=1, max_value=5
        ),
        Column("salary", "DOUBLE", "Annual salary.", min_value=0, max_value=1_000_000),
    ),
)
