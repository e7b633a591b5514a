"""Read CSV, JSON Lines and Parquet files (optionally gzip'd) as ordered Arrow batches, and
stage them in DuckDB: a clean CSV through DuckDB's own reader (`stage_csv`), Arrow batches
under `s_<target>` names (`raw_batch`).

Every batch carries `_row`, the 1-based record number in its file, so an error can name the
place: the line for JSON Lines (exact) and CSV (exact, computed on the error path), the row for
Parquet.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

ROW = "_row"
JSON_COLUMN = "_json"
BATCH_ROWS = 1_000_000
CSV_BLOCK = 16 << 20
CSV_NULLS = list(pacsv.ConvertOptions().null_values)
"""Unquoted CSV fields read as NULL (Arrow's null markers, the empty field among them)."""


class FileFormatError(ValueError):
    """A file that cannot be read at all (unknown format, broken header, invalid bytes)."""


@dataclass(frozen=True)
class SourceFile:
    path: Path
    format: str  # "csv" | "jsonl" | "parquet"
    gzipped: bool

    @property
    def size(self) -> int:
        return self.path.stat().st_size

    def place(self, row: int) -> str:
        """Where record `row` (1-based) is, as `file:line` or `file:row N`."""
        if self.format == "parquet":
            return f"{self.path}:row {row}"
        if self.format == "jsonl":
            return f"{self.path}:{row}"
        return f"{self.path}:{csv_line_of_record(self, row)}"


def detect(path: Path) -> SourceFile:
    """Format from the file name: .csv, .jsonl/.ndjson/.json, .parquet, each optionally .gz."""
    if not path.exists():
        raise FileFormatError(f"{path}: no such file")
    name = path.name.lower()
    gzipped = name.endswith(".gz")
    if gzipped:
        name = name[:-3]
    for suffixes, fmt in (
        ((".csv", ".tsv", ".txt"), "csv"),
        ((".jsonl", ".ndjson", ".json"), "jsonl"),
        ((".parquet", ".pq"), "parquet"),
    ):
        if name.endswith(suffixes):
            if fmt == "parquet" and gzipped:
                raise FileFormatError(f"{path}: Parquet compresses itself; give the .parquet file")
            return SourceFile(path, fmt, gzipped)
    raise FileFormatError(
        f"{path}: unknown file type; use .csv, .jsonl (or .ndjson) or .parquet, optionally .gz"
    )


def _open_binary(src: SourceFile) -> BinaryIO:
    if src.gzipped:
        return cast(BinaryIO, gzip.open(src.path, "rb"))
    return open(src.path, "rb")


class _CountingReader(io.RawIOBase):
    """Counts bytes read from the file on disk, for progress on compressed and plain files."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.raw.read(len(b))
        n = len(data)
        b[:n] = data
        self.count += n
        return n


def columns_of(src: SourceFile) -> list[str]:
    """Column names (CSV header, Parquet schema); JSON Lines has no fixed columns."""
    if src.format == "parquet":
        return list(pq.ParquetFile(src.path).schema_arrow.names)
    if src.format == "jsonl":
        return []
    with _open_binary(src) as fh:
        text = io.TextIOWrapper(fh, encoding="utf-8-sig", newline="")
        try:
            header = next(csv.reader(text, delimiter=delimiter_of(src)), None)
        except UnicodeDecodeError as exc:
            raise FileFormatError(f"{src.path}:1: not UTF-8 text ({exc.reason})") from exc
    if not header:
        raise FileFormatError(f"{src.path}:1: empty file, expected a header line")
    if len(set(header)) != len(header):
        dupes = sorted({h for h in header if header.count(h) > 1})
        raise FileFormatError(f"{src.path}:1: duplicate column names {dupes}")
    return header


def delimiter_of(src: SourceFile) -> str:
    return "\t" if src.path.name.lower().removesuffix(".gz").endswith(".tsv") else ","


def iter_batches(src: SourceFile, progress: list[int] | None = None) -> Iterator[pa.RecordBatch]:
    """Ordered batches with a `_row` column. `progress[0]` is kept at the bytes read so far."""
    if src.format == "parquet":
        yield from _parquet_batches(src, progress)
    elif src.format == "jsonl":
        yield from _jsonl_batches(src, progress)
    else:
        yield from _csv_batches(src, progress)


def _with_row(batch: pa.RecordBatch, first: int) -> pa.RecordBatch:
    rows = pa.array(range(first, first + batch.num_rows), pa.int64())
    return pa.RecordBatch.from_arrays([*batch.columns, rows], names=[*batch.schema.names, ROW])


def _parquet_batches(src: SourceFile, progress: list[int] | None) -> Iterator[pa.RecordBatch]:
    pf = pq.ParquetFile(src.path)
    total_rows = max(pf.metadata.num_rows, 1)
    first = 1
    for batch in pf.iter_batches(batch_size=BATCH_ROWS):
        yield _with_row(batch, first)
        first += batch.num_rows
        if progress is not None:
            progress[0] = int(src.size * (first - 1) / total_rows)


def _csv_batches(src: SourceFile, progress: list[int] | None) -> Iterator[pa.RecordBatch]:
    header = columns_of(src)
    counter = _CountingReader(open(src.path, "rb"))  # noqa: SIM115 - closed below
    stream: io.IOBase = gzip.GzipFile(fileobj=counter) if src.gzipped else counter
    try:
        reader = pacsv.open_csv(
            stream,
            read_options=pacsv.ReadOptions(block_size=CSV_BLOCK, encoding="utf8"),
            parse_options=pacsv.ParseOptions(delimiter=delimiter_of(src), newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
            ),
        )
        first = 1
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            except pa.ArrowInvalid as exc:
                raise FileFormatError(_csv_problem(src, first, exc)) from exc
            yield _with_row(batch, first)
            first += batch.num_rows
            if progress is not None:
                progress[0] = counter.count
    except pa.ArrowInvalid as exc:
        raise FileFormatError(_csv_problem(src, 1, exc)) from exc
    finally:
        stream.close()
        counter.raw.close()


def _csv_problem(src: SourceFile, near_row: int, exc: Exception) -> str:
    """Arrow's CSV errors name a row within a block; find the true line with the csv module."""
    expected = len(columns_of(src))
    with _open_binary(src) as fh:
        text = io.TextIOWrapper(fh, encoding="utf-8-sig", newline="")
        reader = csv.reader(text, delimiter=delimiter_of(src))
        try:
            next(reader)
            for record in reader:
                if len(record) != expected and record:
                    return (
                        f"{src.path}:{reader.line_num}: expected {expected} fields, "
                        f"found {len(record)}"
                    )
        except (UnicodeDecodeError, csv.Error) as err:
            return f"{src.path}:{reader.line_num + 1}: cannot read CSV ({err})"
    return f"{src.path}: cannot read CSV near record {near_row}: {exc}"


def csv_line_of_record(src: SourceFile, row: int) -> int:
    """Physical line where data record `row` (1-based, after the header) starts."""
    with _open_binary(src) as fh:
        text = io.TextIOWrapper(fh, encoding="utf-8-sig", newline="")
        reader = csv.reader(text, delimiter=delimiter_of(src))
        next(reader, None)
        line = reader.line_num
        for n, _ in enumerate(reader, start=1):
            if n == row:
                return line + 1
            line = reader.line_num
    return row + 1


def _jsonl_batches(src: SourceFile, progress: list[int] | None) -> Iterator[pa.RecordBatch]:
    """One string per non-blank line; `_row` is the physical line number."""
    lines: list[str] = []
    numbers: list[int] = []
    with _open_binary(src) as fh:
        for lineno, line in enumerate(fh, start=1):
            stripped = line.strip()
            if not stripped:
                continue
            try:
                lines.append(stripped.decode("utf-8"))
            except UnicodeDecodeError as exc:
                raise FileFormatError(
                    f"{src.path}:{lineno}: not UTF-8 text ({exc.reason})"
                ) from exc
            numbers.append(lineno)
            if len(lines) >= BATCH_ROWS:
                yield _json_batch(lines, numbers)
                lines, numbers = [], []
                if progress is not None and not src.gzipped:
                    progress[0] = fh.tell()
    if lines:
        yield _json_batch(lines, numbers)
    if progress is not None:
        progress[0] = src.size


def _json_batch(lines: list[str], numbers: list[int]) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays(
        [pa.array(lines, pa.string()), pa.array(numbers, pa.int64())], names=[JSON_COLUMN, ROW]
    )


def _read_csv(src: SourceFile) -> tuple[str, dict[str, object]]:
    """DuckDB's own (parallel) reader over a CSV file, every column as text with the Arrow
    reader's null rules (unquoted empty fields and `CSV_NULLS` are NULL, quoted ones are text)."""
    options = (
        f"all_varchar = true, header = true, delim = '{delimiter_of(src)}', quote = '\"',"
        " escape = '\"', strict_mode = true, allow_quoted_nulls = false, nullstr = $nulls,"
        f" compression = '{'gzip' if src.gzipped else 'none'}'"
    )
    return f"SELECT * FROM read_csv($p, {options})", {"p": str(src.path), "nulls": CSV_NULLS}


def csv_relation(
    con: duckdb.DuckDBPyConnection, src: SourceFile, header: list[str]
) -> duckdb.DuckDBPyRelation | None:
    """A relation over the file as `_read_csv` reads it, or None when DuckDB's sniffer declines
    the file or sees other columns than `header`. Reading it may still fail on a malformed
    record further on. In a CREATE TABLE AS, insertion order is kept, so a row's rowid + 1 is
    its record number."""
    sql, params = _read_csv(src)
    try:
        rel = con.sql(sql, params=params)
    except duckdb.Error:
        return None
    return rel if rel.columns == header else None


def stage_csv(
    con: duckdb.DuckDBPyConnection, src: SourceFile, header: list[str], table: str
) -> str | None:
    """Read a CSV file with DuckDB's own reader (`_read_csv`) into temporary table `table`;
    returns its name, or None (and no table) when the strict reader declines the file or sees
    other columns than `header`. Insertion order is kept, so a row's rowid + 1 is its record
    number."""
    sql, params = _read_csv(src)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {sql}", params)
        if con.table(table).columns == header:
            return table
    except duckdb.Error:
        pass
    con.execute(f"DROP TABLE IF EXISTS {table}")
    return None


def raw_batch(
    con: duckdb.DuckDBPyConnection,
    batch: pa.RecordBatch,
    targets: dict[str, str],
    extras: list[str],
    is_json: bool,
) -> pa.Table:
    """Rename source columns to s_<target> / x_<n> so no file-given name reaches SQL text."""
    if not is_json:
        arrays = [batch.column(src) for src in targets.values()]
        arrays += [batch.column(name) for name in extras]
        names = [f"s_{t}" for t in targets] + [f"x_{n}" for n in range(len(extras))]
        return pa.Table.from_arrays([*arrays, batch.column(ROW)], names=[*names, ROW])
    bad = [s for s in targets.values() if '"' in s]
    if bad:
        raise ValueError(f"--map source {bad[0]!r}: JSON field names may not contain '\"'")
    params = {f"p{n}": f'$."{s}"' for n, s in enumerate(targets.values())}
    selects = [f"json_extract_string({JSON_COLUMN}, $p{n}) AS s_{t}" for n, t in enumerate(targets)]
    json_batch = pa.Table.from_batches([batch])  # noqa: F841 - read by DuckDB below
    sql = f"SELECT {', '.join([*selects, ROW])} FROM json_batch"
    return con.sql(sql, params=params).to_arrow_table()
