"""`growthloop points` and `growthloop referral`: award over a date range, expire points, look
up and change balances, and run and read the referral programme."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import typer

from growthloop.cli.app import DataDir, ProjectOpt, app, console, fail, open_workspace
from growthloop.ops import (
    levels,
    points_award,
    points_ledger,
    points_rules,
    referral,
    referral_stats,
)
from growthloop.store.metadata import Project
from growthloop.workspace import Workspace

points_app = typer.Typer(help="Points and levels (用户成长体系).", no_args_is_help=True)
referral_app = typer.Typer(help="Referral programme (老带新 / 邀请返利).", no_args_is_help=True)
app.add_typer(points_app, name="points")
app.add_typer(referral_app, name="referral")

FromOpt = Annotated[str | None, typer.Option("--from", help="First day, YYYY-MM-DD (local).")]
ToOpt = Annotated[str | None, typer.Option("--to", help="Last day, YYYY-MM-DD (local).")]


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise fail(f"{option}: {value!r} is not a date (YYYY-MM-DD)", 2) from None


def _project(ws: Workspace, slug: str | None) -> Project:
    wanted = slug or ws.settings.default_project
    for p in ws.projects():
        if p.slug == wanted:
            return p
    raise fail(f"--project: no project {wanted!r} (see growthloop status)", 2)


@points_app.command("award")
def award_command(
    first: FromOpt = None,
    last: ToOpt = None,
    project: ProjectOpt = None,
    data_dir: DataDir = None,
) -> None:
    """Apply the points rules: to the events of --from..--to, or to events loaded since the last
    run. Re-running never awards twice."""
    start, end = _day(first, "--from"), _day(last, "--to")
    if (start is None) != (end is None):
        raise fail("--from and --to go together", 2)
    with open_workspace(data_dir) as ws:
        p = _project(ws, project)
        if start is not None:
            s = points_award.award(ws, p, first=start, last=end)
        else:
            s = points_award.award_new(ws, p)
    console.print(
        f"{s.events} events read, {s.entries} awards ({s.points} points, {s.capped} capped),"
        f" {s.level_changes} level changes, {s.level_events} level events stored",
        highlight=False,
    )


@points_app.command("expire")
def expire_command(
    at: Annotated[
        str | None, typer.Option("--at", help="UTC time YYYY-MM-DDTHH:MM [default: now].")
    ] = None,
    project: ProjectOpt = None,
    data_dir: DataDir = None,
) -> None:
    """Expire the points whose validity has passed (FIFO lots; EXPIRE entries)."""
    try:
        now = datetime.fromisoformat(at) if at else None
    except ValueError:
        raise fail(f"--at: {at!r} is not a time (YYYY-MM-DDTHH:MM)", 2) from None
    with open_workspace(data_dir) as ws:
        written = points_ledger.expire(ws, _project(ws, project).id, now)
    console.print(f"{written} lots expired", highlight=False)


@points_app.command("balance")
def balance_command(person: str, project: ProjectOpt = None, data_dir: DataDir = None) -> None:
    """A person's balance, lifetime earned points, spend and level."""
    with open_workspace(data_dir) as ws:
        account = levels.account_of(ws, _project(ws, project).id, person)
    if account is None:
        raise fail(f"{person}: no points account")
    console.print(
        f"{person}: balance {account.balance}, earned {account.earned},"
        f" spend {account.spend}, level {account.level or '-'}",
        highlight=False,
    )


@points_app.command("redeem")
def redeem_command(
    person: str,
    points: int,
    key: Annotated[str, typer.Option("--key", help="Idempotency key (e.g. the order id).")],
    reason: Annotated[str, typer.Option("--reason")] = "",
    project: ProjectOpt = None,
    data_dir: DataDir = None,
) -> None:
    """Spend a person's points; the same --key again does nothing more."""
    with open_workspace(data_dir) as ws:
        try:
            entry = points_ledger.redeem(
                ws, _project(ws, project).id, person, points, key, reason=reason, by="cli"
            )
        except points_ledger.PointsError as exc:
            raise fail(str(exc)) from None
    console.print(f"entry {entry.id}: {entry.kind} {entry.points}", highlight=False)


@points_app.command("adjust")
def adjust_command(
    person: str,
    points: int,
    key: Annotated[str, typer.Option("--key", help="Idempotency key.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (required).")],
    project: ProjectOpt = None,
    data_dir: DataDir = None,
) -> None:
    """Add (positive) or take (negative) points by hand, with a reason."""
    with open_workspace(data_dir) as ws:
        try:
            entry = points_ledger.adjust(
                ws, _project(ws, project).id, person, points, key, reason=reason, by="cli"
            )
        except points_ledger.PointsError as exc:
            raise fail(str(exc)) from None
    console.print(f"entry {entry.id}: {entry.kind} {entry.points:+d}", highlight=False)


@points_app.command("rules")
def rules_command(project: ProjectOpt = None, data_dir: DataDir = None) -> None:
    """List the points rules."""
    with open_workspace(data_dir) as ws:
        for r in points_rules.list_rules(ws, _project(ws, project).id):
            per = f" per {r.per_amount} of {r.amount_property}" if r.per_amount else ""
            console.print(
                f"{r.id} {r.name}: {r.event} -> {r.points}{per}"
                f"{' once' if r.once else ''}"
                f"{f' cap {r.daily_cap}/day' if r.daily_cap else ''}"
                f"{f' valid {r.validity_days}d' if r.validity_days else ''}"
                f"{'' if r.active else ' (inactive)'}",
                highlight=False,
            )


@referral_app.command("run")
def referral_run_command(
    first: FromOpt = None,
    last: ToOpt = None,
    project: ProjectOpt = None,
    data_dir: DataDir = None,
) -> None:
    """Attribute invitee signups and first orders and reward them; re-running is harmless."""
    with open_workspace(data_dir) as ws:
        p = _project(ws, project)
        start, end = _day(first, "--from"), _day(last, "--to")
        if start is None and end is None:
            s = referral.process_new(ws, p)
        else:
            s = referral.process(ws, p, first=start, last=end)
    console.print(
        f"{s.codes_registered} codes registered, {s.signups} signups ({s.accepted} accepted,"
        f" rejected: {s.rejected or 'none'}), {s.first_orders} first orders",
        highlight=False,
    )


@referral_app.command("stats")
def referral_stats_command(
    first: FromOpt = None,
    last: ToOpt = None,
    project: ProjectOpt = None,
    data_dir: DataDir = None,
) -> None:
    """K-factor, invite funnel and top inviters over --from..--to."""
    start, end = _day(first, "--from"), _day(last, "--to")
    if start is None or end is None:
        raise fail("--from and --to are required", 2)
    with open_workspace(data_dir) as ws:
        try:
            s = referral_stats.stats(ws, _project(ws, project), start, end)
        except ValueError as exc:
            raise fail(str(exc), 2) from None
    k = "-" if s.k_factor is None else f"{s.k_factor:.3f}"
    console.print(
        f"K-factor {k} = {s.signups} referral signups / {s.users} users;"
        f" funnel: {s.invites} invites -> {s.signups} signups -> {s.first_orders} first orders;"
        f" rejected {s.rejected or 'none'}",
        highlight=False,
    )
    for i in s.top:
        console.print(
            f"  {i.person_id}: {i.signups} signups, {i.first_orders} first orders,"
            f" {i.rejected} rejected, {i.points} points",
            highlight=False,
        )


@referral_app.command("code")
def referral_code_command(
    person: str, project: ProjectOpt = None, data_dir: DataDir = None
) -> None:
    """A person's invite code and link (generated on first ask)."""
    with open_workspace(data_dir) as ws:
        p = _project(ws, project)
        code = referral.code_for(ws, p.id, person)
        link = referral.invite_link(referral.programme(ws, p.id), code.code)
    console.print(f"{code.code} {link}", highlight=False)
