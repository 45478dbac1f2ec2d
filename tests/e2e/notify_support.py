"""Helpers for the alert and notification end-to-end tests (`test_alerts_*.py`, `test_notify_*.py`).

Nothing here is a stub: `Receiver` is a threaded HTTP(S) server on
127.0.0.1 that records every request the server under test makes to it,
`SMTPServer` is a real aiosmtpd server (plain, STARTTLS or implicit TLS,
optionally with AUTH) that records every command and message, and the
certificates are made by `openssl req -x509`. The server under test reaches
them over real sockets. Every wait has a deadline (`wait_for`).

Fixtures for the test modules to import: `server` (a server that evaluates
rules every second and counts an agent offline after 3 s; it replaces
conftest's `server`, so `admin`, `operator` and `viewer` sign in to it),
`receiver` (one HTTP receiver), `tls_files` (a self-signed certificate for
localhost and 127.0.0.1) and `smtp_servers` (a factory of SMTP servers).
"""
from __future__ import annotations

import datetime
import email
import email.policy
import hashlib
import hmac
import json
import pathlib
import socket
import ssl
import subprocess
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from api_support import assert_api_shape, assert_list, parse_time
from conftest import Server, now_rfc3339, start_server, store_query, wait_for

RULES = ("backup_missed", "backup_stale", "job_failed", "host_offline", "check_failed", "schedule_pending",
         "repo_locked")
SEVERITY = {"backup_missed": "critical", "backup_stale": "critical", "job_failed": "warning",
            "host_offline": "warning", "check_failed": "critical", "schedule_pending": "warning",
            "repo_locked": "warning"}
DEFAULT_THRESHOLD = {"backup_missed": 60, "backup_stale": 1560, "job_failed": None, "host_offline": 15,
                     "check_failed": None, "schedule_pending": 10, "repo_locked": 360}
ALERT_KEYS = {"id", "rule", "host_id", "host_name", "schedule_id", "job_id", "severity", "state", "message",
              "opened_at", "resolved_at", "acknowledged_at", "acknowledged_by"}
RULE_KEYS = {"rule", "enabled", "threshold_minutes", "repeat_minutes", "default_threshold_minutes", "severity"}
CHANNEL_KEYS = {"id", "name", "kind", "enabled", "events", "config", "created_at", "updated_at"}
DELIVERY_KEYS = {"id", "event", "alert_id", "status", "attempts", "last_error", "created_at", "next_attempt_at",
                 "delivered_at"}
WEBHOOK_BODY_KEYS = {"event", "delivery_id", "sent_at", "alert"}
BOTH_EVENTS = ["alert.opened", "alert.resolved"]


# ---------------------------------------------------------------------------
# The server under test.
# ---------------------------------------------------------------------------

def start_alert_server(tmp_path: pathlib.Path, *extra: str, data_dir: pathlib.Path | None = None) -> Server:
    """A server that evaluates the rules every second (`--alert-interval-seconds 1`)."""
    return start_server(tmp_path, "--agent-offline-after", "3", "--alert-interval-seconds", "1", *extra,
                        data_dir=data_dir)


@pytest.fixture
def server(tmp_path):
    """Replaces conftest's `server` in the modules that import it: rules are evaluated every second."""
    srv = start_alert_server(tmp_path)
    yield srv
    srv.stop()


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def sqlite_time(moment: datetime.datetime) -> str:
    """A time as the store writes it: 'YYYY-MM-DD HH:MM:SS.SSS' in UTC."""
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def db_query(server: Server, sql: str, arguments=()) -> list[tuple]:
    """Reads the live database, on either engine (`conftest.store_query`)."""
    return store_query(server.data_dir, sql, arguments)


def assert_stays(predicate, seconds: float, interval: float = 0.1, message: str = "condition", agent=None) -> None:
    """Asserts that `predicate` holds on every poll for `seconds`: the negative
    twin of `wait_for`, for "nothing happens" over a bounded window. With
    `agent`, it sends heartbeats meanwhile so that the host stays online."""
    deadline = time.monotonic() + seconds
    while True:
        if agent is not None:
            agent.send("heartbeat", {"sent_at": now_rfc3339()})
        assert predicate(), f"{message} stopped holding"
        if time.monotonic() > deadline:
            return
        time.sleep(interval)


# ---------------------------------------------------------------------------
# Alerts and rules through the API.
# ---------------------------------------------------------------------------

def all_alerts(client, **params) -> list[dict]:
    """Every alert (one big page), without relying on the server's filters."""
    return assert_list(client.get("/api/v1/alerts", params={"limit": 500, **params}))["items"]


def find_alerts(client, rule: str, host_id: str, state: str | None = "open", **match) -> list[dict]:
    return [a for a in all_alerts(client) if a["rule"] == rule and a["host_id"] == host_id
            and (state is None or a["state"] == state) and all(a.get(k) == v for k, v in match.items())]


def wait_alert(client, rule: str, host_id: str, timeout: float = 15, state: str = "open", exclude=(),
               **match) -> dict:
    """Waits until exactly one alert of `rule` on `host_id` (matching `match`,
    not in `exclude`) is in `state`; returns it."""
    def found():
        alerts = [a for a in find_alerts(client, rule, host_id, state, **match) if a["id"] not in exclude]
        assert len(alerts) <= 1, f"more than one {state} {rule} alert on the host: {alerts}"
        return alerts[0] if alerts else None

    return wait_for(found, timeout=timeout, interval=0.1, message=f"a {state} {rule} alert {match or ''}")


def get_alert(client, alert_id: str) -> dict:
    response = client.get(f"/api/v1/alerts/{alert_id}")
    assert response.status_code == 200, response.text
    return response.json()


def wait_resolved(client, alert_id: str, timeout: float = 15) -> dict:
    def resolved():
        alert = get_alert(client, alert_id)
        return alert if alert["state"] == "resolved" else None

    return wait_for(resolved, timeout=timeout, interval=0.1, message=f"alert {alert_id} to resolve")


def assert_alert(alert: dict, rule: str, host_id: str, *, state: str = "open", schedule_id=None, job_id=None,
                 host_name: str | None = None) -> dict:
    """The alert JSON of docs/alerts.md, exactly."""
    assert set(alert) == ALERT_KEYS, f"alert keys differ: {set(alert) ^ ALERT_KEYS}"
    assert_api_shape(alert)
    assert isinstance(alert["id"], str) and alert["id"]
    assert alert["rule"] == rule and alert["host_id"] == host_id, alert
    assert alert["severity"] == SEVERITY[rule], alert
    assert alert["state"] == state, alert
    assert alert["schedule_id"] == schedule_id, alert
    assert alert["job_id"] == job_id, alert
    assert isinstance(alert["host_name"], str) and alert["host_name"], alert
    if host_name is not None:
        assert alert["host_name"] == host_name, alert
        assert host_name in alert["message"], f"the message does not name the host: {alert['message']!r}"
    assert isinstance(alert["message"], str) and len(alert["message"]) > 20, alert
    assert "\n" not in alert["message"] and "\r" not in alert["message"], alert
    opened = parse_time(alert["opened_at"])
    if state == "open":
        assert alert["resolved_at"] is None, alert
    else:
        assert parse_time(alert["resolved_at"]) >= opened, alert
    if alert["acknowledged_at"] is None:
        assert alert["acknowledged_by"] is None, alert
    else:
        assert isinstance(alert["acknowledged_by"], str) and alert["acknowledged_by"], alert
    return alert


def set_rule(admin, rule: str, **fields) -> dict:
    response = admin.put(f"/api/v1/alert-rules/{rule}", json=fields)
    assert response.status_code == 200, response.text
    return response.json()


def rules_by_name(client) -> dict[str, dict]:
    response = client.get("/api/v1/alert-rules")
    assert response.status_code == 200, response.text
    body = response.json()
    assert "items" in body and set(body) <= {"items", "next_cursor"}, body
    return {item["rule"]: item for item in body["items"]}


def open_alert_count(client, host_id: str) -> int:
    response = client.get(f"/api/v1/hosts/{host_id}")
    assert response.status_code == 200, response.text
    return response.json()["open_alerts"]


def host_name(client, host_id: str) -> str:
    response = client.get(f"/api/v1/hosts/{host_id}")
    assert response.status_code == 200, response.text
    return response.json()["name"]


# ---------------------------------------------------------------------------
# Jobs driven by a raw protocol-v1 agent (`conftest.Agent`).
# ---------------------------------------------------------------------------

def dispatch_and_start(admin, agent, host_id: str, kind: str = "backup", schedule_id: str | None = None) -> str:
    """Run now through the API; the agent accepts and starts it. Returns the job id."""
    body: dict = {"kind": kind}
    if schedule_id:
        body["schedule_id"] = schedule_id
    elif kind == "backup":
        body["args"] = ["/etc"]
    response = admin.post(f"/api/v1/hosts/{host_id}/jobs", json=body)
    assert response.status_code == 201, response.text
    job_id = response.json()["id"]
    assert agent.expect("command.run")["payload"]["job_id"] == job_id
    agent.send_acked("command.result", {"job_id": job_id, "accepted": True})
    agent.send_acked("job.started", {"job_id": job_id, "kind": kind, "started_at": now_rfc3339()})
    return job_id


def start_scheduled(agent, schedule_id: str, kind: str = "backup") -> str:
    """A cron run as the agent reports it: it mints the id; `job.started` carries the schedule."""
    job_id = str(uuid.uuid4())
    agent.send_acked("job.started", {"job_id": job_id, "kind": kind, "started_at": now_rfc3339(),
                                     "schedule_id": schedule_id, "trigger": "schedule"})
    return job_id


def finish(agent, job_id: str, status: str = "succeeded", error: str | None = None) -> None:
    exit_code = {"succeeded": 0, "failed": 1, "cancelled": 130}[status]
    payload = {"job_id": job_id, "status": status, "exit_code": exit_code, "finished_at": now_rfc3339()}
    if error:
        payload["error"] = error
    agent.send_acked("job.finished", payload)


def run_to_end(admin, agent, host_id: str, kind: str = "backup", status: str = "succeeded",
               schedule_id: str | None = None, error: str | None = None) -> str:
    job_id = dispatch_and_start(admin, agent, host_id, kind, schedule_id)
    finish(agent, job_id, status, error or ("restic exited with 1" if status == "failed" else None))
    return job_id


def log_lines(agent, job_id: str, lines: list[str], first_seq: int = 1) -> None:
    ids = [agent.send("log.stream", {"job_id": job_id, "seq": first_seq + index, "ts": now_rfc3339(),
                                     "stream": "stdout", "payload": line})
           for index, line in enumerate(lines)]
    agent.collect_acks(ids, timeout=30)


def repo_stats(agent, lock_state: str = "unlocked", last_check_status: str | None = None) -> None:
    payload = {"size_bytes": 4096, "snapshot_count": 3, "dedup_ratio": 1.5, "lock_state": lock_state}
    if last_check_status is not None:
        payload["last_check_at"] = now_rfc3339()
        payload["last_check_status"] = last_check_status
    agent.send_acked("repo.stats", payload)


# ---------------------------------------------------------------------------
# Channels and deliveries through the API.
# ---------------------------------------------------------------------------

def create_channel(admin, **body) -> dict:
    response = admin.post("/api/v1/notification-channels", json=body)
    assert response.status_code == 201, response.text
    channel = response.json()
    assert set(channel) == CHANNEL_KEYS, f"channel keys differ: {set(channel) ^ CHANNEL_KEYS}"
    return channel


def webhook(admin, url: str, name: str | None = None, **config_and_fields) -> dict:
    fields = {k: config_and_fields.pop(k) for k in ("enabled", "events") if k in config_and_fields}
    return create_channel(admin, name=name or f"hook-{uuid.uuid4().hex[:6]}", kind="webhook",
                          config={"url": url, **config_and_fields}, **fields)


def email_channel(admin, smtp: "SMTPServer", security: str, name: str | None = None, **config) -> dict:
    body_config = {"host": smtp.host, "port": smtp.port, "security": security, "from": "rm@example.test",
                   "to": ["ops@example.test"], **config}
    return create_channel(admin, name=name or f"mail-{uuid.uuid4().hex[:6]}", kind="email", config=body_config)


def send_test(admin, channel_id: str) -> str:
    response = admin.post(f"/api/v1/notification-channels/{channel_id}/test")
    assert response.status_code == 202, response.text
    body = response.json()
    assert set(body) == {"delivery_id"} and isinstance(body["delivery_id"], str) and body["delivery_id"], body
    return body["delivery_id"]


def deliveries(admin, channel_id: str) -> list[dict]:
    body = assert_list(admin.get(f"/api/v1/notification-channels/{channel_id}/deliveries", params={"limit": 100}))
    for item in body["items"]:
        assert set(item) == DELIVERY_KEYS, f"delivery keys differ: {set(item) ^ DELIVERY_KEYS}"
        assert item["status"] in ("pending", "delivered", "failed"), item
        assert isinstance(item["attempts"], int) and item["attempts"] >= 0, item
    return body["items"]


def delivery(admin, channel_id: str, delivery_id: str) -> dict | None:
    return next((d for d in deliveries(admin, channel_id) if d["id"] == delivery_id), None)


def wait_delivery(admin, channel_id: str, predicate, timeout: float = 20, message: str = "delivery") -> dict:
    """Waits until a delivery of the channel satisfies `predicate`; returns it."""
    def found():
        return next((d for d in deliveries(admin, channel_id) if predicate(d)), None)

    return wait_for(found, timeout=timeout, interval=0.1, message=message)


def wait_delivered(admin, channel_id: str, delivery_id: str, timeout: float = 20) -> dict:
    return wait_delivery(admin, channel_id, lambda d: d["id"] == delivery_id and d["status"] == "delivered",
                         timeout=timeout, message=f"delivery {delivery_id} delivered")


def wait_attempted(admin, channel_id: str, delivery_id: str, attempts: int = 1, timeout: float = 20) -> dict:
    """Waits until the delivery has `attempts` attempts recorded with an error."""
    return wait_delivery(admin, channel_id,
                         lambda d: d["id"] == delivery_id and d["attempts"] >= attempts and d["last_error"],
                         timeout=timeout, message=f"{attempts} failed attempt(s) of {delivery_id}")


def signature_ok(secret: str, request: "Received") -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, request.header("X-RM-Signature") or "")


# ---------------------------------------------------------------------------
# A real HTTP(S) receiver.
# ---------------------------------------------------------------------------

@dataclass
class Received:
    method: str
    target: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    header_list: list[tuple[str, str]]
    body: bytes
    at: float  # time.monotonic() when it arrived
    wall: datetime.datetime  # and the same moment in UTC

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json(self):
        return json.loads(self.body)

    @property
    def event(self) -> str | None:
        return self.header("X-RM-Event")

    @property
    def delivery_id(self) -> str | None:
        return self.header("X-RM-Delivery")


@dataclass
class TLSFiles:
    cert: pathlib.Path
    key: pathlib.Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        return context


def make_self_signed(directory: pathlib.Path) -> TLSFiles:
    """A self-signed certificate for localhost and 127.0.0.1, made by openssl."""
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    return TLSFiles(cert, key)


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory) -> TLSFiles:
    return make_self_signed(tmp_path_factory.mktemp("tls"))


class Receiver:
    """A threaded HTTP server on 127.0.0.1 that records every request.

    `status` is the answer to every request (200 by default; set 503 to
    refuse), `respond(path, status, headers)` overrides it per path. `stop()`
    closes the port (connections are refused); `start()` listens again on
    the same port. With `tls`, it speaks HTTPS for `localhost`.
    """

    def __init__(self, tls: TLSFiles | None = None):
        self.requests: list[Received] = []
        self.status = 200
        self._per_path: dict[str, tuple[int, dict[str, str]]] = {}
        self._lock = threading.Lock()
        self._tls = tls.server_context() if tls else None
        self.port = 0
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.start()

    @property
    def running(self) -> bool:
        return self._httpd is not None

    def url(self, path: str = "/hook") -> str:
        return f"https://localhost:{self.port}{path}" if self._tls else f"http://127.0.0.1:{self.port}{path}"

    def respond(self, path: str, status: int, headers: dict[str, str] | None = None) -> None:
        self._per_path[path] = (status, headers or {})

    def start(self) -> None:
        assert self._httpd is None, "already running"
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def setup(self):
                if receiver._tls is not None:
                    self.request.settimeout(10)
                    self.request = receiver._tls.wrap_socket(self.request, server_side=True)
                super().setup()

            def log_message(self, *args):  # quiet
                pass

            def _read_body(self) -> bytes:
                if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return b"".join(chunks)
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def _handle(self):
                body = self._read_body()
                split = urllib.parse.urlsplit(self.path)
                record = Received(
                    method=self.command, target=self.path, path=split.path,
                    query=urllib.parse.parse_qs(split.query, keep_blank_values=True),
                    headers={name.lower(): value for name, value in self.headers.items()},
                    header_list=list(self.headers.items()), body=body, at=time.monotonic(), wall=utcnow())
                with receiver._lock:
                    receiver.requests.append(record)
                status, headers = receiver._per_path.get(split.path, (receiver.status, {}))
                answer = b"" if status in (204, 304) else b"ok\n"
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                if status not in (204, 304):
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(answer)))
                self.send_header("Connection", "close")
                self.end_headers()
                if answer:
                    self.wfile.write(answer)
                self.close_connection = True

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle

        class Quiet(ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True

            def handle_error(self, request, client_address):  # failed TLS handshakes are expected in some tests
                pass

        httpd = Quiet(("127.0.0.1", self.port), Handler)
        self.port = httpd.server_address[1]
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=10)
        self._httpd = None
        self._thread = None

    def received(self, predicate=lambda r: True) -> list[Received]:
        with self._lock:
            requests = list(self.requests)
        return [r for r in requests if predicate(r)]

    def wait(self, predicate=lambda r: True, count: int = 1, timeout: float = 20,
             message: str = "a request") -> list[Received]:
        """Waits until at least `count` requests satisfy `predicate`; returns them."""
        return wait_for(lambda: (found if len(found := self.received(predicate)) >= count else None),
                        timeout=timeout, interval=0.05, message=message)

    def wait_event(self, event: str, alert_id: str | None = None, path: str | None = None,
                   timeout: float = 20) -> Received:
        def matches(r: Received) -> bool:
            if r.event != event or (path is not None and r.path != path):
                return False
            return alert_id is None or (r.json().get("alert") or {}).get("id") == alert_id

        return self.wait(matches, timeout=timeout, message=f"{event} {alert_id or ''} at {path or 'any path'}")[0]


@pytest.fixture
def receiver():
    rec = Receiver()
    yield rec
    rec.stop()


# ---------------------------------------------------------------------------
# A real SMTP server (aiosmtpd).
# ---------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class SMTPMessage:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    tls: bool
    login: str | None

    def parsed(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)

    def text(self) -> str:
        """The plain-text body, decoded (quoted-printable, base64, multipart)."""
        message = self.parsed()
        part = message.get_body(preferencelist=("plain",)) if message.is_multipart() else message
        assert part is not None, "no text/plain part"
        return part.get_content()


@dataclass
class _Recorder:
    """aiosmtpd handler: records commands and messages, accepts everything."""

    commands: list[tuple[str, str]] = field(default_factory=list)
    messages: list[SMTPMessage] = field(default_factory=list)
    auth_attempts: list[tuple[str, str, bool]] = field(default_factory=list)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.commands.append(("EHLO", hostname))
        session.host_name = hostname
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        self.commands.append(("MAIL", address))
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.commands.append(("RCPT", address))
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.commands.append(("DATA", ""))
        tls = server.transport is not None and server.transport.get_extra_info("ssl_object") is not None
        login = None
        if session.authenticated and session.auth_data is not None:
            login = session.auth_data.login.decode()
        self.messages.append(SMTPMessage(envelope.mail_from, list(envelope.rcpt_tos),
                                         envelope.original_content or envelope.content, tls, login))
        return "250 Message accepted for delivery"


class SMTPServer:
    """aiosmtpd on 127.0.0.1. `mode`: "plain" (no STARTTLS offered),
    "starttls" (offered and required before MAIL) or "tls" (TLS from the first
    byte). With `auth=(username, password)` AUTH is required (after TLS)."""

    def __init__(self, mode: str = "plain", tls: TLSFiles | None = None, auth: tuple[str, str] | None = None):
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword

        assert mode in ("plain", "starttls", "tls")
        assert mode == "plain" or tls is not None, "TLS modes need a certificate"
        self.mode = mode
        self.handler = _Recorder()
        parameters: dict = {}
        ssl_context = None
        if mode == "starttls":
            parameters.update(tls_context=tls.server_context(), require_starttls=True)
        elif mode == "tls":
            ssl_context = tls.server_context()
        if auth is not None:
            handler = self.handler

            def authenticator(server, session, envelope, mechanism, auth_data):
                ok = (isinstance(auth_data, LoginPassword) and auth_data.login.decode() == auth[0]
                      and auth_data.password.decode() == auth[1])
                login = auth_data.login.decode() if isinstance(auth_data, LoginPassword) else ""
                handler.auth_attempts.append((mechanism, login, ok))
                return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

            parameters.update(authenticator=authenticator, auth_required=True)
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, ssl_context=ssl_context,
                                     server_hostname="localhost", ready_timeout=10, **parameters)
        self.controller.start()

    @property
    def host(self) -> str:
        """The name a client should use: the certificate is for localhost."""
        return "127.0.0.1" if self.mode == "plain" else "localhost"

    @property
    def messages(self) -> list[SMTPMessage]:
        return list(self.handler.messages)

    @property
    def commands(self) -> list[tuple[str, str]]:
        return list(self.handler.commands)

    def wait_message(self, predicate=lambda m: True, timeout: float = 20, message: str = "a mail") -> SMTPMessage:
        return wait_for(lambda: next((m for m in self.messages if predicate(m)), None), timeout=timeout,
                        interval=0.05, message=message)

    def stop(self) -> None:
        self.controller.stop(no_assert=True)


@pytest.fixture
def smtp_servers():
    """A factory: `smtp_servers(mode, tls=…, auth=…)`; all are stopped after the test."""
    started: list[SMTPServer] = []

    def make(mode: str = "plain", tls: TLSFiles | None = None, auth: tuple[str, str] | None = None) -> SMTPServer:
        smtp = SMTPServer(mode, tls, auth)
        started.append(smtp)
        return smtp

    yield make
    for smtp in started:
        smtp.stop()
