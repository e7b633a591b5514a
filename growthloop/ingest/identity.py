"""Who is who: distinct_id -> person_id, merged by $identify, $create_alias and an import column.

Rules (PostHog's): `$identify` with `$anon_distinct_id` merges the anonymous id's person into the
logged-in id's person, unless the anonymous side already belongs to an identified person (then
nothing is merged: two logged-in users are never joined by an identify). `$create_alias` (property
`alias`) and the import column `user_id` always merge. The surviving person is the logged-in
side's; its id is the first identified distinct_id. Events, orders and identities of a merged-away
person move to the survivor, and their person properties are merged (survivor's values win).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

_ANON = "json_extract_string(properties, '$.\"$anon_distinct_id\"')"
_ALIAS = "json_extract_string(properties, '$.alias')"


@dataclass
class _Graph:
    """Union-find over person ids, with the identified flag kept on the root."""

    parent: dict[str, str] = field(default_factory=dict)
    identified: set[str] = field(default_factory=set)

    def find(self, person: str) -> str:
        root = person
        while self.parent.get(root, root) != root:
            root = self.parent[root]
        while person != root:  # path compression
            self.parent[person], person = root, self.parent[person]
        return root


def special_rows(con: duckdb.DuckDBPyConnection, table: str, out: str) -> None:
    """Table `out`: the few rows of `table` that `resolve` and `apply_person_properties` read
    (identify and alias events, rows with a user_id, properties that mention `$set`), found in
    one scan of the batch instead of one per use."""
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {out} AS
            SELECT event, distinct_id, user_id, timestamp, properties, _file, _row FROM {table}
            WHERE event IN ('$identify', '$create_alias') OR user_id IS NOT NULL
               OR CAST(properties AS VARCHAR) LIKE '%"$set%'"""
    )


def resolve(con: duckdb.DuckDBPyConnection, table: str, special: str) -> dict[str, int]:
    """Update identities and persons for the events in `table`, whose identify and alias
    events and user_id rows are also in `special` (`special_rows`)."""
    edges = con.execute(
        f"""SELECT anon, uid, kind FROM (
              SELECT {_ANON} AS anon, distinct_id AS uid, 'identify' AS kind, timestamp, _file, _row
                FROM {special} WHERE event = '$identify'
              UNION ALL
              SELECT {_ALIAS}, distinct_id, 'alias', timestamp, _file, _row
                FROM {special} WHERE event = '$create_alias'
              UNION ALL
              SELECT distinct_id, user_id, 'import', timestamp, _file, _row
                FROM {special} WHERE user_id IS NOT NULL
            ) WHERE uid IS NOT NULL
            ORDER BY timestamp, _file, _row"""
    ).fetchall()
    ids = sorted({x for a, u, _ in edges for x in (a, u) if x is not None})
    known = _known_people(con, ids)
    graph = _Graph(identified={p for p, ident in known.values() if ident})
    person_of = {d: p for d, (p, _) in known.items()}
    for d in ids:
        person_of.setdefault(d, d)
    merged = 0
    for anon, uid, kind in edges:
        pb = graph.find(person_of[uid])
        if kind != "alias":  # the logged-in side of an identify or an import column
            graph.identified.add(pb)
        if anon is None:
            continue
        pa_ = graph.find(person_of[anon])
        if pa_ == pb or (kind == "identify" and pa_ in graph.identified):
            continue
        graph.parent[pa_] = pb
        graph.identified.add(pb)
        merged += 1
    existing_people = {p for p, _ in known.values()}
    losers = [(p, graph.find(p)) for p in existing_people if graph.find(p) != p]
    new_links = [(d, graph.find(person_of[d])) for d in ids if d not in known]
    identified = sorted({graph.find(p) for p in graph.identified})
    _apply_merges(con, losers)
    _insert_links(con, new_links)
    _ensure_people(con, table, identified)
    return {"identity_links": len(edges), "persons_merged": merged}


def _known_people(con: duckdb.DuckDBPyConnection, ids: list[str]) -> dict[str, tuple[str, bool]]:
    """distinct_id -> (person_id, identified) for ids the store already knows."""
    if not ids:
        return {}
    rows = con.execute(
        """SELECT pi.distinct_id, pi.person_id, coalesce(p.is_identified, false)
           FROM person_identities pi LEFT JOIN persons p ON p.person_id = pi.person_id
           WHERE pi.distinct_id IN (SELECT unnest($ids))""",
        {"ids": ids},
    ).fetchall()
    return {d: (p, bool(i)) for d, p, i in rows}


def _apply_merges(con: duckdb.DuckDBPyConnection, losers: list[tuple[str, str]]) -> None:
    if not losers:
        return
    _merge = pa.table({"loser": [a for a, _ in losers], "survivor": [b for _, b in losers]})
    con.execute("CREATE OR REPLACE TEMP TABLE _merge AS SELECT * FROM _merge")
    for table in ("person_identities", "events", "orders"):
        con.execute(
            f"UPDATE {table} SET person_id = m.survivor FROM _merge m WHERE {table}.person_id = m.loser"
        )
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _pm AS
           SELECT m.survivor, min(p.created_at) AS created_at,
                  list(coalesce(p.properties, '{}'::JSON) ORDER BY p.created_at) AS props
           FROM _merge m JOIN persons p ON p.person_id = m.loser GROUP BY m.survivor"""
    )
    con.execute("DELETE FROM persons USING _merge m WHERE persons.person_id = m.loser")
    merged = "list_reduce(props, lambda a, b: json_merge_patch(a, b))"
    con.execute(
        f"""UPDATE persons SET
              properties = json_merge_patch({merged}, coalesce(persons.properties, '{{}}'::JSON)),
              created_at = least(persons.created_at, pm.created_at),
              is_identified = true, updated_at = timezone('UTC', now())
            FROM _pm pm WHERE persons.person_id = pm.survivor"""
    )
    con.execute(
        f"""INSERT INTO persons
            SELECT survivor, created_at, true, {merged}, timezone('UTC', now()) FROM _pm
            WHERE survivor NOT IN (SELECT person_id FROM persons)"""
    )
    con.execute("DROP TABLE _pm")
    con.execute("DROP TABLE _merge")


def _insert_links(con: duckdb.DuckDBPyConnection, links: list[tuple[str, str]]) -> None:
    if not links:
        return
    _links = pa.table({"distinct_id": [d for d, _ in links], "person_id": [p for _, p in links]})
    con.execute(
        "INSERT INTO person_identities SELECT distinct_id, person_id, timezone('UTC', now()) FROM _links"
    )


def _ensure_people(con: duckdb.DuckDBPyConnection, table: str, identified: list[str]) -> None:
    """Identities for new distinct_ids (each its own person), persons rows, first-seen times."""
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _seen AS
            SELECT distinct_id, min(timestamp) AS first FROM {table} GROUP BY distinct_id"""
    )
    con.execute(
        """INSERT INTO person_identities
           SELECT distinct_id, distinct_id, timezone('UTC', now()) FROM _seen s
           ANTI JOIN person_identities pi ON pi.distinct_id = s.distinct_id"""
    )
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _seen_people AS
           SELECT pi.person_id, min(s.first) AS first FROM _seen s
           JOIN person_identities pi ON pi.distinct_id = s.distinct_id GROUP BY pi.person_id"""
    )
    con.execute(
        """INSERT INTO persons
           SELECT person_id, first, false, '{}'::JSON, timezone('UTC', now()) FROM _seen_people s
           ANTI JOIN persons p ON p.person_id = s.person_id"""
    )
    con.execute(
        """UPDATE persons SET created_at = s.first FROM _seen_people s
           WHERE persons.person_id = s.person_id AND s.first < persons.created_at"""
    )
    if identified:
        _identified = pa.table({"person_id": pa.array(identified, pa.string())})
        con.execute(
            """UPDATE persons SET is_identified = true, updated_at = timezone('UTC', now())
               WHERE NOT is_identified AND person_id IN (SELECT person_id FROM _identified)"""
        )
    con.execute("DROP TABLE _seen")
    con.execute("DROP TABLE _seen_people")


def ensure_buyers(con: duckdb.DuckDBPyConnection, table: str, id_col: str, ts_col: str) -> None:
    """Buyers in an orders import that no event has named become identified persons."""
    con.execute(
        f"""INSERT INTO person_identities
            SELECT DISTINCT {id_col}, {id_col}, timezone('UTC', now()) FROM {table} t
            WHERE NOT EXISTS (SELECT 1 FROM person_identities pi WHERE pi.distinct_id = t.{id_col})"""
    )
    con.execute(
        f"""INSERT INTO persons
            SELECT pi.person_id, min(t.{ts_col}), true, '{{}}'::JSON, timezone('UTC', now())
            FROM {table} t JOIN person_identities pi ON pi.distinct_id = t.{id_col}
            WHERE NOT EXISTS (SELECT 1 FROM persons p WHERE p.person_id = pi.person_id)
            GROUP BY pi.person_id"""
    )


def apply_person_properties(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """`$set` (latest wins) and `$set_once` (first wins, never over a stored value)."""
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _ps AS
            SELECT pi.person_id,
              list(json_extract(properties, '$."$set"') ORDER BY timestamp, _file, _row)
                FILTER (WHERE json_type(properties, '$."$set"') = 'OBJECT') AS sets,
              list(json_extract(properties, '$."$set_once"') ORDER BY timestamp DESC, _file DESC, _row DESC)
                FILTER (WHERE json_type(properties, '$."$set_once"') = 'OBJECT') AS onces
            FROM {table} t JOIN person_identities pi ON pi.distinct_id = t.distinct_id
            WHERE CAST(properties AS VARCHAR) LIKE '%"$set%'
              AND (json_exists(properties, '$."$set"') OR json_exists(properties, '$."$set_once"'))
            GROUP BY pi.person_id"""
    )
    reduce = "CASE WHEN len({0}) > 0 THEN list_reduce({0}, lambda a, b: json_merge_patch(a, b)) ELSE '{{}}'::JSON END"
    con.execute(
        f"""UPDATE persons SET
              properties = json_merge_patch(
                  json_merge_patch({reduce.format("coalesce(ps.onces, [])")},
                                   coalesce(persons.properties, '{{}}'::JSON)),
                  {reduce.format("coalesce(ps.sets, [])")}),
              updated_at = timezone('UTC', now())
            FROM _ps ps WHERE persons.person_id = ps.person_id"""
    )
    con.execute("DROP TABLE _ps")
