"""The shape of a table contract: columns, types, keys, ranges and references."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

DuckType = Literal["BIGINT", "INTEGER", "DOUBLE", "VARCHAR", "DATE", "TIMESTAMP", "BOOLEAN"]


@dataclass(frozen=True)
class Column:
    """One column of a raw table, as every source must deliver it."""

    name: str
    dtype: DuckType
    description: str
    nullable: bool = False
    min_value: float | None = None
    max_value: float | None = None
    accepted_values: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ForeignKey:
    """`column` must hold a value of `ref_table.ref_column` (referential integrity)."""

    column: str
    ref_table: str
    ref_column: str


@dataclass(frozen=True)
class TableContract:
    """The contract of one raw table, shared by the generator and user files."""

    name: str
    description: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    foreign_keys: tuple[ForeignKey, ...] = ()
    # Date column of time-series tables: daily partitions and freshness are keyed on it.
    partition_column: str | None = None
    # A table is stale when its newest `partition_column` value is older than this many days.
    freshness_days: int | None = None
    department: str = "customers"
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"table {self.name!r} has no column {name!r}")
