"""Shared harness for the end-to-end tests.

Every test talks to the real `restic-manager-server` binary over real
sockets, with a fresh data dir (real SQLite file) per server. Nothing is
mocked. Helpers wait on conditions with deadlines; nothing sleeps and hopes.

With `RM_E2E_POSTGRES=postgres://USER:PASSWORD@HOST:PORT/DB` (the URL
`scripts/scratch-postgres start` prints) the same tests run on PostgreSQL:
every data dir gets a fresh database of its own on that server, and every
server and `user` command on that data dir is pointed at it (SPEC §12).
"""
from __future__ import annotations

import datetime
import json
import os
import pathlib
import re
import signal
import subprocess
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field

import pytest
import requests
from websockets.sync.client import connect

ROOT = pathlib.Path(__file__).resolve().parents[2]
BINARY = pathlib.Path(os.environ.get("RM_SERVER_BIN", ROOT / ".build" / "debug" / "restic-manager-server"))


# ---------------------------------------------------------------------------
# The store's engine: SQLite in the data dir, or PostgreSQL (RM_E2E_POSTGRES).
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class PostgresServer:
    """The PostgreSQL server of RM_E2E_POSTGRES, where each data dir gets a database."""

    host: str
    port: int
    user: str
    password: str
    admin_database: str

    @classmethod
    def from_url(cls, url: str) -> "PostgresServer":
        parts = urllib.parse.urlsplit(url)
        assert parts.scheme in ("postgres", "postgresql") and parts.username and parts.password and parts.hostname, \
            "RM_E2E_POSTGRES must be postgres://USER:PASSWORD@HOST:PORT/DB (scripts/scratch-postgres start)"
        return cls(parts.hostname, parts.port or 5432, urllib.parse.unquote(parts.username),
                   urllib.parse.unquote(parts.password), parts.path.lstrip("/") or "postgres")

    def url(self, database: str) -> str:
        """The URL a server is given: the password never goes in it, only into PGPASSWORD."""
        return f"postgres://{urllib.parse.quote(self.user)}@{self.host}:{self.port}/{database}?sslmode=disable"

    def env(self) -> dict[str, str]:
        return {**os.environ, "PGPASSWORD": self.password}

    def psql(self, database: str, script: str, *flags: str, timeout: float = 60) -> str:
        """Runs `script` through psql on `database`; returns its output, fails the test on any error."""
        result = subprocess.run(
            ["psql", "-X", "-v", "ON_ERROR_STOP=1", "-h", self.host, "-p", str(self.port), "-U", self.user,
             "-d", database, *flags], input=script, capture_output=True, text=True, env=self.env(), timeout=timeout)
        assert result.returncode == 0, f"psql on {database} failed: {result.stderr}"
        return result.stdout


POSTGRES = PostgresServer.from_url(os.environ["RM_E2E_POSTGRES"]) if os.environ.get("RM_E2E_POSTGRES") else None
ON_POSTGRES = POSTGRES is not None


def sqlite_only(reason: str):
    """Marks a test that needs the SQLite file itself, which PostgreSQL runs do not have."""
    return pytest.mark.skipif(ON_POSTGRES, reason=f"SQLite only: {reason}")


# Data dir (resolved) -> its database. A server restarted on a data dir, and
# the `user` commands on it, must find the store the first start made.
_databases: dict[pathlib.Path, str] = {}


def database_for(data_dir: pathlib.Path) -> str | None:
    """The PostgreSQL database of `data_dir` (made on first use), or None on SQLite."""
    if POSTGRES is None:
        return None
    key = pathlib.Path(data_dir).resolve()
    if key not in _databases:
        # Random, not derived from the path: the same cluster may serve several
        # runs, and a test's first start must find an empty store.
        name = f"e2e_{uuid.uuid4().hex}"
        POSTGRES.psql(POSTGRES.admin_database, f'CREATE DATABASE "{name}";\n', "-q")
        _databases[key] = name
    return _databases[key]


def server_command(*args: str) -> tuple[list[str], dict[str, str] | None]:
    """The argv and environment that run the server binary with `args`.

    On PostgreSQL, a `--data-dir DIR` also gets `--database` for DIR's
    database, with the password in the environment (never in argv, which
    any process list shows), unless `args` already name a database."""
    argv = [str(BINARY), *args]
    if POSTGRES is None or "--data-dir" not in args or any(a.startswith("--database") for a in args):
        return argv, None
    data_dir = pathlib.Path(args[args.index("--data-dir") + 1])
    return [*argv, "--database", POSTGRES.url(database_for(data_dir))], POSTGRES.env()


def _sql_literal(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    # standard_conforming_strings is on (set below): only quotes need doubling.
    return "'" + str(value).replace("'", "''") + "'"


def _postgres_script(sql: str, arguments) -> str:
    pieces = sql.split("?")
    assert len(pieces) == len(arguments) + 1, f"{len(arguments)} arguments for {len(pieces) - 1} placeholders: {sql}"
    bound = pieces[0] + "".join(_sql_literal(value) + piece for value, piece in zip(arguments, pieces[1:]))
    # The store's times are UTC text; UTC keeps any the database computes comparable to them.
    return f"SET standard_conforming_strings = on;\nSET TIME ZONE 'UTC';\n{bound};\n"


def store_execute(data_dir: pathlib.Path, sql: str, arguments=()) -> int:
    """Changes the store of `data_dir` directly, on either engine; returns the rows changed.

    For states the API cannot reach quickly (an expired token). SQL written
    for both engines, with `?` placeholders (none inside string literals)."""
    if POSTGRES is None:
        import sqlite3
        # WAL mode lets this in next to a running server.
        connection = sqlite3.connect(pathlib.Path(data_dir) / "restic-manager.sqlite", timeout=10)
        try:
            with connection:
                return connection.execute(sql, arguments).rowcount
        finally:
            connection.close()
    output = POSTGRES.psql(database_for(data_dir), _postgres_script(sql, arguments))
    tag = output.strip().splitlines()[-1].split()  # "UPDATE 2", "DELETE 0", "INSERT 0 1"
    return int(tag[-1])


def store_query(data_dir: pathlib.Path, sql: str, arguments=()) -> list[tuple]:
    """Reads the store of `data_dir` directly, on either engine: rows as tuples.

    On PostgreSQL the rows travel as JSON, so numbers stay numbers, as they
    do from sqlite3."""
    if POSTGRES is None:
        import sqlite3
        connection = sqlite3.connect(f"file:{pathlib.Path(data_dir) / 'restic-manager.sqlite'}?mode=ro", uri=True,
                                     timeout=10)
        try:
            return connection.execute(sql, arguments).fetchall()
        finally:
            connection.close()
    script = _postgres_script(f"SELECT coalesce(json_agg(row_to_json(r)), '[]') FROM ({sql}) r", arguments)
    output = POSTGRES.psql(database_for(data_dir), script, "-At", "-q")
    return [tuple(row.values()) for row in json.loads(output.strip().splitlines()[-1])]


def _bytea_contents(dump: bytes) -> bytes:
    """The bytes of every BYTEA value in a pg_dump, which writes them as hex (\\x…)."""
    return b"\n".join(bytes.fromhex(m.group(1).decode()) for m in re.finditer(rb"\\\\x((?:[0-9a-f]{2})+)", dump))


def store_files(server: "Server") -> dict[pathlib.Path, bytes]:
    """Everything the server wrote down: its data dir's files and, on
    PostgreSQL, a dump of its database (as a file beside the data dir), with
    the BYTEA values decoded, so a secret stored in clear shows in either."""
    files = {path: path.read_bytes() for path in server.data_dir.rglob("*") if path.is_file()}
    if server.database is not None:
        result = subprocess.run(
            ["pg_dump", "--no-owner", "-h", POSTGRES.host, "-p", str(POSTGRES.port), "-U", POSTGRES.user,
             server.database], capture_output=True, env=POSTGRES.env(), timeout=120)
        assert result.returncode == 0, result.stderr.decode(errors="replace")
        dump = server.data_dir.parent / f"{server.database}.pg_dump.sql"
        dump.write_bytes(result.stdout)
        files[dump] = result.stdout + b"\n" + _bytea_contents(result.stdout)
    return files


def holds_the_store(path: pathlib.Path) -> bool:
    """Whether `path` (from `store_files`) is where the store's rows are."""
    return path.name.startswith("restic-manager.sqlite") or path.name.endswith(".pg_dump.sql")


def wait_for(predicate, timeout=10.0, interval=0.02, message="condition"):
    """Polls `predicate` until it returns a truthy value or the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


def now_rfc3339() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat().replace("+00:00", "Z")


def envelope(msg_type: str, payload, msg_id: str | None = None) -> str:
    return json.dumps({"type": msg_type, "id": msg_id or str(uuid.uuid4()), "ts": now_rfc3339(), "payload": payload})


@dataclass
class Server:
    """A running server process with its data dir and captured output."""

    data_dir: pathlib.Path
    stdout_path: pathlib.Path
    stderr_path: pathlib.Path
    process: subprocess.Popen
    base_url: str
    admin_password: str | None
    # The PostgreSQL database the server stores in; None on SQLite.
    database: str | None = None
    secrets: list[str] = field(default_factory=list)

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http", "ws", 1) + "/api/v1/agent/ws"

    def url(self, path: str) -> str:
        return self.base_url + path

    def log_text(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    def remember_secret(self, value: str) -> str:
        """Records a secret or token so the leak test can look for it."""
        self.secrets.append(value)
        return value

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_server(tmp_path: pathlib.Path, *extra_args: str, data_dir: pathlib.Path | None = None,
                 env: dict[str, str] | None = None) -> Server:
    """Starts the binary on a free port and waits until it serves /healthz.

    `env` adds to the server's environment."""
    assert BINARY.exists(), f"{BINARY} is missing: run `swift build` first"
    data_dir = data_dir or tmp_path / "data"
    run_id = uuid.uuid4().hex[:8]
    stdout_path = tmp_path / f"server-{run_id}.out"
    stderr_path = tmp_path / f"server-{run_id}.err"
    # No agent packages unless a test brings its own: the machine's
    # /usr/share/restic-manager-server/packages must not change answers.
    if "--packages-dir" not in extra_args:
        extra_args = (*extra_args, "--packages-dir", str(tmp_path / "no-packages"))
    argv, store_env = server_command("serve", "--data-dir", str(data_dir), "--listen", "127.0.0.1:0", *extra_args)
    process = subprocess.Popen(argv, stdout=open(stdout_path, "wb"), stderr=open(stderr_path, "wb"),
                               env={**(store_env or os.environ), **env} if env else store_env)

    def listening_url():
        if process.poll() is not None:
            raise AssertionError(f"server exited with {process.returncode}: {stderr_path.read_text()}")
        text = stdout_path.read_text(errors="replace")
        # Text format: `url=http://… … listening`; JSON format: `"url":"http://…"`.
        match = re.search(r"url=(https?://[^\s]+) .*listening", text) or re.search(r'"url":"(https?://[^"]+)"', text)
        return match.group(1) if match else None

    try:
        base_url = wait_for(listening_url, timeout=30, message="server to listen")
    except BaseException:
        # A server that never listened must not outlive the test.
        process.kill()
        process.wait()
        raise
    # The admin password (first start only) is written before "listening"; a restart writes nothing.
    stderr = wait_for(lambda: (stderr_path.read_text(),) if data_dir.exists() else None, timeout=5,
                      message="stderr")[0]
    match = re.search(r"created user admin with password (\S+)", stderr)
    server = Server(data_dir, stdout_path, stderr_path, process, base_url, match.group(1) if match else None,
                    database_for(data_dir) if store_env is not None else None)
    if server.admin_password:
        server.remember_secret(server.admin_password)
    if store_env is not None:
        server.remember_secret(POSTGRES.password)
    return server


@pytest.fixture
def server(tmp_path):
    """A fresh server for one test."""
    srv = start_server(tmp_path, "--agent-offline-after", "3")
    yield srv
    srv.stop()


class HTTPVerbs:
    """Requests against `self.server` through `self.session`."""

    server: "Server"
    session: requests.Session

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        return self.session.request(method, self.server.url(path), **kwargs)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def put(self, path, **kw):
        return self.request("PUT", path, **kw)

    def patch(self, path, **kw):
        return self.request("PATCH", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)


class Client(HTTPVerbs):
    """An HTTP client signed in as one user, with the CSRF header set."""

    def __init__(self, server: Server, username: str, password: str):
        self.server = server
        self.session = requests.Session()
        response = self.session.post(server.url("/api/v1/auth/login"), json={"username": username, "password": password})
        assert response.status_code == 200, response.text
        self.csrf_token = response.json()["csrf_token"]
        self.session.headers["X-CSRF-Token"] = self.csrf_token
        self.user = response.json()["user"]
        server.remember_secret(self.session.cookies["rm_session"])


@pytest.fixture
def admin(server) -> Client:
    return Client(server, "admin", server.admin_password)


def create_user(admin: Client, role: str, username: str | None = None) -> Client:
    """Creates a user with `role` and returns a client signed in as them."""
    username = username or f"{role}-{uuid.uuid4().hex[:6]}"
    password = admin.server.remember_secret(f"pw-{uuid.uuid4().hex}")
    response = admin.post("/api/v1/users", json={"username": username, "password": password, "role": role})
    assert response.status_code == 201, response.text
    return Client(admin.server, username, password)


@pytest.fixture
def operator(admin) -> Client:
    return create_user(admin, "operator")


@pytest.fixture
def viewer(admin) -> Client:
    return create_user(admin, "viewer")


@dataclass
class EnrolledHost:
    host_id: str
    agent_token: str


def enroll_host(admin: Client, hostname: str = "host-1", repo_password: str | None = None) -> EnrolledHost:
    """Creates an enrollment token, enrolls a host and configures a repository."""
    server = admin.server
    created = admin.post("/api/v1/enrollment-tokens", json={"note": "test"})
    assert created.status_code == 201, created.text
    token = server.remember_secret(created.json()["token"])
    enrolled = requests.post(
        server.url("/api/v1/agents/enroll"), json={"token": token, "hostname": hostname, "os": "linux", "arch": "amd64"}
    )
    assert enrolled.status_code == 201, enrolled.text
    host = EnrolledHost(enrolled.json()["host_id"], server.remember_secret(enrolled.json()["agent_token"]))
    password = server.remember_secret(repo_password or f"repo-pw-{uuid.uuid4().hex}")
    configured = admin.put(f"/api/v1/hosts/{host.host_id}/config", json={"repo_url": "/srv/repo", "repo_password": password})
    assert configured.status_code == 200, configured.text
    return host


class Agent:
    """A protocol-v1 agent speaking raw JSON over a real WebSocket."""

    def __init__(self, server: Server, token: str, *, hello: bool = True, active_jobs=None, max_size=2**22):
        # Entered by hand because the connection outlives this call; close() ends it.
        self.ws = connect(server.ws_url, additional_headers={"Authorization": f"Bearer {token}"}, max_size=max_size,
                          open_timeout=10).__enter__()
        self.inbox: list[dict] = []
        self.config = None
        self.schedules = None
        if hello:
            payload = {"protocol_version": 1, "agent_version": "test", "restic_version": "0.14.0", "hostname": "host-1",
                       "os": "linux", "arch": "amd64", "boot_time": "0001-01-01T00:00:00Z", "timezone": "UTC"}
            if active_jobs is not None:
                payload["active_jobs"] = active_jobs
            self.send("hello", payload)
            self.config = self.expect("config.update")
            self.schedules = self.expect("schedule.set")

    def send(self, msg_type: str, payload, msg_id: str | None = None) -> str:
        msg_id = msg_id or str(uuid.uuid4())
        self.ws.send(envelope(msg_type, payload, msg_id))
        return msg_id

    def send_raw(self, text) -> None:
        self.ws.send(text)

    def recv(self, timeout: float = 10.0) -> dict:
        return json.loads(self.ws.recv(timeout=timeout))

    def expect(self, msg_type: str, timeout: float = 10.0) -> dict:
        """Returns the next message of `msg_type`, keeping others in `inbox`."""
        for index, message in enumerate(self.inbox):
            if message["type"] == msg_type:
                return self.inbox.pop(index)
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {msg_type} within {timeout}s; got {[m['type'] for m in self.inbox]}")
            message = self.recv(timeout=remaining)
            if message["type"] == msg_type:
                return message
            self.inbox.append(message)

    def wait_acked(self, ids, timeout: float = 10.0) -> None:
        """Waits until every id in `ids` has been named by an `ack`."""
        pending = set(ids)
        deadline = time.monotonic() + timeout
        while pending:
            ack = self.expect("ack", timeout=max(0.01, deadline - time.monotonic()))
            pending -= set(ack["payload"]["ids"])

    def close(self):
        self.ws.close()

    def idle(self, seconds: float) -> list[dict]:
        """Receives for `seconds`, keeping what arrives in `inbox`; returns the new messages.

        The way to give the server time without sleeping: every message that
        arrives meanwhile is seen and kept."""
        received = []
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                message = self.recv(timeout=remaining)
            except TimeoutError:
                break
            received.append(message)
            self.inbox.append(message)
        return received

    def wait_closed(self, timeout: float = 10.0):
        """Reads until the server closes the socket; returns the close code it sent."""
        from websockets.exceptions import ConnectionClosed
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"socket still open after {timeout}s; got {[m['type'] for m in self.inbox]}")
            try:
                self.inbox.append(self.recv(timeout=remaining))
            except TimeoutError:
                continue
            except ConnectionClosed as closed:
                return closed.rcvd.code if closed.rcvd is not None else None

    def send_acked(self, msg_type: str, payload, msg_id: str | None = None, timeout: float = 10.0) -> str:
        """Sends one message and waits until an `ack` names it."""
        msg_id = self.send(msg_type, payload, msg_id)
        self.wait_acked([msg_id], timeout=timeout)
        return msg_id

    def collect_acks(self, ids, timeout: float = 10.0) -> list[list[str]]:
        """Waits until every id in `ids` was named by an ack (also one seen by an
        earlier call); returns the id lists of the acks received meanwhile."""
        seen = self.__dict__.setdefault("acked", set())
        pending = set(ids) - seen
        batches = []
        deadline = time.monotonic() + timeout
        while pending:
            ack_ids = self.expect("ack", timeout=max(0.01, deadline - time.monotonic()))["payload"]["ids"]
            batches.append(ack_ids)
            seen.update(ack_ids)
            pending -= set(ack_ids)
        return batches

    def messages_of(self, msg_type: str) -> list[dict]:
        """Removes and returns every message of `msg_type` already in `inbox`."""
        found = [m for m in self.inbox if m["type"] == msg_type]
        self.inbox = [m for m in self.inbox if m["type"] != msg_type]
        return found


# ---------------------------------------------------------------------------
# Helpers for the agent hub tests (test_hub_*.py).
# ---------------------------------------------------------------------------

def parse_time(text: str) -> datetime.datetime:
    """Parses an RFC 3339 time as the API or the protocol writes it."""
    return datetime.datetime.fromisoformat(text)


def hello_payload(protocol_version: int = 1, active_jobs=None, **overrides) -> dict:
    """A `hello` payload like `Agent` sends, with fields replaced or added."""
    payload = {"protocol_version": protocol_version, "agent_version": "test", "restic_version": "0.14.0",
               "hostname": "host-1", "os": "linux", "arch": "amd64", "boot_time": "0001-01-01T00:00:00Z",
               "timezone": "UTC"}
    if active_jobs is not None:
        payload["active_jobs"] = active_jobs
    payload.update(overrides)
    return payload


def get_host(client: Client, host_id: str) -> dict:
    response = client.get(f"/api/v1/hosts/{host_id}")
    assert response.status_code == 200, response.text
    return response.json()


def get_job(client: Client, job_id: str) -> dict:
    response = client.get(f"/api/v1/jobs/{job_id}")
    assert response.status_code == 200, response.text
    return response.json()


def job_logs(client: Client, job_id: str) -> list[dict]:
    response = client.get(f"/api/v1/jobs/{job_id}/logs")
    assert response.status_code == 200, response.text
    return response.json()["lines"]


def run_job(client: Client, host_id: str, kind: str = "backup", args=None, schedule_id: str | None = None) -> dict:
    """Run now; returns the created job."""
    body = {"kind": kind, "args": ["/etc"] if args is None and kind == "backup" and not schedule_id else (args or [])}
    if schedule_id:
        body["schedule_id"] = schedule_id
    response = client.post(f"/api/v1/hosts/{host_id}/jobs", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def create_schedule(client: Client, host_id: str, **fields) -> dict:
    body = {"kind": "backup", "cron_expr": "0 3 * * *", "paths": ["/etc"]}
    body.update(fields)
    response = client.post(f"/api/v1/hosts/{host_id}/schedules", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def create_enrollment_token(admin: Client, **body) -> dict:
    body.setdefault("note", "test")
    response = admin.post("/api/v1/enrollment-tokens", json=body)
    assert response.status_code == 201, response.text
    admin.server.remember_secret(response.json()["token"])
    return response.json()


def enroll(server: Server, token: str, hostname: str = "host-1") -> requests.Response:
    return requests.post(server.url("/api/v1/agents/enroll"),
                         json={"token": token, "hostname": hostname, "os": "linux", "arch": "amd64"}, timeout=30)


def handshake_status(server: Server, headers: dict | None) -> int | None:
    """Tries the WebSocket upgrade; returns the HTTP status of a refused handshake, None if it succeeded."""
    from websockets.exceptions import InvalidStatus
    try:
        with connect(server.ws_url, additional_headers=headers or {}, open_timeout=10):
            pass
    except InvalidStatus as refused:
        return refused.response.status_code
    return None
