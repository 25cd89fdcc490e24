"""Every raw table's contract, by table name. One module per department."""

from ingestion.contracts.base import Column, ForeignKey, TableContract
from ingestion.contracts.customers import CUSTOMERS, SUBSCRIPTION_EVENTS, USAGE_EVENTS
from ingestion.contracts.demand import DEMAND_ORDERS, PRODUCTS
from ingestion.contracts.hr import EMPLOYEES, TEAMS
from ingestion.contracts.marketing import MARKETING_SPEND
from ingestion.contracts.operations import ONBOARDING_STAGE_RUNS
from ingestion.contracts.sentiment import NPS_RESPONSES
from ingestion.contracts.supply_chain import INVENTORY_LEVELS, PURCHASE_ORDERS, SUPPLIERS
from ingestion.contracts.support import SUPPORT_TICKETS

# Parents before children: loads and referential checks follow this order.
ALL_CONTRACTS: tuple[TableContract, ...] = (
    CUSTOMERS,
    SUBSCRIPTION_EVENTS,
    USAGE_EVENTS,
    MARKETING_SPEND,
    PRODUCTS,
    DEMAND_ORDERS,
    TEAMS,
    EMPLOYEES,
    ONBOARDING_STAGE_RUNS,
    SUPPORT_TICKETS,
    SUPPLIERS,
    PURCHASE_ORDERS,
    INVENTORY_LEVELS,
    NPS_RESPONSES,
)
CONTRACTS: dict[str, TableContract] = {contract.name: contract for contract in ALL_CONTRACTS}

__all__ = ["ALL_CONTRACTS", "CONTRACTS", "Column", "ForeignKey", "TableContract"]
