"""Alert rules and delivery to a real local HTTP receiver and a real local SMTP server."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socketserver
import threading
import urllib.parse
from collections.abc import Iterator
from datetime import date, timedelta
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import numpy as np
import pytest

from growthloop.models import anomalies
from growthloop.models.alert_delivery import DeliveryError, SmtpSettings, deliver, robot_request
from growthloop.models.alerts import AlertRule, Destination, evaluate
from growthloop.models.errors import ModelInputError

REPLIES = {
    "/wecom": b'{"errcode": 0, "errmsg": "ok"}',
    "/dingtalk": b'{"errcode": 0, "errmsg": "ok"}',
    "/feishu": b'{"code": 0, "msg": "success"}',
    "/hook": b"",
    "/refused": b'{"errcode": 93000, "errmsg": "invalid webhook url"}',
}


class Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, dict[str, object]]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.received.append((self.path, json.loads(body)))
        path = urllib.parse.urlsplit(self.path).path
        self.send_response(200 if path in REPLIES else 404)
        self.end_headers()
        self.wfile.write(REPLIES.get(path, b"not found"))

    def log_message(self, *args: object) -> None:
        pass


class SmtpHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib: EHLO, MAIL, RCPT, DATA, QUIT."""

    mails: ClassVar[list[tuple[str, bytes]]] = []

    def handle(self) -> None:
        self.wfile.write(b"220 test ESMTP\r\n")
        rcpt = ""
        while line := self.rfile.readline():
            verb = line[:4].upper()
            if verb == b"EHLO":
                self.wfile.write(b"250 test\r\n")
            elif verb == b"RCPT":
                rcpt = line.decode().split("<")[1].split(">")[0]
                self.wfile.write(b"250 ok\r\n")
            elif verb == b"DATA":
                self.wfile.write(b"354 go ahead\r\n")
                data = b""
                while (chunk := self.rfile.readline()) != b".\r\n":
                    data += chunk
                SmtpHandler.mails.append((rcpt, data))
                self.wfile.write(b"250 queued\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


@pytest.fixture
def servers() -> Iterator[tuple[str, SmtpSettings]]:
    http = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    smtp = socketserver.ThreadingTCPServer(("127.0.0.1", 0), SmtpHandler)
    for server in (http, smtp):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    Receiver.received.clear()
    SmtpHandler.mails.clear()
    yield (
        f"http://127.0.0.1:{http.server_address[1]}",
        SmtpSettings("127.0.0.1", smtp.server_address[1], "alerts@growthloop.local"),
    )
    for server in (http, smtp):
        server.shutdown()
        server.server_close()


def outage_series() -> tuple[list[date], np.ndarray, anomalies.AnomalyCheck]:
    days = [date(2026, 8, 1) + timedelta(days=i) for i in range(60)]
    values = np.array([1000.0 + 300 * (d.weekday() >= 5) for d in days])
    values += np.random.default_rng(0).normal(0, 20, 60)
    values[45] = 90.0
    return days, values, anomalies.detect(values, [d.weekday() for d in days])


def test_rules_trigger_on_the_right_days() -> None:
    days, values, check = outage_series()
    dest = (Destination("webhook", "http://127.0.0.1:1/hook"),)
    [alert] = evaluate(
        AlertRule("events drop", "events", "anomaly", dest, direction="drop"), days, values, check
    )
    assert (alert.day, alert.severity, alert.direction) == (days[45], "high", "drop")
    assert (
        evaluate(
            AlertRule("spikes", "events", "anomaly", dest, direction="spike"), days, values, check
        )
        == ()
    )
    below = evaluate(AlertRule("floor", "events", "below", dest, threshold=500), days, values)
    assert [a.day for a in below] == [days[45]]
    assert len(
        evaluate(AlertRule("busy", "events", "above", dest, threshold=1200), days, values)
    ) == sum(v > 1200 for v in values)
    with pytest.raises(ModelInputError, match="needs the anomaly check of events"):
        evaluate(AlertRule("r", "events", "anomaly", dest), days, values)
    with pytest.raises(ModelInputError, match="threshold must be a number for condition 'below'"):
        AlertRule("r", "events", "below", dest)
    with pytest.raises(ModelInputError, match="an http\\(s\\) webhook URL"):
        Destination("wecom", "qyapi.weixin.qq.com/cgi-bin/webhook/send")


def test_every_format_reaches_the_receiver(servers: tuple[str, SmtpSettings]) -> None:
    base, smtp = servers
    days, values, check = outage_series()
    destinations = (
        Destination("webhook", f"{base}/hook"),
        Destination("wecom", f"{base}/wecom?key=K1"),
        Destination("dingtalk", f"{base}/dingtalk?access_token=T1", secret="SECdingtalk"),
        Destination("feishu", f"{base}/feishu", secret="feishu-secret"),
        Destination("email", "ops@example.cn"),
    )
    [alert] = evaluate(
        AlertRule("events drop", "events", "anomaly", destinations, direction="drop"),
        days,
        values,
        check,
    )
    deliver(alert, smtp, now=1_790_000_000.5)
    got = {urllib.parse.urlsplit(path).path: (path, body) for path, body in Receiver.received}
    assert got["/hook"][1]["day"] == days[45].isoformat() and got["/hook"][1]["severity"] == "high"
    assert got["/wecom"][1] == {"msgtype": "markdown", "markdown": {"content": alert.text()}}
    path, body = got["/dingtalk"]
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
    assert query["access_token"] == ["T1"] and query["timestamp"] == ["1790000000500"]
    want = base64.b64encode(
        hmac.new(b"SECdingtalk", b"1790000000500\nSECdingtalk", hashlib.sha256).digest()
    ).decode()
    assert query["sign"] == [want]
    assert body["markdown"] == {"title": alert.title, "text": alert.text()}
    body = got["/feishu"][1]
    want = base64.b64encode(
        hmac.new(b"1790000000\nfeishu-secret", b"", hashlib.sha256).digest()
    ).decode()
    assert (body["timestamp"], body["sign"], body["msg_type"]) == ("1790000000", want, "text")
    [(to, raw)] = SmtpHandler.mails
    mail = message_from_bytes(raw)
    assert to == "ops@example.cn" and mail["Subject"] == alert.title
    assert "severity: high" in mail.get_payload()


def test_a_refusing_robot_and_a_missing_smtp_server_are_reported(
    servers: tuple[str, SmtpSettings],
) -> None:
    base, _ = servers
    days, values, check = outage_series()
    destinations = (
        Destination("wecom", f"{base}/refused?key=SECRETKEY"),
        Destination("email", "ops@example.cn"),
        Destination("webhook", f"{base}/hook"),
    )
    [alert] = evaluate(
        AlertRule("events drop", "events", "anomaly", destinations), days, values, check
    )
    with pytest.raises(DeliveryError) as err:
        deliver(alert, None)
    message = str(err.value)
    assert "wecom" in message and "error 93000: invalid webhook url" in message
    assert "no SMTP server is configured" in message
    assert "SECRETKEY" not in message  # robot keys stay out of logs
    assert [urllib.parse.urlsplit(p).path for p, _ in Receiver.received] == ["/refused", "/hook"]
    url, _ = robot_request(
        alert, Destination("dingtalk", "https://oapi.dingtalk.com/robot/send?access_token=x"), now=0
    )
    assert url == "https://oapi.dingtalk.com/robot/send?access_token=x"  # no secret, no signature
