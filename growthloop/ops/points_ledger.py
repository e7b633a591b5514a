"""The points ledger: earn, redeem, adjust, refund and expire, exact and idempotent.

Every write runs in one transaction that first locks the account rows of the persons it touches
(PostgreSQL: SELECT ... FOR UPDATE in person order; SQLite: BEGIN IMMEDIATE, the database's one
write lock), then checks the idempotency key, then writes the entry and the new balance. So two
redemptions can never both spend the same points, and a key written once is never written again.

Spending is FIFO by expiry: a debit takes points from the lots that expire first (lots without
an expiry last, ties by age), after expiring what is already due.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from growthloop.ops.points_models import PointsAccount, PointsEntry
from growthloop.store.metadata import utcnow
from growthloop.workspace import Workspace

CHUNK = 500


class PointsError(ValueError):
    """A points operation that cannot be done as asked (the message says why)."""


class InsufficientPoints(PointsError):
    """A debit larger than the balance."""


class KeyConflict(PointsError):
    """An idempotency key already used for a different operation."""


def local_day(at: datetime, tz: ZoneInfo) -> date:
    """The project-time-zone day of a naive UTC time."""
    return at.replace(tzinfo=ZoneInfo("UTC")).astimezone(tz).date()


class Book:
    """The ledger inside one write transaction, with some persons' accounts locked."""

    def __init__(
        self, session: Session, project_id: int, tz: ZoneInfo, accounts: dict[str, PointsAccount]
    ) -> None:
        self.session, self.project_id, self.tz, self.accounts = session, project_id, tz, accounts

    def account(self, person_id: str) -> PointsAccount:
        try:
            return self.accounts[person_id]
        except KeyError:
            raise RuntimeError(f"account {person_id!r} was not locked") from None

    def entry(self, key: str) -> PointsEntry | None:
        return self.session.scalar(
            select(PointsEntry).where(
                PointsEntry.project_id == self.project_id, PointsEntry.key == key
            )
        )

    def existing_keys(self, keys: Iterable[str]) -> set[str]:
        found: set[str] = set()
        wanted = sorted(set(keys))
        for i in range(0, len(wanted), CHUNK):
            found.update(
                self.session.scalars(
                    select(PointsEntry.key).where(
                        PointsEntry.project_id == self.project_id,
                        PointsEntry.key.in_(wanted[i : i + CHUNK]),
                    )
                )
            )
        return found

    def cap_used(self, rule_id: int, person_id: str, day: date) -> int:
        """Points a rule has earned a person on a day (for the rule's daily cap)."""
        used = self.session.scalar(
            select(func.coalesce(func.sum(PointsEntry.points), 0)).where(
                PointsEntry.project_id == self.project_id,
                PointsEntry.rule_id == rule_id,
                PointsEntry.person_id == person_id,
                PointsEntry.day == day,
                PointsEntry.kind == "EARN",
            )
        )
        return int(used or 0)

    def _touch(self, account: PointsAccount, delta: int) -> None:
        account.balance += delta
        account.version += 1
        account.updated_at = utcnow()

    def credit(
        self,
        person_id: str,
        kind: str,
        points: int,
        key: str,
        at: datetime,
        *,
        expires_at: datetime | None = None,
        rule_id: int | None = None,
        event_uuid: str | None = None,
        ref_id: int | None = None,
        reason: str = "",
        by: str = "",
    ) -> PointsEntry:
        """A new lot of `points` (> 0): EARN, a positive ADJUST or a REFUND."""
        if points <= 0:
            raise PointsError(f"points: a credit must be positive, got {points}")
        account = self.account(person_id)
        entry = PointsEntry(
            project_id=self.project_id,
            person_id=person_id,
            kind=kind,
            points=points,
            key=key,
            rule_id=rule_id,
            event_uuid=event_uuid,
            occurred_at=at,
            day=local_day(at, self.tz),
            expires_at=expires_at,
            remaining=points,
            ref_id=ref_id,
            reason=reason[:500],
            created_by=by[:100],
        )
        self.session.add(entry)
        self._touch(account, points)
        if kind in ("EARN", "ADJUST"):
            account.earned += points
        return entry

    def expire_due(self, person_id: str, now: datetime) -> list[PointsEntry]:
        """EXPIRE what is left of the person's lots whose expiry is at or before `now`."""
        account = self.account(person_id)
        lots = self.session.scalars(
            select(PointsEntry)
            .where(
                PointsEntry.project_id == self.project_id,
                PointsEntry.person_id == person_id,
                PointsEntry.remaining > 0,
                PointsEntry.expires_at <= now,
            )
            .order_by(PointsEntry.expires_at, PointsEntry.id)
        ).all()
        out = []
        for lot in lots:
            assert lot.expires_at is not None
            left, lot.remaining = lot.remaining, 0
            entry = PointsEntry(
                project_id=self.project_id,
                person_id=person_id,
                kind="EXPIRE",
                points=-left,
                key=f"expire:{lot.id}",
                occurred_at=lot.expires_at,
                day=local_day(lot.expires_at, self.tz),
                remaining=0,
                ref_id=lot.id,
                reason=f"lot {lot.id} ({lot.kind} {lot.key}) expired",
            )
            self.session.add(entry)
            self._touch(account, -left)
            out.append(entry)
        self.session.flush()
        return out

    def debit(
        self,
        person_id: str,
        kind: str,
        points: int,
        key: str,
        at: datetime,
        *,
        reason: str = "",
        by: str = "",
        ref_id: int | None = None,
    ) -> PointsEntry:
        """Take `points` (> 0) from the lots expiring first; never below a zero balance."""
        if points <= 0:
            raise PointsError(f"points: a debit must be positive, got {points}")
        account = self.account(person_id)
        self.expire_due(person_id, at)
        if account.balance < points:
            raise InsufficientPoints(
                f"{person_id}: balance {account.balance} is less than the {points} points asked"
            )
        lots = self.session.scalars(
            select(PointsEntry)
            .where(
                PointsEntry.project_id == self.project_id,
                PointsEntry.person_id == person_id,
                PointsEntry.remaining > 0,
            )
            .order_by(PointsEntry.expires_at.is_(None), PointsEntry.expires_at, PointsEntry.id)
        ).all()
        need = points
        for lot in lots:
            take = min(need, lot.remaining)
            lot.remaining -= take
            need -= take
            if need == 0:
                break
        if need:  # the account row and the lots disagree: refuse rather than invent points
            raise RuntimeError(f"{person_id}: lots hold less than the balance {account.balance}")
        entry = PointsEntry(
            project_id=self.project_id,
            person_id=person_id,
            kind=kind,
            points=-points,
            key=key,
            occurred_at=at,
            day=local_day(at, self.tz),
            remaining=0,
            ref_id=ref_id,
            reason=reason[:500],
            created_by=by[:100],
        )
        self.session.add(entry)
        self._touch(account, -points)
        return entry


def _insert(dialect: str) -> Any:
    return pg_insert if dialect == "postgresql" else sqlite_insert


@contextmanager
def locked(ws: Workspace, project_id: int, persons: Iterable[str]) -> Iterator[Book]:
    """A write transaction with the persons' accounts created if new and locked; commits at the
    end of the block, rolls back if it raises."""
    wanted = sorted(set(persons))
    session = ws.sessions()
    try:
        conn = session.connection()
        dialect = conn.dialect.name
        if dialect == "sqlite":
            # Take the write lock now: a deferred transaction that read first could not
            # upgrade to a writer once another writer committed (SQLITE_BUSY).
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        now = utcnow()
        accounts: dict[str, PointsAccount] = {}
        for i in range(0, len(wanted), CHUNK):
            part = wanted[i : i + CHUNK]
            new = [
                {
                    "project_id": project_id,
                    "person_id": p,
                    "balance": 0,
                    "earned": 0,
                    "spend": 0,
                    "level": "",
                    "level_changes": 0,
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                }
                for p in part
            ]
            stmt = _insert(dialect)(PointsAccount).values(new)
            session.execute(stmt.on_conflict_do_nothing(index_elements=["project_id", "person_id"]))
            for account in session.scalars(
                select(PointsAccount)
                .where(PointsAccount.project_id == project_id, PointsAccount.person_id.in_(part))
                .order_by(PointsAccount.person_id)
                .with_for_update()
            ):
                accounts[account.person_id] = account
        yield Book(session, project_id, ws.settings.tz, accounts)
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        if "unique" in str(exc.orig).lower() or "duplicate" in str(exc.orig).lower():
            raise KeyConflict(f"idempotency key already used: {exc.orig}") from None
        raise
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _now(at: datetime | None) -> datetime:
    return at if at is not None else utcnow()


def _same(entry: PointsEntry, person_id: str, kind: str, points: int) -> PointsEntry:
    if (entry.person_id, entry.kind, entry.points) != (person_id, kind, points):
        raise KeyConflict(
            f"key {entry.key!r} was already used for {entry.kind} {entry.points:+d}"
            f" of {entry.person_id}"
        )
    return entry


def redeem(
    ws: Workspace,
    project_id: int,
    person_id: str,
    points: int,
    key: str,
    *,
    at: datetime | None = None,
    reason: str = "",
    by: str = "",
) -> PointsEntry:
    """Spend points; the same key again returns the first redemption instead of a second one."""
    if not key:
        raise PointsError("key: a redemption needs an idempotency key")
    with locked(ws, project_id, [person_id]) as book:
        if (old := book.entry(key)) is not None:
            return _same(old, person_id, "REDEEM", -points)
        return book.debit(person_id, "REDEEM", points, key, _now(at), reason=reason, by=by)


def adjust(
    ws: Workspace,
    project_id: int,
    person_id: str,
    points: int,
    key: str,
    *,
    reason: str,
    by: str = "",
    at: datetime | None = None,
    validity_days: int | None = None,
) -> PointsEntry:
    """An operator's correction: positive adds a lot, negative takes points FIFO."""
    if not reason.strip():
        raise PointsError("reason: say why the points are adjusted")
    if not key:
        raise PointsError("key: an adjustment needs an idempotency key")
    if points == 0:
        raise PointsError("points: an adjustment of 0 changes nothing")
    when = _now(at)
    with locked(ws, project_id, [person_id]) as book:
        if (old := book.entry(key)) is not None:
            return _same(old, person_id, "ADJUST", points)
        if points > 0:
            expires = when + timedelta(days=validity_days) if validity_days else None
            return book.credit(
                person_id, "ADJUST", points, key, when, expires_at=expires, reason=reason, by=by
            )
        return book.debit(person_id, "ADJUST", -points, key, when, reason=reason, by=by)


def refund(
    ws: Workspace,
    project_id: int,
    redeem_key: str,
    key: str,
    points: int | None = None,
    *,
    reason: str = "",
    by: str = "",
    at: datetime | None = None,
) -> PointsEntry:
    """Give back (part of) a redemption as a new lot that does not expire; never more than
    was redeemed minus what earlier refunds of it gave back."""
    with ws.sessions() as session:
        spent = session.scalar(
            select(PointsEntry).where(
                PointsEntry.project_id == project_id, PointsEntry.key == redeem_key
            )
        )
    if spent is None or spent.kind != "REDEEM":
        raise PointsError(f"redeem_key: no redemption with key {redeem_key!r}")
    amount = -spent.points if points is None else points
    with locked(ws, project_id, [spent.person_id]) as book:
        if (old := book.entry(key)) is not None:
            return _same(old, spent.person_id, "REFUND", amount)
        given = book.session.scalar(
            select(func.coalesce(func.sum(PointsEntry.points), 0)).where(
                PointsEntry.project_id == project_id,
                PointsEntry.kind == "REFUND",
                PointsEntry.ref_id == spent.id,
            )
        )
        left = -spent.points - int(given or 0)
        if amount <= 0 or amount > left:
            raise PointsError(
                f"points: {amount} is not in 1..{left} (left to refund of {redeem_key!r})"
            )
        return book.credit(
            spent.person_id, "REFUND", amount, key, _now(at), ref_id=spent.id, reason=reason, by=by
        )


def expire(ws: Workspace, project_id: int, now: datetime | None = None) -> int:
    """Write EXPIRE entries for every lot past its expiry with points left; returns how many."""
    when = _now(now)
    with ws.sessions() as session:
        persons = list(
            session.scalars(
                select(PointsEntry.person_id)
                .where(
                    PointsEntry.project_id == project_id,
                    PointsEntry.remaining > 0,
                    PointsEntry.expires_at <= when,
                )
                .distinct()
                .order_by(PointsEntry.person_id)
            )
        )
    written = 0
    for i in range(0, len(persons), 200):
        part = persons[i : i + 200]
        with locked(ws, project_id, part) as book:
            for person in part:
                written += len(book.expire_due(person, when))
    return written
