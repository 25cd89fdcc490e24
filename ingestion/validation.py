"""Great Expectations suites built from table contracts, and their verdict on a frame.

GX gives the verdict and the per-expectation evidence shown as Dagster asset checks; the
row-level quarantine is computed in pandas (``ingestion.quarantine``) because GX's
per-row index lists are slow on large failures. Results use the ``BASIC`` format
(counts and a few example values) for the same reason.

Great Expectations takes several seconds to import, so it is imported on first use, not
when this module is imported, and one ephemeral context is shared by every call.
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from ingestion.contracts.base import ForeignKey, TableContract
from ingestion.quarantine import coerce_values

if TYPE_CHECKING:
    import great_expectations as gx

# Accepted pandas dtypes per contract type, in the names GX's type check understands.
# Nullable extension dtypes are named by their class (GX instantiates them to compare).
_TYPE_LISTS: dict[str, list[str]] = {
    "BIGINT": ["int64", "int32", "Int64Dtype", "Int32Dtype"],
    "INTEGER": ["int32", "int64", "Int32Dtype", "Int64Dtype"],
    "DOUBLE": ["float64", "float32", "Float64Dtype"],
    "VARCHAR": ["StringDtype"],
    # GX compares exact numpy dtypes, so every resolution is listed (pandas 3 defaults to us).
    "DATE": ["datetime64[s]", "datetime64[ms]", "datetime64[us]", "datetime64[ns]"],
    "TIMESTAMP": ["datetime64[s]", "datetime64[ms]", "datetime64[us]", "datetime64[ns]"],
    "BOOLEAN": ["bool", "BooleanDtype"],
}
_MAX_EXAMPLES = 5


@dataclass
class ExpectationOutcome:
    """One expectation's verdict: which, on what column, and what was seen.

    ``check`` names the contract rule in business terms (``not_null``, ``unique_key``,
    ``referential_integrity``...), ``expectation`` the GX expectation that checked it.
    """

    expectation: str
    column: str | None
    success: bool
    unexpected_count: int
    observed: str | None
    check: str = ""


@dataclass
class SuiteResult:
    """A table's suite verdict, ready for a Dagster asset check."""

    table: str
    success: bool
    evaluated_rows: int
    outcomes: list[ExpectationOutcome] = field(default_factory=list)

    @property
    def failed(self) -> list[ExpectationOutcome]:
        """The expectations that did not hold."""
        return [outcome for outcome in self.outcomes if not outcome.success]

    def to_metadata(self) -> dict[str, Any]:
        """JSON-able summary: verdict, row count and every outcome (failures first)."""
        ordered = sorted(self.outcomes, key=lambda outcome: outcome.success)
        return {
            "table": self.table,
            "success": self.success,
            "evaluated_rows": self.evaluated_rows,
            "evaluated_expectations": len(self.outcomes),
            "failed_expectations": [
                f"{outcome.expectation}({outcome.column})"
                if outcome.column
                else outcome.expectation
                for outcome in self.failed
            ],
            "outcomes": [asdict(outcome) for outcome in ordered],
        }


def orphan_column(foreign_key: ForeignKey) -> str:
    """Name of the helper column holding ``foreign_key``'s orphaned values (see below)."""
    return f"__orphans__{foreign_key.column}__{foreign_key.ref_table}__{foreign_key.ref_column}"


def build_suite(
    contract: TableContract,
    parent_keys: Mapping[str, pd.Series] | None = None,
    *,
    as_of: dt.date | None = None,
) -> gx.ExpectationSuite:
    """The contract as a GX suite.

    Checks: every column exists; its dtype matches the contract type; required columns
    are non-null; the primary key is unique (compound keys too); numeric ranges; accepted
    values; referential integrity when ``parent_keys`` is given; freshness (newest
    partition-column value no older than ``freshness_days`` before ``as_of``) when
    ``as_of`` is given. Without ``as_of`` freshness is not checked, because a synthetic
    world's dates need not be near today.

    Referential integrity is checked on helper columns that ``validation_frame`` adds
    (the child values with no parent, null elsewhere; expected all null) rather than
    with the parent keys as a ``value_set``: GX copies an expectation's configuration
    about a hundred times per run, which took ~3 s per foreign key with 20k customers
    and grows with the parent table.
    """
    import great_expectations as gx
    import great_expectations.expectations as gxe

    # GX only lets suites be built once a data context is active.
    _validation_context()
    suite = gx.ExpectationSuite(name=f"{contract.name}_contract")

    def add(check: str, column: str | None, expectation: Any) -> None:
        expectation.meta = {"check": check, "column": column}
        suite.add_expectation(expectation)

    for column in contract.columns:
        name = column.name
        add("column_exists", name, gxe.ExpectColumnToExist(column=name))
        add(
            "type",
            name,
            gxe.ExpectColumnValuesToBeInTypeList(column=name, type_list=_TYPE_LISTS[column.dtype]),
        )
        if not column.nullable:
            add("not_null", name, gxe.ExpectColumnValuesToNotBeNull(column=name))
        if column.dtype in ("BIGINT", "INTEGER", "DOUBLE") and (
            column.min_value is not None or column.max_value is not None
        ):
            add(
                "range",
                name,
                gxe.ExpectColumnValuesToBeBetween(
                    column=name, min_value=column.min_value, max_value=column.max_value
                ),
            )
        if column.accepted_values is not None:
            add(
                "accepted_values",
                name,
                gxe.ExpectColumnValuesToBeInSet(
                    column=name, value_set=list(column.accepted_values)
                ),
            )
    key = ",".join(contract.primary_key)
    if len(contract.primary_key) == 1:
        add("unique_key", key, gxe.ExpectColumnValuesToBeUnique(column=key))
    elif contract.primary_key:
        add(
            "unique_key",
            key,
            gxe.ExpectCompoundColumnsToBeUnique(column_list=list(contract.primary_key)),
        )
    if parent_keys is not None:
        for foreign_key in contract.foreign_keys:
            _reference(contract, foreign_key, parent_keys)  # fail early on a missing parent
            add(
                "referential_integrity",
                foreign_key.column,
                gxe.ExpectColumnValuesToBeNull(column=orphan_column(foreign_key)),
            )
    if as_of is not None and contract.partition_column and contract.freshness_days is not None:
        oldest_fresh = dt.datetime.combine(as_of, dt.time()) - dt.timedelta(
            days=contract.freshness_days
        )
        add(
            "freshness",
            contract.partition_column,
            gxe.ExpectColumnMaxToBeBetween(
                column=contract.partition_column, min_value=oldest_fresh, max_value=None
            ),
        )
    return suite


def validation_frame(
    contract: TableContract,
    frame: pd.DataFrame,
    parent_keys: Mapping[str, pd.Series] | None = None,
) -> pd.DataFrame:
    """``frame`` as the suite expects it: orphan helper columns added, text as ``StringDtype``.

    A self-reference (``suppliers.supplies_to``) may point at any key in ``frame`` as well
    as at the given parent keys.
    """
    columns: dict[str, pd.Series] = {}
    if parent_keys is not None:
        for foreign_key in contract.foreign_keys:
            if foreign_key.column not in frame:
                continue  # reported by the column's own expect_column_to_exist
            child = frame[foreign_key.column]
            if pd.api.types.is_integer_dtype(child.dtype):
                # Keep orphaned ids readable: masking an int64 column would make it float.
                child = child.astype("Int64")
            candidates = [_reference(contract, foreign_key, parent_keys)]
            if foreign_key.ref_table == contract.name and foreign_key.ref_column in frame:
                candidates.append(frame[foreign_key.ref_column])
            # Parent keys read with the child's type, so that 12, "12" and 12.0 all match.
            column = contract.column(foreign_key.column)
            parents = pd.concat(
                [coerce_values(column, keys.reset_index(drop=True))[0] for keys in candidates],
                ignore_index=True,
            ).dropna()
            is_orphan = child.notna() & ~child.isin(parents).fillna(False).astype(bool)
            columns[orphan_column(foreign_key)] = child.where(is_orphan)
    prepared = frame.assign(**columns) if columns else frame
    return _gx_compatible(prepared)


def validate_table(
    contract: TableContract,
    frame: pd.DataFrame,
    *,
    parent_keys: Mapping[str, pd.Series] | None = None,
    as_of: dt.date | None = None,
) -> SuiteResult:
    """Run the contract's suite on ``frame`` (typed, e.g. a raw table read from DuckDB)."""
    suite = build_suite(contract, parent_keys, as_of=as_of)
    prepared = validation_frame(contract, frame, parent_keys)
    context = _validation_context()
    with context.lock:
        batch = context.batch_definition(contract.name).get_batch(
            batch_parameters={"dataframe": prepared}
        )
        verdict = batch.validate(suite, result_format="BASIC")
    outcomes = [_outcome(result) for result in verdict.results]
    return SuiteResult(
        table=contract.name,
        success=bool(verdict.success),
        evaluated_rows=len(frame),
        outcomes=outcomes,
    )


def _reference(
    contract: TableContract, foreign_key: ForeignKey, parent_keys: Mapping[str, pd.Series]
) -> pd.Series:
    """The parent keys for ``foreign_key``; a self-reference's may be absent (first load)."""
    reference = f"{foreign_key.ref_table}.{foreign_key.ref_column}"
    if reference in parent_keys:
        return pd.Series(parent_keys[reference])
    if foreign_key.ref_table == contract.name:
        return pd.Series(dtype="object")
    raise ValueError(
        f"parent_keys has no {reference!r}, which {contract.name}.{foreign_key.column} "
        "references; pass parent_keys_from_warehouse(con, contract) or parent_keys=None"
    )


class _ValidationContext:
    """One ephemeral GX context (about a second to create) and a dataframe asset per table."""

    def __init__(self) -> None:
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self.lock = threading.Lock()
        self._context = gx.get_context(mode="ephemeral")
        # GX passes `disable=` to tqdm itself, so TQDM_DISABLE does not silence its bars.
        self._context.variables.progress_bars = ProgressBarsConfig(globally=False)
        self._source = self._context.data_sources.add_pandas("twinops_frames")
        self._batch_definitions: dict[str, Any] = {}

    def batch_definition(self, table: str) -> Any:
        if table not in self._batch_definitions:
            asset = self._source.add_dataframe_asset(name=table)
            self._batch_definitions[table] = asset.add_batch_definition_whole_dataframe("whole")
        return self._batch_definitions[table]


@functools.cache
def _validation_context() -> _ValidationContext:
    return _ValidationContext()


def _gx_compatible(frame: pd.DataFrame) -> pd.DataFrame:
    """A view of ``frame`` whose text columns GX's type check recognises.

    pandas 3's default ``str`` dtype (NaN as missing) matches none of the names GX's type
    check accepts, while the NA-variant ``StringDtype()`` does; both use pyarrow storage, so
    the conversion is cheap and changes no value.
    """
    text_columns = {
        name: pd.StringDtype()
        for name, dtype in frame.dtypes.items()
        if isinstance(dtype, pd.StringDtype) and dtype != pd.StringDtype()
    }
    return frame.astype(text_columns) if text_columns else frame


def _outcome(result: Any) -> ExpectationOutcome:
    config = result.expectation_config
    meta = config.meta or {}
    column = (
        meta.get("column")
        or config.kwargs.get("column")
        or ",".join(config.kwargs.get("column_list") or [])
        or None
    )
    details = result.result or {}
    error = _exception_message(result.exception_info or {})
    if error:
        observed: str | None = f"error: {error}"
    elif "observed_value" in details:
        observed = str(details["observed_value"])
    elif details.get("unexpected_count"):
        examples = details.get("partial_unexpected_list", [])[:_MAX_EXAMPLES]
        observed = "e.g. " + ", ".join(str(value) for value in examples)
    else:
        observed = None
    return ExpectationOutcome(
        expectation=config.type,
        column=column,
        success=bool(result.success),
        unexpected_count=int(details.get("unexpected_count") or 0),
        observed=observed,
        check=str(meta.get("check", "")),
    )


def _exception_message(info: Mapping[str, Any]) -> str | None:
    """GX nests exception details by metric id when a metric failed to compute."""
    if info.get("exception_message"):
        return str(info["exception_message"])
    for value in info.values():
        if isinstance(value, Mapping) and value.get("exception_message"):
            return str(value["exception_message"])
    return None
