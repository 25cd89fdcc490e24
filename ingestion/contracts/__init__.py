"""Every raw table's contract, by table name. One module per department."""

from ingestion.contracts.base import Column, ForeignKey, TableContract
from ingestion.contracts.customers import CUSTOMERS, SUBSCRIPTION_EVENTS, USAGE_EVENTS
from ingestion.contracts.marketing import MARKETING_SPEND

# Parents before children: loads and referential checks follow this order.
ALL_CONTRACTS: tuple[TableContract, ...] = (
    CUSTOMERS,
    SUBSCRIPTION_EVENTS,
    USAGE_EVENTS,
    MARKETING_SPEND,
)
CONTRACTS: dict[str, TableContract] = {contract.name: contract for contract in ALL_CONTRACTS}

__all__ = ["ALL_CONTRACTS", "CONTRACTS", "Column", "ForeignKey", "TableContract"]
