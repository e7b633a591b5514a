"""Country and city of the sender's IP address, from a MaxMind database the user supplies.

Put a GeoLite2 or GeoIP2 City (or Country) database at `<data dir>/geoip/GeoLite2-City.mmdb`
(any `*.mmdb` in that folder; the first by name is used). Without one, events keep whatever
`$geoip_*` properties the SDK sent. Names are MaxMind's English ones, as PostHog stores them.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Any

import maxminddb

Place = tuple[str | None, str | None]


def find_database(data_dir: Path) -> Path | None:
    """The first `*.mmdb` file in `<data dir>/geoip/`, if there is one."""
    folder = data_dir / "geoip"
    found = sorted(folder.glob("*.mmdb")) if folder.is_dir() else []
    return found[0] if found else None


class GeoIP:
    """Lookups in one database, cached per address (senders repeat)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._reader = maxminddb.open_database(str(path))
        self.place = lru_cache(maxsize=65_536)(self._place)

    def _place(self, ip: str) -> Place:
        try:
            address = ipaddress.ip_address(ip.strip())
        except ValueError:
            return (None, None)
        if not address.is_global:  # private and loopback addresses have no place
            return (None, None)
        record: Any = self._reader.get(address)
        if not isinstance(record, dict):
            return (None, None)
        return (_name(record.get("country")), _name(record.get("city")))

    def close(self) -> None:
        self._reader.close()


def _name(part: Any) -> str | None:
    if isinstance(part, dict) and isinstance(part.get("names"), dict):
        name = part["names"].get("en")
        return name if isinstance(name, str) else None
    return None
