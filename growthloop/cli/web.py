"""`growthloop serve`, `users`, `tokens` and `projects`: the web app and its accounts."""

from __future__ import annotations

import threading
from typing import Annotated

import typer
from rich.table import Table

from growthloop.accounts import (
    AccountError,
    add_user,
    create_token,
    list_tokens,
    list_users,
    revoke_token,
    update_user,
)
from growthloop.cli.app import DataDir, app, console, fail, open_workspace

users_app = typer.Typer(help="Web app users and their roles.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens for scripts.", no_args_is_help=True)
projects_app = typer.Typer(
    help="Projects (sites/apps) and their ingestion keys.", no_args_is_help=True
)
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
app.add_typer(projects_app, name="projects")


def _warm_funnels() -> None:
    from growthloop.analytics.funnel_kernel import warm

    warm()


@app.command()
def serve(
    data_dir: DataDir = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    secure_cookies: Annotated[
        bool, typer.Option(help="Mark cookies Secure (serve behind HTTPS).")
    ] = False,
    forwarded_allow_ips: Annotated[
        str,
        typer.Option(help="Proxies trusted for X-Forwarded-For/-Proto (comma-separated IPs)."),
    ] = "127.0.0.1",
    jobs: Annotated[
        bool,
        typer.Option(help="Run the periodic jobs (growthloop jobs list) in the background."),
    ] = True,
    jobs_interval: Annotated[
        float, typer.Option(help="Seconds between two rounds of the periodic jobs.", min=1)
    ] = 60.0,
) -> None:
    """Run the web app and the JSON API (docs at /api/docs)."""
    import uvicorn

    from growthloop.scheduler import JobRunner, log_to_console
    from growthloop.web.app import create_app

    with open_workspace(data_dir) as ws:
        if not list_users(ws):
            # First start: without a user nobody could log in, so create the admin now.
            account, password = add_user(ws, "admin", "admin")
            console.print(
                f"created user [bold]{account.name}[/] (admin), one-time password: {password}",
                highlight=False,
            )
        console.print(
            f"growthloop on http://{host}:{port}/ (data: {ws.settings.data_dir.resolve()})"
        )
        threading.Thread(target=_warm_funnels, name="warm-funnels", daemon=True).start()
        runner = JobRunner(ws, jobs_interval) if jobs else None
        if runner:
            log_to_console()
            runner.start()
        uvicorn.run(
            create_app(ws, secure_cookies=secure_cookies),
            host=host,
            port=port,
            proxy_headers=True,
            forwarded_allow_ips=forwarded_allow_ips,
            log_level="info",
        )
        if runner:
            runner.stop(timeout=30)


@users_app.command("add")
def users_add(
    name: str,
    role: Annotated[str, typer.Option(help="admin, operator or viewer.")] = "viewer",
    data_dir: DataDir = None,
) -> None:
    """Add a user and print their one-time password."""
    with open_workspace(data_dir) as ws:
        try:
            account, password = add_user(ws, name, role)
        except AccountError as exc:
            raise fail(str(exc)) from None
    console.print(f"user [bold]{account.name}[/] ({account.role.name}) password: {password}")


@users_app.command("list")
def users_list(data_dir: DataDir = None) -> None:
    """List users."""
    with open_workspace(data_dir) as ws:
        table = Table("name", "role", "active", "created (UTC)")
        for u in list_users(ws):
            table.add_row(
                u.name, u.role, "yes" if u.active else "no", f"{u.created_at:%Y-%m-%d %H:%M}"
            )
        console.print(table)


@users_app.command("disable")
def users_disable(name: str, data_dir: DataDir = None) -> None:
    """Disable a user: ends their sessions and revokes their tokens."""
    with open_workspace(data_dir) as ws:
        try:
            update_user(ws, name, active=False)
        except AccountError as exc:
            raise fail(str(exc)) from None
    console.print(f"user {name} disabled")


def _user_id(ws_users: list[object], name: str) -> int:
    for u in ws_users:
        if getattr(u, "name", None) == name:
            return int(getattr(u, "id"))  # noqa: B009 - objects from list_users
    raise fail(f"no user named {name!r} (see growthloop users list)")


@tokens_app.command("create")
def tokens_create(user: str, name: str, data_dir: DataDir = None) -> None:
    """Create an API token for USER named NAME; prints it once."""
    with open_workspace(data_dir) as ws:
        user_id = _user_id(list(list_users(ws)), user)
        token, secret = create_token(ws, user_id, name)
    console.print(f"token {token.id} for {user}: {secret}", highlight=False)


@tokens_app.command("list")
def tokens_list(data_dir: DataDir = None) -> None:
    """List tokens (never the secrets)."""
    with open_workspace(data_dir) as ws:
        names = {u.id: u.name for u in list_users(ws)}
        table = Table("id", "user", "name", "starts with", "last used", "revoked")
        for t in list_tokens(ws):
            table.add_row(
                str(t.id),
                names.get(t.user_id, "?"),
                t.name,
                t.prefix,
                f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "-",
                "yes" if t.revoked_at else "no",
            )
        console.print(table)


@tokens_app.command("revoke")
def tokens_revoke(token_id: int, data_dir: DataDir = None) -> None:
    """Revoke a token by id."""
    with open_workspace(data_dir) as ws:
        if not revoke_token(ws, token_id):
            raise fail(f"no token with id {token_id} (see growthloop tokens list)")
    console.print(f"token {token_id} revoked")


@projects_app.command("add")
def projects_add(
    slug: str,
    name: Annotated[str | None, typer.Option(help="Display name [default: the slug].")] = None,
    data_dir: DataDir = None,
) -> None:
    """Add a project and print its ingestion key."""
    from growthloop.web.api.projects import SLUG

    if not SLUG.match(slug):
        raise fail(f"slug {slug!r}: use lowercase letters, digits, - and _ (at most 64)")
    with open_workspace(data_dir) as ws:
        if any(p.slug == slug for p in ws.projects()):
            raise fail(f"project {slug!r} already exists")
        project = ws.ensure_project(slug, name)
    console.print(f"project {project.slug} ingestion key: {project.ingestion_key}", highlight=False)


@projects_app.command("list")
def projects_list(data_dir: DataDir = None) -> None:
    """List projects with their ingestion keys."""
    with open_workspace(data_dir) as ws:
        table = Table("slug", "name", "ingestion key")
        for p in ws.projects():
            table.add_row(p.slug, p.name, p.ingestion_key)
        console.print(table)
