"""Split an input frame into rows that satisfy the contract and quarantined rows with reasons.

Everything here is vectorised pandas/numpy: a default-size world (~1.7M rows) splits in a
second or two. Only the quarantined rows get per-row strings (reasons, raw JSON records).

Checks, in priority order (the first one that fails is the row's primary reason):

1. ``wrong_type``: the value cannot be read as the contract's type.
2. ``missing_value``: empty value in a required (non-nullable) column.
3. ``out_of_range``: below ``min_value`` or above ``max_value``.
4. ``unknown_category``: not in ``accepted_values``.
5. ``orphan_foreign_key``: no matching key in the parent table.
6. ``outside_partition``: the partition column is not the day being loaded.
7. ``duplicate_key``: the primary key was already seen in an earlier row of the same input
   that passed every other check; the earliest such row loads, later ones are quarantined.
   Duplicates are judged among otherwise-good rows so that a broken first copy does not
   also cost us the good second copy.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ingestion.contracts.base import Column, TableContract
from ingestion.errors import HEADER, IngestionError

# Column the readers add: the 1-based data row number of each row in its file.
SOURCE_ROW = "_source_row"

QUARANTINE_COLUMNS: tuple[str, ...] = (
    "source",
    "source_row",
    "column_name",
    "reason_code",
    "reason",
    "raw_record",
    # The row's own partition day (YYYY-MM-DD), when the table has one and it is readable.
    "partition_day",
)

REASON_CODES: tuple[str, ...] = (
    "wrong_type",
    "missing_value",
    "out_of_range",
    "unknown_category",
    "orphan_foreign_key",
    "outside_partition",
    "duplicate_key",
)

_INTEGER_BOUNDS = {"BIGINT": (-(2**63), 2**63 - 1), "INTEGER": (-(2**31), 2**31 - 1)}
# Floats are exact integers only up to 2**53; beyond that "12345678901234567.0" is a guess.
_EXACT_FLOAT_INT = 2**53
_TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1"})
_FALSE_WORDS = frozenset({"false", "f", "no", "n", "0"})


@dataclass
class RowSplit:
    """The outcome of checking an input frame against its contract.

    ``good`` holds the rows that satisfy every check, typed per contract and in contract
    column order. ``quarantined`` holds one row per rejected input row (``QUARANTINE_COLUMNS``).
    Invariant: ``len(good) + len(quarantined) == input_rows`` and no input row is in both.
    """

    good: pd.DataFrame
    quarantined: pd.DataFrame
    input_rows: int
    # Source row numbers of the good rows, aligned with `good` (for tracing and tests).
    good_source_rows: np.ndarray = field(default_factory=lambda: np.empty(0, dtype="int64"))

    @property
    def reasons(self) -> dict[str, int]:
        """Quarantined rows per primary reason code, e.g. ``{"wrong_type": 3}``."""
        return dict(sorted(Counter(self.quarantined["reason_code"]).items()))


@dataclass
class _Problem:
    """Rows failing one check on one column, with a reason message for each failing row."""

    code: str
    column: str
    mask: np.ndarray
    # Built lazily from the failing rows only: positions -> one message per position.
    describe: Callable[[np.ndarray], pd.Series]


def pandas_dtype(column: Column) -> str:
    """The pandas dtype a good column has after coercion."""
    if column.dtype in ("BIGINT", "INTEGER"):
        return "Int64" if column.nullable else "int64"
    if column.dtype == "DOUBLE":
        return "float64"
    if column.dtype in ("DATE", "TIMESTAMP"):
        return "datetime64[us]"
    if column.dtype == "BOOLEAN":
        return "boolean" if column.nullable else "bool"
    return "str"


def split_rows(
    contract: TableContract,
    frame: pd.DataFrame,
    *,
    source: str,
    parent_keys: Mapping[str, pd.Series] | None = None,
    partition: PartitionSpec | None = None,
) -> RowSplit:
    """Check every row of ``frame`` against ``contract`` and split good from quarantined.

    ``frame`` may hold raw strings (from a landing file) or already-typed columns (from the
    generator); values are coerced per contract either way. ``_source_row`` is used as the
    row number when present, else the 1-based position. ``parent_keys`` maps
    ``"<ref_table>.<ref_column>"`` to the valid parent keys; when it is None, referential
    checks are skipped. ``partition`` (a day, or a ``(first, last)`` window of days)
    quarantines rows of other days.

    Raises IngestionError when a required column is missing altogether: that is a broken
    file, not a bad row, and nothing should load.
    """
    frame = frame.reset_index(drop=True)
    missing = [c.name for c in contract.columns if c.name not in frame.columns and not c.nullable]
    if missing:
        raise IngestionError(
            f"missing required column(s) {', '.join(missing)}; "
            f"table {contract.name!r} needs {', '.join(contract.column_names)}",
            source=source,
            row=HEADER,
            column=", ".join(missing),
        )
    n_rows = len(frame)
    source_rows = (
        frame[SOURCE_ROW].to_numpy(dtype="int64")
        if SOURCE_ROW in frame.columns
        else np.arange(1, n_rows + 1, dtype="int64")
    )

    typed: dict[str, pd.Series] = {}
    valid: dict[str, np.ndarray] = {}
    problems: list[_Problem] = []
    for column in contract.columns:
        raw = (
            frame[column.name]
            if column.name in frame.columns
            else pd.Series(pd.NA, index=frame.index, dtype="object")
        )
        values, is_null, is_wrong, type_label = coerce_values(column, raw)
        typed[column.name] = values
        problems.append(
            _Problem("wrong_type", column.name, is_wrong, _raw_message(raw, f"is not {type_label}"))
        )
        if not column.nullable:
            problems.append(
                _Problem(
                    "missing_value",
                    column.name,
                    is_null,
                    _constant_message("missing value in a required column"),
                )
            )
        valid[column.name] = ~is_null & ~is_wrong
        problems.extend(_value_problems(column, values, valid[column.name]))

    problems.extend(_foreign_key_problems(contract, typed, valid, parent_keys))
    problems.extend(_partition_problems(contract, typed, valid, partition))

    otherwise_bad = _any(problems, n_rows)
    problems.append(_duplicate_problem(contract, typed, otherwise_bad, source_rows))
    is_bad = otherwise_bad | problems[-1].mask

    good_positions = np.flatnonzero(~is_bad)
    good = pd.DataFrame(
        {
            column.name: typed[column.name].iloc[good_positions].astype(pandas_dtype(column))
            for column in contract.columns
        }
    ).reset_index(drop=True)
    bad_positions = np.flatnonzero(is_bad)
    quarantined = _quarantine_frame(frame, problems, bad_positions, source, source_rows)
    quarantined["partition_day"] = _partition_days(contract, typed, valid, bad_positions)
    return RowSplit(
        good=good,
        quarantined=quarantined,
        input_rows=n_rows,
        good_source_rows=source_rows[good_positions],
    )


def _partition_days(
    contract: TableContract,
    typed: Mapping[str, pd.Series],
    valid: Mapping[str, np.ndarray],
    positions: np.ndarray,
) -> pd.Series:
    """The partition day (YYYY-MM-DD) of each quarantined row, when it has a readable one."""
    column = contract.partition_column
    if column is None or len(positions) == 0:
        return pd.Series(pd.NA, index=range(len(positions)), dtype="str")
    days = typed[column].iloc[positions].reset_index(drop=True)
    readable = pd.Series(valid[column][positions])
    return days.dt.strftime("%Y-%m-%d").where(readable).astype("str")


def _any(problems: list[_Problem], n_rows: int) -> np.ndarray:
    combined = np.zeros(n_rows, dtype=bool)
    for problem in problems:
        combined |= problem.mask
    return combined


# ---------------------------------------------------------------------------- coercion


def coerce_values(column: Column, raw: pd.Series) -> tuple[pd.Series, np.ndarray, np.ndarray, str]:
    """Read ``raw`` as the column's type: (values, is_null, is_wrong_type, type label).

    Values that are null or of the wrong type come back as missing. Numeric, datetime and
    boolean inputs of a matching kind are used as they are (generator frames, Parquet);
    anything else is read from its text, which is how CSV cells arrive.
    """
    if column.dtype in ("BIGINT", "INTEGER"):
        return (*_coerce_integer(raw, column.dtype), f"a whole number ({column.dtype})")
    if column.dtype == "DOUBLE":
        return (*_coerce_double(raw), "a finite number (DOUBLE)")
    if column.dtype == "DATE":
        return (*_coerce_datetime(raw, date_only=True), "a date (YYYY-MM-DD)")
    if column.dtype == "TIMESTAMP":
        return (*_coerce_datetime(raw, date_only=False), "a timestamp (ISO 8601)")
    if column.dtype == "BOOLEAN":
        return (*_coerce_boolean(raw), "a boolean (true/false)")
    if column.dtype == "VARCHAR":
        text = _as_text(raw)
        is_null = (text.isna() | (text == "")).to_numpy(dtype=bool)
        return text.where(~is_null), is_null, np.zeros(len(raw), dtype=bool), "text"
    raise ValueError(f"column {column.name!r} has unsupported type {column.dtype!r}")


def _is_plain_numeric(raw: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype)


def _as_text(raw: pd.Series) -> pd.Series:
    """The values as text (missing stays missing), for parsing or VARCHAR columns."""
    is_missing = raw.isna().to_numpy(dtype=bool)
    if pd.api.types.is_string_dtype(raw.dtype) and raw.dtype != object:
        return raw.astype("str")
    # astype(str) would turn a float NaN into the text "nan": mask missing values first.
    return raw.astype("str").where(~is_missing)


def _stripped_text(raw: pd.Series) -> tuple[pd.Series, np.ndarray]:
    text = _as_text(raw).str.strip()
    is_null = (text.isna() | (text == "")).to_numpy(dtype=bool)
    return text.where(~is_null), is_null


def _coerce_integer(raw: pd.Series, dtype: str) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    low, high = _INTEGER_BOUNDS[dtype]
    result = pd.Series(pd.NA, index=raw.index, dtype="Int64")
    if pd.api.types.is_integer_dtype(raw.dtype):
        is_null = raw.isna().to_numpy(dtype=bool)
        values = raw.astype("Int64")
        fits = ((values >= low) & (values <= high)).fillna(False).to_numpy(dtype=bool)
        is_wrong = ~is_null & ~fits
        result = values.where(fits)
        return result, is_null, is_wrong
    if _is_plain_numeric(raw):
        numbers = raw.astype("float64")
        is_null = numbers.isna().to_numpy(dtype=bool)
        floats = numbers.fillna(0.5).to_numpy(dtype="float64")
        ok = (
            ~is_null
            & np.isfinite(floats)
            & (np.floor(floats) == floats)
            & (np.abs(floats) < _EXACT_FLOAT_INT)
            & (floats >= low)
            & (floats <= high)
        )
        result.iloc[np.flatnonzero(ok)] = floats[ok].astype("int64")
        return result, is_null, ~is_null & ~ok

    text, is_null = _stripped_text(raw)
    # Digits-only text converts exactly; routing it through float would round ids > 2**53.
    looks_integer = text.str.fullmatch(r"[+-]?\d{1,18}").fillna(False).to_numpy(dtype=bool)
    ok = np.zeros(len(raw), dtype=bool)
    if looks_integer.any():
        exact = pd.to_numeric(text.iloc[np.flatnonzero(looks_integer)]).to_numpy(dtype="int64")
        fits = (exact >= low) & (exact <= high)
        positions = np.flatnonzero(looks_integer)[fits]
        result.iloc[positions] = exact[fits]
        ok[positions] = True
    # "12.0" is a whole number too (spreadsheets and pandas write ints that way).
    other = ~is_null & ~looks_integer
    if other.any():
        floats = pd.to_numeric(text.iloc[np.flatnonzero(other)], errors="coerce").to_numpy(
            dtype="float64", na_value=np.nan
        )
        whole = (
            np.isfinite(floats)
            & (np.floor(floats) == floats)
            & (np.abs(floats) < _EXACT_FLOAT_INT)
            & (floats >= low)
            & (floats <= high)
        )
        positions = np.flatnonzero(other)[whole]
        result.iloc[positions] = floats[whole].astype("int64")
        ok[positions] = True
    return result, is_null, ~is_null & ~ok


def _coerce_double(raw: pd.Series) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    if _is_plain_numeric(raw):
        numbers = raw.astype("float64")
        is_null = numbers.isna().to_numpy(dtype=bool)
    else:
        text, is_null = _stripped_text(raw)
        numbers = pd.to_numeric(text, errors="coerce").astype("float64")
    values = numbers.to_numpy(dtype="float64", na_value=np.nan)
    is_wrong = ~is_null & ~np.isfinite(values)
    return numbers.where(~is_wrong), is_null, is_wrong


def _coerce_datetime(
    raw: pd.Series, *, date_only: bool
) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    if pd.api.types.is_datetime64_any_dtype(raw.dtype):
        stamps = raw
        is_null = raw.isna().to_numpy(dtype=bool)
    else:
        text, is_null = _stripped_text(raw)
        # utc=True: mixed offsets would otherwise raise; naive text is taken as UTC unchanged.
        stamps = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True)
    if isinstance(stamps.dtype, pd.DatetimeTZDtype):
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    stamps = stamps.astype("datetime64[us]")
    is_wrong = ~is_null & stamps.isna().to_numpy(dtype=bool)
    if date_only:
        # NaT != NaT is True, so missing values must be excluded explicitly.
        has_time = (stamps.notna() & (stamps != stamps.dt.normalize())).to_numpy(dtype=bool)
        is_wrong |= has_time
    return stamps.where(~is_wrong), is_null, is_wrong


def _coerce_boolean(raw: pd.Series) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    if pd.api.types.is_bool_dtype(raw.dtype):
        values = raw.astype("boolean")
        return values, values.isna().to_numpy(dtype=bool), np.zeros(len(raw), dtype=bool)
    text, is_null = _stripped_text(raw)
    lowered = text.str.lower()
    is_true = lowered.isin(_TRUE_WORDS).to_numpy(dtype=bool)
    is_false = lowered.isin(_FALSE_WORDS).to_numpy(dtype=bool)
    values = pd.Series(pd.NA, index=raw.index, dtype="boolean")
    values[is_true] = True
    values[is_false] = False
    return values, is_null, ~is_null & ~is_true & ~is_false


# ------------------------------------------------------------------------ value checks


def _value_problems(column: Column, values: pd.Series, is_valid: np.ndarray) -> list[_Problem]:
    problems: list[_Problem] = []
    if column.dtype in ("BIGINT", "INTEGER", "DOUBLE"):
        numbers = values.astype("float64").to_numpy(dtype="float64", na_value=np.nan)
        if column.min_value is not None:
            below = is_valid & (numbers < column.min_value)
            problems.append(
                _Problem(
                    "out_of_range",
                    column.name,
                    below,
                    _typed_message(values, f"is below the minimum {column.min_value:g}"),
                )
            )
        if column.max_value is not None:
            above = is_valid & (numbers > column.max_value)
            problems.append(
                _Problem(
                    "out_of_range",
                    column.name,
                    above,
                    _typed_message(values, f"is above the maximum {column.max_value:g}"),
                )
            )
    if column.accepted_values is not None:
        as_text = values if column.dtype == "VARCHAR" else _as_text(values)
        unknown = is_valid & ~as_text.isin(column.accepted_values).to_numpy(dtype=bool)
        problems.append(
            _Problem(
                "unknown_category",
                column.name,
                unknown,
                _raw_message(values, f"is not one of {', '.join(column.accepted_values)}"),
            )
        )
    return problems


def _foreign_key_problems(
    contract: TableContract,
    typed: Mapping[str, pd.Series],
    valid: Mapping[str, np.ndarray],
    parent_keys: Mapping[str, pd.Series] | None,
) -> list[_Problem]:
    """Rows whose reference has no parent.

    A self-reference (a supplier supplying another supplier) may also point at a key
    delivered in the same input, so the input's own keys count as parents too; its entry
    in ``parent_keys`` (the keys already loaded) is then optional.
    """
    if parent_keys is None:
        return []
    problems: list[_Problem] = []
    for foreign_key in contract.foreign_keys:
        reference = f"{foreign_key.ref_table}.{foreign_key.ref_column}"
        is_self_reference = foreign_key.ref_table == contract.name
        if reference not in parent_keys and not is_self_reference:
            raise ValueError(
                f"parent_keys has no {reference!r}, which {contract.name}.{foreign_key.column} "
                f"references; pass parent_keys_from_warehouse(con, contract) or parent_keys=None "
                f"to skip referential checks"
            )
        child = contract.column(foreign_key.column)
        candidates = [pd.Series(parent_keys.get(reference, pd.Series(dtype="object")))]
        if is_self_reference:
            own_keys = typed[foreign_key.ref_column]
            candidates.append(own_keys[valid[foreign_key.ref_column]])
        # Read parent keys with the child's type so that 12, "12" and 12.0 all match.
        parents = pd.concat(
            [coerce_values(child, keys.reset_index(drop=True))[0] for keys in candidates],
            ignore_index=True,
        )
        present = typed[child.name].isin(parents.dropna()).fillna(False).to_numpy(dtype=bool)
        problems.append(
            _Problem(
                "orphan_foreign_key",
                child.name,
                valid[child.name] & ~present,
                _typed_message(typed[child.name], f"has no match in {reference}"),
            )
        )
    return problems


def _partition_problems(
    contract: TableContract,
    typed: Mapping[str, pd.Series],
    valid: Mapping[str, np.ndarray],
    partition: PartitionSpec | None,
) -> list[_Problem]:
    if partition is None:
        return []
    first, last = partition_window(contract, partition)
    column = contract.partition_column
    assert column is not None  # partition_day() refuses contracts without one
    days = typed[column]
    inside = (days >= pd.Timestamp(first)) & (days < pd.Timestamp(last) + pd.Timedelta(days=1))
    elsewhere = valid[column] & ~inside.fillna(False).to_numpy(dtype=bool)
    label = partition_label((first, last))
    return [
        _Problem(
            "outside_partition",
            column,
            elsewhere,
            _typed_message(days, f"is outside the partition being loaded ({label})"),
        )
    ]


PartitionKey = str | dt.date
# One day, or the first and last day of a window of daily partitions (a single-run backfill).
PartitionSpec = PartitionKey | tuple[PartitionKey, PartitionKey]


def partition_window(contract: TableContract, partition: PartitionSpec) -> tuple[dt.date, dt.date]:
    """The first and last day a partition spec covers; a single day is a one-day window."""
    if isinstance(partition, tuple):
        first, last = (partition_day(contract, bound) for bound in partition)
        if last < first:
            raise ValueError(
                f"partition window of table {contract.name!r} ends ({last}) before it starts ({first})"
            )
        return first, last
    day = partition_day(contract, partition)
    return day, day


def partition_label(window: tuple[dt.date, dt.date]) -> str:
    """`YYYY-MM-DD` for one day, `first..last` for a window (as in the load log)."""
    first, last = window
    return first.isoformat() if first == last else f"{first.isoformat()}..{last.isoformat()}"


def partition_day(contract: TableContract, partition: str | dt.date) -> dt.date:
    """The day a partition key names (``YYYY-MM-DD``); refuses tables without partitions."""
    if contract.partition_column is None:
        raise ValueError(
            f"table {contract.name!r} has no partition column, so it cannot load partition "
            f"{partition!r}; load it whole (partition=None)"
        )
    if isinstance(partition, dt.datetime):
        return partition.date()
    if isinstance(partition, dt.date):
        return partition
    try:
        return dt.date.fromisoformat(partition)
    except ValueError as error:
        raise ValueError(
            f"partition {partition!r} of table {contract.name!r} is not a day (YYYY-MM-DD)"
        ) from error


def _duplicate_problem(
    contract: TableContract,
    typed: Mapping[str, pd.Series],
    otherwise_bad: np.ndarray,
    source_rows: np.ndarray,
) -> _Problem:
    key_columns = list(contract.primary_key)
    label = ",".join(key_columns)
    is_duplicate = np.zeros(len(otherwise_bad), dtype=bool)
    first_rows = pd.Series(dtype="int64")
    if key_columns:
        candidates = np.flatnonzero(~otherwise_bad)
        keys = pd.DataFrame({name: typed[name].iloc[candidates] for name in key_columns})
        repeated = keys.duplicated(keep="first").to_numpy(dtype=bool)
        if repeated.any():
            is_duplicate[candidates[repeated]] = True
            keys["_first_row"] = source_rows[candidates]
            firsts = keys[~repeated]
            later = keys[repeated].drop(columns="_first_row").reset_index()
            matched = later.merge(firsts, on=key_columns, how="left").set_index("index")
            first_rows = matched["_first_row"]

    def describe(positions: np.ndarray) -> pd.Series:
        key_text = pd.Series("", index=range(len(positions)), dtype="str")
        for i, name in enumerate(key_columns):
            part = _as_text(typed[name].iloc[positions]).fillna("NULL").reset_index(drop=True)
            key_text = part if i == 0 else key_text + "," + part
        first = first_rows.reindex(positions).astype("Int64").astype("str").reset_index(drop=True)
        return (
            f"duplicate key ({label})=("
            + key_text
            + "), first seen at row "
            + first
            + ", which was loaded"
        )

    return _Problem("duplicate_key", label, is_duplicate, describe)


# ---------------------------------------------------------------------------- messages


def _constant_message(text: str) -> Callable[[np.ndarray], pd.Series]:
    def describe(positions: np.ndarray) -> pd.Series:
        return pd.Series(text, index=range(len(positions)), dtype="str")

    return describe


def _raw_message(values: pd.Series, text: str) -> Callable[[np.ndarray], pd.Series]:
    """'<value> <text>' with the value quoted as it was delivered."""

    def describe(positions: np.ndarray) -> pd.Series:
        shown = _as_text(values.iloc[positions]).fillna("NULL").reset_index(drop=True)
        return "'" + shown + "' " + text

    return describe


def _typed_message(values: pd.Series, text: str) -> Callable[[np.ndarray], pd.Series]:
    """'<value> <text>' with the value as read (dates without a time of day)."""

    def describe(positions: np.ndarray) -> pd.Series:
        subset = values.iloc[positions]
        if pd.api.types.is_datetime64_any_dtype(subset.dtype):
            is_midnight = bool((subset.dropna() == subset.dropna().dt.normalize()).all())
            shown = subset.dt.strftime("%Y-%m-%d" if is_midnight else "%Y-%m-%d %H:%M:%S")
        else:
            shown = _as_text(subset)
        return shown.fillna("NULL").reset_index(drop=True) + " " + text

    return describe


def _quarantine_frame(
    frame: pd.DataFrame,
    problems: list[_Problem],
    bad_positions: np.ndarray,
    source: str,
    source_rows: np.ndarray,
) -> pd.DataFrame:
    """One row per bad input row: primary (first) reason's column and code, all reasons."""
    n_bad = len(bad_positions)
    if n_bad == 0:
        return pd.DataFrame(
            {
                "source": pd.Series(dtype="str"),
                "source_row": pd.Series(dtype="int64"),
                "column_name": pd.Series(dtype="str"),
                "reason_code": pd.Series(dtype="str"),
                "reason": pd.Series(dtype="str"),
                "raw_record": pd.Series(dtype="str"),
            }
        )
    primary_column = pd.Series(pd.NA, index=range(n_bad), dtype="str")
    primary_code = pd.Series(pd.NA, index=range(n_bad), dtype="str")
    reasons = pd.Series(pd.NA, index=range(n_bad), dtype="str")
    for problem in problems:
        hit = problem.mask[bad_positions]
        if not hit.any():
            continue
        hit_index = np.flatnonzero(hit)
        messages = problem.column + ": " + problem.describe(bad_positions[hit_index])
        messages.index = hit_index
        is_first = primary_code.iloc[hit_index].isna().to_numpy(dtype=bool)
        primary_column.iloc[hit_index[is_first]] = problem.column
        primary_code.iloc[hit_index[is_first]] = problem.code
        previous = reasons.iloc[hit_index]
        reasons.iloc[hit_index] = (previous + "; " + messages).where(~is_first, messages)
    record_columns = [name for name in frame.columns if name != SOURCE_ROW]
    records = (
        frame.iloc[bad_positions][record_columns]
        .to_json(orient="records", lines=True, date_format="iso", date_unit="s", force_ascii=False)
        .rstrip("\n")
        .split("\n")
    )
    return pd.DataFrame(
        {
            "source": pd.Series(source, index=range(n_bad), dtype="str"),
            "source_row": source_rows[bad_positions],
            "column_name": primary_column,
            "reason_code": primary_code,
            "reason": reasons,
            "raw_record": pd.Series(records, dtype="str"),
        }
    )
