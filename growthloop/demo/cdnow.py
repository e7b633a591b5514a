"""The CDNOW purchase data (Fader, Hardie & Lee) as orders: real repeat-buying behaviour.

Two layouts are read, both with fields separated by runs of spaces:
- CDNOW_master.txt: a header line, then customer_id, date (YYYYMMDD), number_of_cds, dollar_value;
- CDNOW_sample.txt: no header; master_id, sample_id, date, number_of_cds, dollar_value.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq

MASTER = "CDNOW_master.txt"
SAMPLE = "CDNOW_sample.txt"


class CdnowFormatError(ValueError):
    """A line of a CDNOW file that does not have the expected fields."""


@dataclass(frozen=True)
class Purchase:
    line: int
    customer: str
    day: date
    cds: int
    dollars: str  # kept as text: amounts are stored exactly as the file has them


def find_file(path: Path) -> Path:
    """The master file of a CDNOW directory (else its sample), or the file given."""
    if path.is_dir():
        for name in (MASTER, SAMPLE):
            if (path / name).exists():
                return path / name
        raise FileNotFoundError(f"{path}: no {MASTER} or {SAMPLE} in this directory")
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    return path


def read_purchases(path: Path) -> list[Purchase]:
    """Every purchase line of a CDNOW file (either layout), checked field by field."""
    out: list[Purchase] = []
    with path.open(encoding="ascii") as handle:
        for number, text in enumerate(handle, start=1):
            fields = text.split()
            if not fields or (number == 1 and not fields[0].isdigit()):
                continue  # blank line or the master file's header
            if len(fields) == 5:
                fields = [fields[0], *fields[2:]]  # sample layout: keep the master id
            if len(fields) != 4:
                raise CdnowFormatError(
                    f"{path}:{number}: expected 4 fields (customer_id date number_of_cds"
                    f" dollar_value) or 5 (with sample_id), found {len(fields)}"
                )
            customer, ymd, cds, dollars = fields
            try:
                day = datetime.strptime(ymd, "%Y%m%d").date()
            except ValueError:
                raise CdnowFormatError(
                    f"{path}:{number}: date {ymd!r} is not a YYYYMMDD date"
                ) from None
            if not cds.isdigit():
                raise CdnowFormatError(f"{path}:{number}: number_of_cds {cds!r} is not a count")
            try:
                float(dollars)
            except ValueError:
                raise CdnowFormatError(
                    f"{path}:{number}: dollar_value {dollars!r} is not a number"
                ) from None
            out.append(Purchase(number, customer, day, int(cds), dollars))
    return out


def write_orders_file(source: Path, out: Path, timezone: str) -> tuple[Path, int]:
    """Write the purchases as an orders import file; returns (file, rows).

    order_id = cdnow-<customer>-<date>-<line>, so a re-import stores nothing twice; the order
    time is midnight of the purchase date in the project time zone.
    """
    tz = ZoneInfo(timezone)
    purchases = read_purchases(find_file(source))
    table = pa.table(
        {
            "order_id": [f"cdnow-{p.customer}-{p.day:%Y%m%d}-{p.line}" for p in purchases],
            "distinct_id": [p.customer for p in purchases],
            "timestamp": pa.array(
                [datetime.combine(p.day, time(0), tz) for p in purchases],
                pa.timestamp("us", tz="UTC"),
            ),
            "amount": pa.array([p.dollars for p in purchases]).cast(pa.decimal128(18, 2)),
            "currency": ["USD"] * len(purchases),
            "items": [f'[{{"product":"CD","quantity":{p.cds}}}]' for p in purchases],
        }
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, out, compression="zstd")
    return out, table.num_rows
