"""Send alerts: email over SMTP, a generic JSON webhook, and the WeCom, DingTalk and Feishu robots.

Robot formats (group "custom robot" webhooks):
- WeCom (企业微信): {"msgtype": "markdown", "markdown": {"content": ...}}; replies {"errcode": 0}.
- DingTalk (钉钉): {"msgtype": "markdown", "markdown": {"title", "text"}}; with a secret, the URL
  gets timestamp (ms) and sign = base64(HMAC-SHA256(secret, "timestamp\\nsecret")); replies
  {"errcode": 0}.
- Feishu (飞书): {"msg_type": "text", "content": {"text": ...}}; with a secret, the body gets
  timestamp (s) and sign = base64(HMAC-SHA256(key "timestamp\\nsecret", empty message)); replies
  {"code": 0} (or {"StatusCode": 0}).
- webhook: the alert as JSON; any 2xx reply is success.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import smtplib
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage

from growthloop.models.alerts import Alert, Destination

DELIVERY_FAILED = "sending alert {title!r} to {kind} {target} failed: {reason}"


class DeliveryError(RuntimeError):
    """An alert could not be delivered; the message names the destination and the reason."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    starttls: bool = False


def redacted(target: str) -> str:
    """A destination without its query string (robot URLs carry their key there)."""
    parts = urllib.parse.urlsplit(target)
    return (
        urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        if parts.scheme
        else target
    )


def _sign(secret: str, timestamp: str, *, feishu: bool) -> str:
    text = f"{timestamp}\n{secret}".encode()
    # Feishu keys the HMAC with the string to sign over an empty message; DingTalk keys it with
    # the secret over the string to sign.
    digest = (
        hmac.new(text, b"", hashlib.sha256)
        if feishu
        else hmac.new(secret.encode(), text, hashlib.sha256)
    )
    return base64.b64encode(digest.digest()).decode()


def robot_request(
    alert: Alert, destination: Destination, now: float | None = None
) -> tuple[str, dict[str, object]]:
    """The URL and JSON body for a webhook destination (pure, for a given time)."""
    stamp = time.time() if now is None else now
    kind, url = destination.kind, destination.target
    if kind == "wecom":
        return url, {"msgtype": "markdown", "markdown": {"content": alert.text()}}
    if kind == "dingtalk":
        body: dict[str, object] = {
            "msgtype": "markdown",
            "markdown": {"title": alert.title, "text": alert.text()},
        }
        if destination.secret:
            ms = str(int(stamp * 1000))
            sign = urllib.parse.quote_plus(_sign(destination.secret, ms, feishu=False))
            url += ("&" if "?" in url else "?") + f"timestamp={ms}&sign={sign}"
        return url, body
    if kind == "feishu":
        body = {"msg_type": "text", "content": {"text": alert.text()}}
        if destination.secret:
            seconds = str(int(stamp))
            body = {
                "timestamp": seconds,
                "sign": _sign(destination.secret, seconds, feishu=True),
                **body,
            }
        return url, body
    if kind == "webhook":
        return url, alert.as_json()
    raise ValueError(f"{kind} is not a webhook destination")


def _post(url: str, body: dict[str, object], timeout: float) -> tuple[int, bytes]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json; charset=utf-8"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _robot_error(kind: str, status: int, reply: bytes) -> str | None:
    """The platform's complaint, or None when it accepted the message."""
    if not 200 <= status < 300:
        return f"HTTP {status}: {reply[:200].decode(errors='replace')}"
    if kind == "webhook":
        return None
    try:
        data = json.loads(reply or b"{}")
    except json.JSONDecodeError:
        return f"the reply is not JSON: {reply[:200].decode(errors='replace')}"
    code = data.get("errcode", data.get("code", data.get("StatusCode", 0)))
    if code != 0:
        return f"error {code}: {data.get('errmsg') or data.get('msg') or data.get('StatusMessage')}"
    return None


def send_email(alert: Alert, to: str, smtp: SmtpSettings, timeout: float = 10.0) -> None:
    message = EmailMessage()
    message["Subject"] = alert.title
    message["From"] = smtp.sender
    message["To"] = to
    message.set_content(alert.text())
    with smtplib.SMTP(smtp.host, smtp.port, timeout=timeout) as client:
        if smtp.starttls:
            client.starttls()
        if smtp.username:
            client.login(smtp.username, smtp.password or "")
        client.send_message(message)


def deliver(
    alert: Alert, smtp: SmtpSettings | None = None, timeout: float = 10.0, now: float | None = None
) -> None:
    """Send `alert` to each of its destinations; raises DeliveryError naming every failure."""
    failures = []
    for d in alert.destinations:
        try:
            if d.kind == "email":
                if smtp is None:
                    raise DeliveryError("no SMTP server is configured")
                send_email(alert, d.target, smtp, timeout)
                continue
            url, body = robot_request(alert, d, now)
            status, reply = _post(url, body, timeout)
            problem = _robot_error(d.kind, status, reply)
            if problem:
                raise DeliveryError(problem)
        except (DeliveryError, OSError, smtplib.SMTPException) as exc:
            failures.append(
                DELIVERY_FAILED.format(
                    title=alert.title, kind=d.kind, target=redacted(d.target), reason=exc
                )
            )
    if failures:
        raise DeliveryError("; ".join(failures))
