"""The web app in-process: login, sessions, CSRF, rate limit, tokens, users, projects, overview."""

from __future__ import annotations

import hashlib
import re
import stat
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from growthloop.accounts import add_user, create_token
from growthloop.analytics.kpis import Period, compute_overview, last_data_day
from growthloop.config import load_settings
from growthloop.store.metadata import ApiToken, WebSession
from growthloop.web.api.settings import visible_settings
from growthloop.web.app import create_app
from growthloop.workspace import Workspace
from tests.test_web_kpis import TZ, load, make_rows


@pytest.fixture
def client(workspace: Workspace) -> Iterator[TestClient]:
    yield TestClient(create_app(workspace))


def login(client: TestClient, name: str, password: str) -> str:
    """Log in through the form; returns the session's CSRF token from the next page."""
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token
    response = client.post(
        "/login",
        data={"name": name, "password": password, "csrf_token": token.group(1), "next": "/"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    page = client.get("/account/tokens")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf
    return csrf.group(1)


def test_login_sets_a_hardened_cookie_and_logout_ends_the_session(
    workspace: Workspace, client: TestClient
) -> None:
    _, password = add_user(workspace, "ana", "viewer")
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token
    response = client.post(
        "/login",
        data={"name": "ana", "password": password, "csrf_token": token.group(1), "next": "/x"},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/x"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("gl_session="))
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower() and "Secure" not in cookie
    assert client.get("/api/me").json()["name"] == "ana"
    stolen = client.cookies.get("gl_session")
    page = client.get("/account/tokens")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf
    assert client.post("/logout", data={"csrf_token": csrf.group(1)}).status_code == 200
    # The server forgot the session: replaying the old cookie does not log in.
    replay = TestClient(client.app, cookies={"gl_session": stolen or ""})
    assert replay.get("/api/me").status_code == 401


def test_secure_cookies_for_https_deployments(workspace: Workspace) -> None:
    _, password = add_user(workspace, "sam", "viewer")
    client = TestClient(create_app(workspace, secure_cookies=True), base_url="https://testserver")
    login(client, "sam", password)
    assert any("Secure" in c for c in client.get("/login").headers.get_list("set-cookie"))


def test_open_redirects_are_refused(workspace: Workspace, client: TestClient) -> None:
    _, password = add_user(workspace, "ana", "viewer")
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token
    response = client.post(
        "/login",
        data={
            "name": "ana",
            "password": password,
            "csrf_token": token.group(1),
            "next": "//evil.example/",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"


def test_login_form_needs_its_csrf_token(workspace: Workspace, client: TestClient) -> None:
    _, password = add_user(workspace, "ana", "viewer")
    response = client.post("/login", data={"name": "ana", "password": password})
    assert response.status_code == 403
    assert client.get("/api/me").status_code == 401


def test_login_rate_limit(workspace: Workspace, client: TestClient) -> None:
    _, password = add_user(workspace, "ana", "viewer")
    client.get("/login")
    token = client.cookies.get("gl_login_csrf")
    for _ in range(5):
        wrong = client.post(
            "/login", data={"name": "ana", "password": "wrong-password", "csrf_token": token}
        )
        assert wrong.status_code == 401
    blocked = client.post("/login", data={"name": "ana", "password": password, "csrf_token": token})
    assert blocked.status_code == 429
    assert client.get("/api/me").status_code == 401
    # Another name from the same address is not blocked.
    _, other = add_user(workspace, "bo", "viewer")
    login(client, "bo", other)


def test_cookie_writes_need_the_csrf_header_token_writes_do_not(
    workspace: Workspace, client: TestClient
) -> None:
    account, password = add_user(workspace, "op", "operator")
    csrf = login(client, "op", password)
    assert client.post("/api/dashboards", json={"name": "a"}).status_code == 403
    assert (
        client.post(
            "/api/dashboards", json={"name": "a"}, headers={"X-CSRF-Token": "x"}
        ).status_code
        == 403
    )
    ok = client.post("/api/dashboards", json={"name": "a"}, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 201
    # Page forms carry the token as a field.
    assert client.post("/dashboards", data={"name": "b"}).status_code == 403
    assert client.post("/dashboards", data={"name": "b", "csrf_token": csrf}).status_code == 200
    _, secret = create_token(workspace, account.id, "script")
    scripted = TestClient(client.app).post(
        "/api/dashboards", json={"name": "c"}, headers={"Authorization": f"Bearer {secret}"}
    )
    assert scripted.status_code == 201


def test_session_expires_after_the_idle_timeout(workspace: Workspace, client: TestClient) -> None:
    _, password = add_user(workspace, "ana", "viewer")
    login(client, "ana", password)
    assert client.get("/api/me").status_code == 200
    with workspace.sessions.begin() as s:
        s.execute(sa.update(WebSession).values(expires_at=datetime(2000, 1, 1)))
    assert client.get("/api/me").status_code == 401


def test_tokens_are_hashed_shown_once_and_revocable(
    workspace: Workspace, client: TestClient
) -> None:
    _, password = add_user(workspace, "ana", "viewer")
    csrf = login(client, "ana", password)
    created = client.post("/api/tokens", json={"name": "cron"}, headers={"X-CSRF-Token": csrf})
    assert created.status_code == 201
    secret = created.json()["secret"]
    with workspace.sessions() as s:
        stored = s.scalars(sa.select(ApiToken)).one()
    assert stored.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(client.get("/api/tokens").json())
    bot = TestClient(client.app, headers={"Authorization": f"Bearer {secret}"})
    assert bot.get("/api/me").json() == {
        "id": 1,
        "name": "ana",
        "role": "viewer",
        "auth": "token",
        "csrf_token": None,
    }
    assert client.get("/api/me").json()["csrf_token"] == csrf
    assert bot.get("/api/tokens").json()[0]["last_used_at"] is not None
    token_id = created.json()["token"]["id"]
    assert (
        client.delete(f"/api/tokens/{token_id}", headers={"X-CSRF-Token": csrf}).status_code == 204
    )
    assert bot.get("/api/me").status_code == 401


def test_admin_manages_users_and_a_disabled_user_is_locked_out(
    workspace: Workspace, client: TestClient
) -> None:
    _, password = add_user(workspace, "root", "admin")
    csrf = login(client, "root", password)
    created = client.post(
        "/api/users", json={"name": "vic", "role": "viewer"}, headers={"X-CSRF-Token": csrf}
    )
    assert created.status_code == 201
    vic = TestClient(client.app)
    login(vic, "vic", created.json()["password"])
    assert vic.get("/api/me").json()["role"] == "viewer"
    user_id = created.json()["user"]["id"]
    promoted = client.patch(
        f"/api/users/{user_id}", json={"role": "operator"}, headers={"X-CSRF-Token": csrf}
    )
    assert promoted.json()["role"] == "operator"
    assert vic.get("/api/me").json()["role"] == "operator"
    client.patch(f"/api/users/{user_id}", json={"active": False}, headers={"X-CSRF-Token": csrf})
    assert vic.get("/api/me").status_code == 401
    duplicate = client.post("/api/users", json={"name": "vic"}, headers={"X-CSRF-Token": csrf})
    assert duplicate.status_code == 422 and "already exists" in duplicate.json()["detail"]
    me = client.patch("/api/users/1", json={"active": False}, headers={"X-CSRF-Token": csrf})
    assert me.status_code == 422


def test_projects_keys_only_for_admins(workspace: Workspace, client: TestClient) -> None:
    admin, _ = add_user(workspace, "root", "admin")
    viewer, _ = add_user(workspace, "vic", "viewer")
    root = TestClient(
        client.app, headers={"Authorization": f"Bearer {create_token(workspace, admin.id, 't')[1]}"}
    )
    vic = TestClient(
        client.app,
        headers={"Authorization": f"Bearer {create_token(workspace, viewer.id, 't')[1]}"},
    )
    made = root.post("/api/projects", json={"slug": "app-2", "name": "App"})
    assert made.status_code == 201 and made.json()["ingestion_key"].startswith("gl_")
    assert root.post("/api/projects", json={"slug": "Bad Slug", "name": "x"}).status_code == 422
    assert [p["ingestion_key"] for p in vic.get("/api/projects").json()] == [None, None]
    keys = {p["slug"]: p["ingestion_key"] for p in root.get("/api/projects").json()}
    assert keys["app-2"] == made.json()["ingestion_key"] != keys["default"]
    missing = vic.get("/api/overview", params={"project": "nope"})
    assert missing.status_code == 404 and "nope" in missing.json()["detail"]


def test_overview_api_returns_the_computed_kpis(workspace: Workspace, client: TestClient) -> None:
    events, orders, identified = make_rows(5)
    load(workspace, events, orders, identified)
    account, _ = add_user(workspace, "vic", "viewer")
    vic = TestClient(
        client.app,
        headers={"Authorization": f"Bearer {create_token(workspace, account.id, 't')[1]}"},
    )
    body = vic.get("/api/overview", params={"start": "2026-10-01", "end": "2026-10-31"}).json()
    expected = compute_overview(
        workspace.events().con, Period(date(2026, 10, 1), date(2026, 10, 31)), TZ, "CNY"
    )
    assert {k["name"]: k["value"] for k in body["kpis"]} == {k.name: k.value for k in expected.kpis}
    assert body["previous_period"] == {"start": "2026-08-31", "end": "2026-09-30"}
    # Default period: the 30 days ending on the last day with data.
    default = vic.get("/api/overview").json()
    last = last_data_day(workspace.events().con, TZ)
    assert last is not None and default["period"]["end"] == last.isoformat()
    assert default["period"]["start"] == (last - timedelta(days=29)).isoformat()
    bad = vic.get("/api/overview", params={"start": "2026-13-01", "end": "2026-10-31"})
    assert bad.status_code == 422 and bad.json()["detail"].startswith("start:")


def test_secret_key_file_is_private(workspace: Workspace, client: TestClient) -> None:
    path: Path = workspace.settings.data_dir / "secret_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(path.read_text().strip()) >= 48


def test_language_from_header_then_sticky_switch(workspace: Workspace, client: TestClient) -> None:
    page = client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9,zh;q=0.5"})
    assert "<h1>Log in</h1>" in page.text and 'lang="en"' in page.text
    switched = client.get("/login?lang=zh-CN", headers={"Accept-Language": "en"})
    assert "<h1>登录</h1>" in switched.text
    # The choice sticks over the browser's Accept-Language.
    again = client.get("/login", headers={"Accept-Language": "en"})
    assert "<h1>登录</h1>" in again.text and 'lang="zh-CN"' in again.text


def test_pages_send_security_headers(client: TestClient) -> None:
    headers = client.get("/login").headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"


def test_overview_cache_follows_new_data(workspace: Workspace, client: TestClient) -> None:
    events, orders, identified = make_rows(6)
    load(workspace, events, orders, identified)
    account, _ = add_user(workspace, "vic", "viewer")
    token = create_token(workspace, account.id, "t")[1]
    vic = TestClient(client.app, headers={"Authorization": f"Bearer {token}"})
    params = {"start": "2026-10-01", "end": "2026-10-31"}

    def visitors() -> float:
        body = vic.get("/api/overview", params=params).json()
        return next(k["value"] for k in body["kpis"] if k["name"] == "visitors")

    before = visitors()
    assert visitors() == before
    workspace.events().con.execute(
        "INSERT INTO events (uuid, event, distinct_id, person_id, timestamp, inserted_at)"
        " VALUES (uuid(), '$pageview', 'newcomer', 'newcomer', TIMESTAMP '2026-10-15 04:00', now())"
    )
    assert visitors() == before + 1


def test_admin_pages_add_users_and_projects(workspace: Workspace, client: TestClient) -> None:
    _, password = add_user(workspace, "root", "admin")
    csrf = login(client, "root", password)
    page = client.post("/admin/users", data={"name": "wei", "role": "operator", "csrf_token": csrf})
    shown = re.search(r'id="new-password">[^<]*<code>([^<]+)</code>', page.text)
    assert page.status_code == 200 and shown
    wei = TestClient(client.app)
    login(wei, "wei", shown.group(1))
    assert wei.get("/api/me").json()["role"] == "operator"
    assert wei.get("/admin/users").status_code == 403
    added = client.post(
        "/admin/projects", data={"slug": "shop", "name": "Shop", "csrf_token": csrf}
    )
    assert added.status_code == 200
    key = next(p.ingestion_key for p in workspace.projects() if p.slug == "shop")
    assert key in added.text
    # Language links stay relative and keep the page's query.
    overview = client.get("/?days=7")
    assert 'href="/?days=7&amp;lang=en"' in overview.text


def test_settings_for_admins_without_secrets(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.sqlite'}"
    with Workspace.open(
        tmp_path / "d", secret_key="s3cret-value", metadata_url=url, smtp_password="mail-pw-42"
    ) as ws:
        admin, _ = add_user(ws, "root", "admin")
        root = TestClient(
            create_app(ws),
            headers={"Authorization": f"Bearer {create_token(ws, admin.id, 't')[1]}"},
        )
        body = root.get("/api/settings").json()
        assert body["timezone"] == "Asia/Shanghai" and body["metadata_url"] == url
        assert body["secret_key"] == "(set)"
        page = root.get("/admin/settings", headers={"Accept-Language": "en"})
        assert "s3cret-value" not in page.text and "Asia/Shanghai" in page.text
        assert body["smtp_password"] == "(set)" and "mail-pw-42" not in page.text
        pg = "postgresql+psycopg://gl:hunter2@db.internal:5432/growthloop"
        masked = visible_settings(load_settings(tmp_path / "e", metadata_url=pg))
        assert masked["metadata_url"] == "postgresql+psycopg://gl:***@db.internal:5432/growthloop"
