"""Move checked rows from the typed import view into the event store, in one transaction.

Events and orders are never stored twice (uuid / order_id, within the batch and against the
store); spend, content and content metrics are keyed facts where a re-import replaces the row.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from growthloop.config import Settings
from growthloop.ingest import enrich, identity, sessions
from growthloop.ingest.sources import ImportKind
from growthloop.store.events import EventStore
from growthloop.store.schema import EVENTS

_ORDER = "_file, _row"


@dataclass
class StoreCounts:
    stored: int = 0
    duplicate: int = 0
    details: dict[str, int] = field(default_factory=dict)


def store_typed(
    store: EventStore,
    spec: ImportKind,
    typed: str,
    settings: Settings,
    provided: frozenset[str] = frozenset(),
    *,
    uuids_given: bool = False,
) -> StoreCounts:
    """Store the rows of view `typed` (columns t_<target>, _file, _row); all or nothing."""
    if spec.name == "events":
        return _store_events(store, typed, settings, provided, uuids_given)
    if spec.name == "orders":
        return _store_orders(store, typed, settings.currency)
    return _store_keyed(store, spec, typed, settings.currency)


def count_rows(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    """The single number a `SELECT count(*) ...` gives (0 for none)."""
    rows = con.execute(sql).fetchall()
    row = rows[0] if rows else None
    return int(row[0]) if row and row[0] is not None else 0


def _currency(code: str) -> str:
    if not (len(code) == 3 and code.isalpha()):
        raise ValueError(f"currency must be a 3-letter code, got {code!r}")
    return code.upper()


def _store_keyed(store: EventStore, spec: ImportKind, typed: str, currency: str) -> StoreCounts:
    con, table = store.con, spec.table
    key = ", ".join(f"t_{k}" for k in table.key)
    defaults = {
        "currency": f"upper(coalesce(t_currency, '{_currency(currency)}'))",
        "campaign": "coalesce(t_campaign, '')",
    }
    cols = [defaults.get(c.name, f"t_{c.name}") + f" AS {c.name}" for c in table.columns]
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _keyed AS SELECT {', '.join(cols)} FROM {typed}"
        f" QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY _file DESC, _row DESC) = 1"
    )
    match = " AND ".join(f"t.{k} = k.{k}" for k in table.key)
    with store.transaction():
        replaced = count_rows(con, f"SELECT count(*) FROM {table.name} t JOIN _keyed k ON {match}")
        con.execute(f"DELETE FROM {table.name} t USING _keyed k WHERE {match}")
        con.execute(f"INSERT INTO {table.name} BY NAME SELECT * FROM _keyed")
    stored = count_rows(con, "SELECT count(*) FROM _keyed")
    total = count_rows(con, f"SELECT count(*) FROM {typed}")
    con.execute("DROP TABLE _keyed")
    return StoreCounts(stored - replaced, total - stored + replaced, {"replaced": replaced})


def _store_orders(store: EventStore, typed: str, currency: str) -> StoreCounts:
    con = store.con
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _orders AS
        SELECT s.* FROM {typed} s
        ANTI JOIN orders o ON o.order_id = s.t_order_id
        QUALIFY row_number() OVER (PARTITION BY t_order_id ORDER BY {_ORDER}) = 1"""
    )
    total = count_rows(con, f"SELECT count(*) FROM {typed}")
    with store.transaction():
        identity.ensure_buyers(con, "_orders", "t_distinct_id", "t_timestamp")
        con.execute(
            f"""INSERT INTO orders BY NAME
            SELECT t_order_id AS order_id, t_distinct_id AS distinct_id, pi.person_id,
                   t_timestamp AS timestamp, t_amount AS amount,
                   upper(coalesce(t_currency, '{_currency(currency)}')) AS currency,
                   t_items AS items, t_coupon AS coupon, t_channel AS channel,
                   t_campaign AS campaign, timezone('UTC', now()) AS inserted_at
            FROM _orders o JOIN person_identities pi ON pi.distinct_id = o.t_distinct_id"""
        )
    stored = count_rows(con, "SELECT count(*) FROM _orders")
    con.execute("DROP TABLE _orders")
    return StoreCounts(stored, total - stored)


def _store_events(
    store: EventStore,
    typed: str,
    settings: Settings,
    provided: frozenset[str],
    uuids_given: bool,
) -> StoreCounts:
    con = store.con
    enrich.create_base_view(con, typed, "_ev", provided, uuids_given=uuids_given)
    total = count_rows(con, "SELECT count(*) FROM _ev")
    _find_duplicates(con, "_ev", "_skip", any_stored=store.count("events") > 0)
    skipped = count_rows(con, "SELECT count(*) FROM _skip")
    # Every pass below reads `_new`: without rows to skip it is `_ev` itself, no anti join.
    skip = " ANTI JOIN _skip k ON k._file = e._file AND k._row = e._row" if skipped else ""
    con.execute(f"CREATE OR REPLACE TEMP VIEW _new AS SELECT e.* FROM _ev e{skip}")
    enrich.create_attribution(con, "_new", "_attrib")
    details: dict[str, int] = {}
    try:
        with store.transaction():
            identity.special_rows(con, "_new", "_special")
            details.update(identity.resolve(con, "_new", "_special"))
            sessions.assign(con, "_new", "_sess", settings.session_timeout_minutes)
            _insert_events(con, sessions_made=count_rows(con, "SELECT count(*) FROM _sess") > 0)
            identity.apply_person_properties(con, "_special")
    finally:
        for name in ("_new", "_ev"):
            con.execute(f"DROP VIEW IF EXISTS {name}")
        for name in ("_skip", "_attrib", "_sess", "_special"):
            con.execute(f"DROP TABLE IF EXISTS {name}")
    return StoreCounts(total - skipped, skipped, details)


def _find_duplicates(con: duckdb.DuckDBPyConnection, base: str, out: str, any_stored: bool) -> None:
    """Table `out` of (_file, _row) to leave out: repeats of a uuid, and uuids already stored."""
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _repeated AS
        SELECT uuid FROM {base} GROUP BY uuid HAVING count(*) > 1"""
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE {out} (_file INTEGER, _row BIGINT)")
    if count_rows(con, "SELECT count(*) FROM _repeated"):  # a second pass only when needed
        con.execute(
            f"""INSERT INTO {out}
            SELECT _file, _row FROM {base} SEMI JOIN _repeated r USING (uuid)
            QUALIFY row_number() OVER (PARTITION BY uuid ORDER BY {_ORDER}) > 1"""
        )
    con.execute("DROP TABLE _repeated")
    if any_stored:
        con.execute(
            f"""INSERT INTO {out}
            SELECT b._file, b._row FROM {base} b SEMI JOIN events e ON e.uuid = b.uuid
            EXCEPT SELECT _file, _row FROM {out}"""
        )


def _insert_events(con: duckdb.DuckDBPyConnection, *, sessions_made: bool) -> None:
    """Insert `_new` with its person, attribution and (where `sessions_made`) the sessions
    of `_sess` for rows that came without one."""
    values = {
        "person_id": "pi.person_id",
        "session_id": "coalesce(e.session_id, s.session_id)" if sessions_made else "e.session_id",
        "path": "a.path",
        "referrer_domain": "coalesce(a.ref_host, '$direct')",
        "channel": "coalesce(e.t_channel, a.channel)",
        "inserted_at": "timezone('UTC', now())",
        **{u: f"a.{u}" for u in enrich.UTM},
    }
    cols = [c.name for c in EVENTS.columns]
    select = ", ".join(values.get(c, f"e.{c}") for c in cols)
    sessions_join = (
        "\n        LEFT JOIN _sess s ON s._file = e._file AND s._row = e._row"
        if sessions_made
        else ""
    )
    con.execute(
        f"""INSERT INTO events ({", ".join(cols)})
        SELECT {select}
        FROM _new e
        JOIN person_identities pi ON pi.distinct_id = e.distinct_id
        LEFT JOIN _attrib a ON {enrich.attribution_join("e", "a")}{sessions_join}"""
    )
