"""How outreach messages leave: email over one SMTP connection per delivery pass (the settings'
server), push and SMS as a JSON POST to the project's webhook. Each failure says whether it may
pass (retry later) or not (SMTP 5xx, HTTP 4xx other than 408 and 429)."""

from __future__ import annotations

import json
import smtplib
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from types import TracebackType

from growthloop.ops.outreach import settings_of
from growthloop.ops.outreach_models import OutreachSend
from growthloop.reports.schedule import Smtp
from growthloop.workspace import Workspace

WEBHOOK_TIMEOUT = 10.0
SMTP_TIMEOUT = 30.0


@dataclass(frozen=True)
class Transport:
    """Where messages go: the SMTP server (settings) and the project's webhooks."""

    smtp: Smtp | None
    webhooks: dict[str, str]
    headers: dict[str, str]


def transport_for(ws: Workspace, project_id: int) -> Transport:
    """The transport from settings (smtp_*) and the project's outreach settings."""
    st, conf = ws.settings, settings_of(ws, project_id)
    smtp = None
    if st.smtp_host:
        smtp = Smtp(
            st.smtp_host,
            st.smtp_port,
            st.smtp_sender,
            st.smtp_username,
            st.smtp_password,
            st.smtp_starttls,
        )
    hooks = {"push": conf.push_webhook_url, "sms": conf.sms_webhook_url}
    return Transport(smtp, {k: v for k, v in hooks.items() if v}, dict(conf.webhook_headers or {}))


class DeliveryFailure(Exception):
    """A message the server or webhook did not take; `permanent` ones are not retried."""

    def __init__(self, reason: str, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


def post_webhook(row: OutreachSend, channel: str, item_id: int, transport: Transport) -> None:
    """POST one row's message to the channel's webhook; DeliveryFailure says why not."""
    url = transport.webhooks.get(channel)
    if not url:
        raise DeliveryFailure(
            f"no {channel} webhook: set it in the outreach settings", permanent=True
        )
    payload = {
        "channel": channel,
        "to": row.address,
        "person_id": row.person_id,
        "subject": row.subject,
        "body": row.body,
        "outreach_id": item_id,
        "run_id": row.run_id,
        "send_id": row.id,
    }
    request = urllib.request.Request(
        url,
        data=json.dumps(payload, ensure_ascii=False).encode(),
        headers={
            **transport.headers,
            "Content-Type": "application/json",
            "Idempotency-Key": f"growthloop-outreach-{row.id}",
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        permanent = 400 <= exc.code < 500 and exc.code not in (408, 429)
        raise DeliveryFailure(f"webhook HTTP {exc.code} {exc.reason}", permanent) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryFailure(f"webhook {type(exc).__name__}: {reason}") from None


def email_for(row: OutreachSend) -> EmailMessage:
    """The mail of a send-log row, with the one-click unsubscribe headers (RFC 8058)."""
    message = EmailMessage()
    message["Subject"] = row.subject
    message["To"] = row.address
    if row.unsubscribe_url:
        message["List-Unsubscribe"] = f"<{row.unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(row.body)
    return message


class Mailer:
    """One SMTP connection for a delivery pass (a connection per mail is slow for thousands);
    after any error the connection is dropped and the next mail opens a new one."""

    def __init__(self, smtp: Smtp | None) -> None:
        self.smtp = smtp
        self.client: smtplib.SMTP | None = None

    def _connect(self, smtp: Smtp) -> smtplib.SMTP:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=SMTP_TIMEOUT)
        if smtp.starttls:
            client.starttls()
        if smtp.username:
            client.login(smtp.username, smtp.password or "")
        return client

    def send(self, row: OutreachSend) -> None:
        """Hand one row's mail to the server; DeliveryFailure says why not."""
        if self.smtp is None:
            raise DeliveryFailure("no SMTP server: set smtp_host in the settings", permanent=True)
        message = email_for(row)
        message["From"] = self.smtp.sender
        try:
            if self.client is None:
                self.client = self._connect(self.smtp)
            self.client.send_message(message)
        except smtplib.SMTPResponseException as exc:
            self.close()
            error = exc.smtp_error
            text = error.decode(errors="replace") if isinstance(error, bytes) else str(error)
            permanent = exc.smtp_code >= 500
            raise DeliveryFailure(f"SMTP {exc.smtp_code} {text}", permanent) from None
        except smtplib.SMTPRecipientsRefused as exc:
            self.close()
            codes = [code for code, _ in exc.recipients.values()]
            reason = f"SMTP recipient refused: {exc.recipients}"
            raise DeliveryFailure(reason, permanent=min(codes) >= 500) from None
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            raise DeliveryFailure(f"SMTP {type(exc).__name__}: {exc}") from None

    def close(self) -> None:
        if self.client is not None:
            try:
                self.client.quit()
            except (smtplib.SMTPException, OSError):
                self.client.close()
            self.client = None

    def __enter__(self) -> Mailer:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
