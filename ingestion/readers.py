"""Read user files from the landing folder, safely and without interpreting their values.

Users drop CSV or Parquet files into ``$TWINOPS_HOME/landing/<table>/``. Paths from users
are confined to that folder. A file that cannot be read as a whole (bad encoding, not a
CSV or Parquet file, empty, missing required columns, ragged rows) raises IngestionError
naming the file, the row and the column where known: nothing from it is loaded. Readable
files come back with their values uncoerced (CSV cells as text, Parquet values as stored)
and a ``_source_row`` column, so that ``split_rows`` can quarantine bad rows one by one.
"""

from __future__ import annotations

import csv
import io
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ingestion.contracts.base import TableContract
from ingestion.errors import HEADER, IngestionError
from ingestion.quarantine import SOURCE_ROW

CSV_SUFFIXES = frozenset({".csv"})
PARQUET_SUFFIXES = frozenset({".parquet", ".pq"})
# Far above any file we expect (the default world's biggest table is ~60 MB as CSV); it
# exists so that a runaway export fails with a clear message instead of exhausting memory.
DEFAULT_MAX_BYTES = 2 * 1024**3

_TABLE_NAME = re.compile(r"[a-z][a-z0-9_]*")
_PANDAS_FIELD_COUNT = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


def resolve_landing_path(landing_root: Path | str, table: str, relative: str | Path) -> Path:
    """The real path of ``relative`` inside ``landing_root/<table>/``, or IngestionError.

    Refuses absolute paths, any ``..`` component, and anything whose real location (after
    following symlinks, including a symlinked table folder) is outside the table's folder.
    The file need not exist yet.
    """
    if not _TABLE_NAME.fullmatch(table):
        raise IngestionError(
            "table name must be lower-case letters, digits and underscores", source=table
        )
    text = str(relative)
    candidate = Path(text)
    if not text or "\x00" in text or candidate == Path("."):
        raise IngestionError("is not a file name inside the landing folder", source=repr(text))
    if candidate.is_absolute():
        raise IngestionError(
            f"absolute paths are refused; give a path relative to landing/{table}/",
            source=text,
        )
    if ".." in candidate.parts:
        raise IngestionError(
            f"'..' is refused in landing paths; give a path inside landing/{table}/",
            source=text,
        )
    root = Path(landing_root).resolve()
    table_folder = (root / table).resolve()
    if not table_folder.is_relative_to(root):
        raise IngestionError(
            f"landing/{table} points outside the landing folder (to {table_folder})",
            source=root / table,
        )
    resolved = (table_folder / candidate).resolve()
    if resolved == table_folder or not resolved.is_relative_to(table_folder):
        raise IngestionError(
            f"resolves to {resolved}, outside landing/{table}/ (a symlink out is refused)",
            source=text,
        )
    return resolved


def list_landing_files(landing_root: Path | str, table: str) -> list[Path]:
    """The files waiting in ``landing_root/<table>/``, sorted by name.

    Hidden names and names starting with ``_`` are skipped (writers use them for files
    still being copied). Every other file is listed, whatever its suffix, so that a wrong
    file fails loudly when read instead of being ignored; a symlink leading outside the
    folder raises IngestionError.
    """
    folder = Path(landing_root) / table
    if not folder.is_dir():
        return []
    files: list[Path] = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith((".", "_")):
            continue
        resolved = resolve_landing_path(landing_root, table, entry.name)
        if resolved.is_file():
            files.append(resolved)
    return files


def read_landing_file(
    path: Path | str, contract: TableContract, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> pd.DataFrame:
    """Read a landing file as delivered, plus ``_source_row`` (1-based data row number).

    CSV must be UTF-8 (a BOM is allowed) with a header row; every cell is read as text
    and only empty cells are missing ("NA" or "null" stay text, and fail type checks if
    they are in a typed column). Parquet values keep their stored types (integers as
    nullable Int64 so that large ids stay exact). Columns beyond the contract are kept (they
    appear in quarantine records) but never loaded.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in CSV_SUFFIXES | PARQUET_SUFFIXES:
        raise IngestionError(
            f"is not a CSV or Parquet file (suffix {suffix or 'missing'!r}; expected "
            f"{', '.join(sorted(CSV_SUFFIXES | PARQUET_SUFFIXES))})",
            source=path,
        )
    if not path.is_file():
        raise IngestionError("does not exist or is not a regular file", source=path)
    size = path.stat().st_size
    if size == 0:
        raise IngestionError("is empty (0 bytes): expected a header row and data rows", source=path)
    if size > max_bytes:
        raise IngestionError(
            f"is {size:,} bytes, above the {max_bytes:,}-byte limit for one landing file; "
            "split it into several files",
            source=path,
        )
    frame = _read_csv(path) if suffix in CSV_SUFFIXES else _read_parquet(path)
    _check_columns(path, contract, list(frame.columns))
    if frame.empty:
        raise IngestionError("has a header but no data rows", source=path)
    frame[SOURCE_ROW] = np.arange(1, len(frame) + 1, dtype="int64")
    return frame


def _read_csv(path: Path) -> pd.DataFrame:
    data = path.read_bytes()
    text = _decode_utf8(path, data)
    if not text.strip():
        raise IngestionError("holds only whitespace: expected a header row", source=path)
    header = [name.strip() for name in next(csv.reader(io.StringIO(text)))]
    _check_unique_header(path, header)
    try:
        # index_col=False: otherwise pandas silently turns the first column into the index
        # when the first data row has one field more than the header; it warns instead,
        # and that warning is promoted to an error below.
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(
                io.StringIO(text),
                dtype="str",
                keep_default_na=False,
                na_values=[""],
                skip_blank_lines=True,
                index_col=False,
            )
    except pd.errors.ParserWarning as warning:
        raise IngestionError(
            f"has more fields than the header's {len(header)}; quote cells that contain commas",
            source=path,
            row=1,
        ) from warning
    except pd.errors.ParserError as error:
        match = _PANDAS_FIELD_COUNT.search(str(error))
        if match:
            expected, line, seen = (int(group) for group in match.groups())
            raise IngestionError(
                f"has {seen} fields where the header has {expected}; "
                "quote cells that contain commas",
                source=path,
                row=line - 1,
            ) from error
        raise IngestionError(f"is not a well-formed CSV file: {error}", source=path) from error
    frame.columns = header
    return frame


def _decode_utf8(path: Path, data: bytes) -> str:
    """Decode as UTF-8 or fail naming the row and (approximately) the column."""
    nul = data.find(b"\x00")
    try:
        if nul >= 0:
            raise UnicodeDecodeError("utf-8", data, nul, nul + 1, "NUL byte")
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        offset = error.start
        line = data.count(b"\n", 0, offset) + 1
        line_start = data.rfind(b"\n", 0, offset) + 1
        field_index = data[line_start:offset].count(b",")
        first_line = data.split(b"\n", 1)[0].decode("utf-8", errors="replace")
        header = [name.strip() for name in next(csv.reader([first_line]), [])]
        column = header[field_index] if line > 1 and field_index < len(header) else None
        raise IngestionError(
            f"is not valid UTF-8 text (byte 0x{data[offset]:02x} at offset {offset}"
            f"{', a NUL byte: binary or UTF-16 content' if data[offset] == 0 else ''}); "
            "save it as UTF-8 CSV",
            source=path,
            row=HEADER if line == 1 else line - 1,
            column=column,
        ) from error


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as error:
        raise IngestionError(f"is not a readable Parquet file: {error}", source=path) from error
    _check_unique_header(path, table.column_names)
    try:
        return table.to_pandas(types_mapper=_nullable_dtype)
    except (pa.ArrowException, ValueError, TypeError) as error:
        raise IngestionError(
            f"has Parquet values pandas cannot hold: {error}", source=path
        ) from error


def _nullable_dtype(arrow_type: pa.DataType) -> object | None:
    """Integers and booleans as nullable pandas dtypes: with nulls they would become floats."""
    if pa.types.is_integer(arrow_type):
        return pd.Int64Dtype()
    if pa.types.is_boolean(arrow_type):
        return pd.BooleanDtype()
    return None


def _check_unique_header(path: Path, header: list[str]) -> None:
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise IngestionError(
            f"the header repeats column(s) {', '.join(repeated)}",
            source=path,
            row=HEADER,
            column=", ".join(repeated),
        )


def _check_columns(path: Path, contract: TableContract, header: list[str]) -> None:
    missing = [
        column.name
        for column in contract.columns
        if column.name not in header and not column.nullable
    ]
    if missing:
        raise IngestionError(
            f"missing required column(s) {', '.join(missing)}; the header has "
            f"{', '.join(header) or 'no columns'}, table {contract.name!r} needs "
            f"{', '.join(contract.column_names)}",
            source=path,
            row=HEADER,
            column=", ".join(missing),
        )
