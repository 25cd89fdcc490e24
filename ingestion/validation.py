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

from ingestion.contracts.base import Column, TableContract
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
    """One expectation's verdict: which, on what column, and what was seen."""

    expectation: str
    column: str | None
    success: bool
    unexpected_count: int
    observed: str | None


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


def build_suite(
    contract: TableContract,
    parent_keys: Mapping[str, pd.Series] | None = None,
    *,
    as_of: dt.date | None = None,
) -> gx.ExpectationSuite:
    """The contract as a GX suite.

    Checks: every column exists; its dtype matches the contract type; required columns
    are non-null; the primary key is unique (compound keys too); numeric ranges; accepted
    values; referential integrity when ``parent_keys`` has the parent's keys; freshness
    (newest partition-column value no older than ``freshness_days`` before ``as_of``) when
    ``as_of`` is given. Without ``as_of`` freshness is not checked, because a synthetic
    world's dates need not be near today.
    """
    import great_expectations as gx
    import great_expectations.expectations as gxe

    # GX only lets suites be built once a data context is active.
    _validation_context()
    suite = gx.ExpectationSuite(name=f"{contract.name}_contract")
    for column in contract.columns:
        suite.add_expectation(gxe.ExpectColumnToExist(column=column.name))
        suite.add_expectation(
            gxe.ExpectColumnValuesToBeInTypeList(
                column=column.name, type_list=_TYPE_LISTS[column.dtype]
            )
        )
        if not column.nullable:
            suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column=column.name))
        if column.dtype in ("BIGINT", "INTEGER", "DOUBLE") and (
            column.min_value is not None or column.max_value is not None
        ):
            suite.add_expectation(
                gxe.ExpectColumnValuesToBeBetween(
                    column=column.name, min_value=column.min_value, max_value=column.max_value
                )
            )
        if column.accepted_values is not None:
            suite.add_expectation(
                gxe.ExpectColumnValuesToBeInSet(
                    column=column.name, value_set=list(column.accepted_values)
                )
            )
    if len(contract.primary_key) == 1:
        suite.add_expectation(gxe.ExpectColumnValuesToBeUnique(column=contract.primary_key[0]))
    elif contract.primary_key:
        suite.add_expectation(
            gxe.ExpectCompoundColumnsToBeUnique(column_list=list(contract.primary_key))
        )
    if parent_keys is not None:
        for foreign_key in contract.foreign_keys:
            reference = f"{foreign_key.ref_table}.{foreign_key.ref_column}"
            if reference not in parent_keys and foreign_key.ref_table == contract.name:
                continue  # validate_table adds a self-reference's keys from the frame
            if reference not in parent_keys:
                raise ValueError(
                    f"parent_keys has no {reference!r}, which {contract.name}."
                    f"{foreign_key.column} references"
                )
            suite.add_expectation(
                gxe.ExpectColumnValuesToBeInSet(
                    column=foreign_key.column,
                    value_set=_key_values(
                        contract.column(foreign_key.column), parent_keys[reference]
                    ),
                )
            )
    if as_of is not None and contract.partition_column and contract.freshness_days is not None:
        oldest_fresh = dt.datetime.combine(as_of, dt.time()) - dt.timedelta(
            days=contract.freshness_days
        )
        suite.add_expectation(
            gxe.ExpectColumnMaxToBeBetween(
                column=contract.partition_column, min_value=oldest_fresh, max_value=None
            )
        )
    return suite


def validate_table(
    contract: TableContract,
    frame: pd.DataFrame,
    *,
    parent_keys: Mapping[str, pd.Series] | None = None,
    as_of: dt.date | None = None,
) -> SuiteResult:
    """Run the contract's suite on ``frame`` (typed, e.g. a raw table read from DuckDB).

    A self-reference (``suppliers.supplies_to``) may point at any key in ``frame`` as well
    as at the given parent keys.
    """
    if parent_keys is not None:
        parent_keys = dict(parent_keys)
        for foreign_key in contract.foreign_keys:
            if foreign_key.ref_table == contract.name and foreign_key.ref_column in frame:
                reference = f"{foreign_key.ref_table}.{foreign_key.ref_column}"
                own_keys = frame[foreign_key.ref_column]
                known = parent_keys.get(reference)
                parent_keys[reference] = (
                    own_keys if known is None else pd.concat([known, own_keys], ignore_index=True)
                )
    suite = build_suite(contract, parent_keys, as_of=as_of)
    context = _validation_context()
    with context.lock:
        batch = context.batch_definition(contract.name).get_batch(
            batch_parameters={"dataframe": _gx_compatible(frame)}
        )
        verdict = batch.validate(suite, result_format="BASIC")
    outcomes = [_outcome(result) for result in verdict.results]
    return SuiteResult(
        table=contract.name,
        success=bool(verdict.success),
        evaluated_rows=len(frame),
        outcomes=outcomes,
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


def _key_values(column: Column, keys: pd.Series) -> list[Any]:
    """Parent keys as plain Python values of the child column's type (for ``value_set``)."""
    values, _, _, _ = coerce_values(column, pd.Series(keys).reset_index(drop=True))
    return values.dropna().drop_duplicates().sort_values().tolist()


def _outcome(result: Any) -> ExpectationOutcome:
    config = result.expectation_config
    column = config.kwargs.get("column") or ",".join(config.kwargs.get("column_list") or []) or None
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
    )


def _exception_message(info: Mapping[str, Any]) -> str | None:
    """GX nests exception details by metric id when a metric failed to compute."""
    if info.get("exception_message"):
        return str(info["exception_message"])
    for value in info.values():
        if isinstance(value, Mapping) and value.get("exception_message"):
            return str(value["exception_message"])
    return None
