"""Helpers for the HTTP API end-to-end tests (`test_api_*.py`).

Kept apart from `conftest.py` so the shared harness stays small; everything
here builds on it and talks to the real server over real sockets.
"""
from __future__ import annotations

import datetime
import re
import threading
import uuid

import requests

from conftest import Client, EnrolledHost, HTTPVerbs, Server, handshake_status, store_execute

RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
SNAKE_CASE = re.compile(r"^[a-z][a-z0-9_]*$")
# Members whose contents are opaque JSON chosen by someone else (restic
# stats, audit details) and so are exempt from the snake_case check.
OPAQUE_MEMBERS = {"stats", "details"}


def parse_time(value: str) -> datetime.datetime:
    """Checks that `value` is RFC 3339 in UTC and returns it as an aware datetime."""
    assert isinstance(value, str) and RFC3339_UTC.match(value), f"not an RFC 3339 UTC time: {value!r}"
    whole, _, fraction = value[:-1].partition(".")
    parsed = datetime.datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    if fraction:
        parsed += datetime.timedelta(microseconds=int((fraction + "000000")[:6]))
    return parsed


def assert_snake_case(value, path="$") -> None:
    """Every object key in an API answer is snake_case (SPEC §7.1)."""
    if isinstance(value, dict):
        for key, member in value.items():
            assert SNAKE_CASE.match(key), f"{path}: key {key!r} is not snake_case"
            if key not in OPAQUE_MEMBERS:
                assert_snake_case(member, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            assert_snake_case(item, f"{path}[{index}]")


def assert_api_shape(value, path="$") -> None:
    """SPEC §7.1 conventions on a whole answer: snake_case keys, ids as
    strings, and every time (`*_at`, `ts`, `time`, `next_runs`) RFC 3339 UTC or null."""
    assert_snake_case(value, path)
    if isinstance(value, dict):
        for key, member in value.items():
            if key in OPAQUE_MEMBERS:
                continue
            where = f"{path}.{key}"
            if key == "id" or key.endswith("_id"):
                # Only `id` itself must be non-empty: an audit entry without a target has target_id "".
                assert member is None or (isinstance(member, str) and (member or key != "id")), \
                    f"{where}: id is not a string"
            elif key.endswith("_at") or key in ("ts", "time"):
                assert member is None or RFC3339_UTC.match(str(member)), f"{where}: {member!r} is not RFC 3339 UTC"
            elif key == "next_runs":
                assert all(RFC3339_UTC.match(run) for run in member), f"{where}: {member!r}"
            else:
                assert_api_shape(member, where)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            assert_api_shape(item, f"{path}[{index}]")


def assert_error(response: requests.Response, status: int, code: str | None = None, field: str | None = None) -> dict:
    """Checks an `{"error": {"code", "message"}}` answer and returns the inner object.

    With `field`, the message must name it and `fields` must hold it (400s).
    """
    assert response.status_code == status, f"expected {status}, got {response.status_code}: {response.text}"
    assert response.headers.get("Content-Type", "").startswith("application/json"), response.headers
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error.get("code"), str) and error["code"], body
    assert isinstance(error.get("message"), str) and error["message"], body
    assert set(error) <= {"code", "message", "fields"}, body
    if code is not None:
        assert error["code"] == code, body
    if field is not None:
        assert field in error["message"], f"message does not name {field!r}: {body}"
        assert field in (error.get("fields") or {}), f"fields does not hold {field!r}: {body}"
    return error


def assert_list(response: requests.Response) -> dict:
    """Checks a `{"items": […], "next_cursor": …|null}` answer and returns it."""
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"items", "next_cursor"}, body
    assert isinstance(body["items"], list)
    assert body["next_cursor"] is None or (isinstance(body["next_cursor"], str) and body["next_cursor"])
    assert_api_shape(body)
    return body


def walk_pages(client, path: str, limit: int, params: dict | None = None) -> list[list[dict]]:
    """Follows `next_cursor` from the first page to the last; returns every page."""
    pages = []
    cursor = None
    while True:
        query = dict(params or {}, limit=limit)
        if cursor:
            query["cursor"] = cursor
        body = assert_list(client.get(path, params=query))
        assert len(body["items"]) <= limit
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert len(body["items"]) == limit, "a page before the last must be full"
        assert len(pages) < 1000, "cursor walk does not end"


class TokenClient(HTTPVerbs):
    """An HTTP client authenticated with `Authorization: Bearer <token>` only:
    no cookie and no CSRF header."""

    def __init__(self, server: Server, token: str):
        self.server = server
        self.token = token
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"


class Anonymous(TokenClient):
    """A client with no credentials at all."""

    def __init__(self, server: Server):
        self.server = server
        self.token = None
        self.session = requests.Session()


def create_api_token(client, name: str | None = None) -> TokenClient:
    """Creates an API token for `client`'s user and returns a bearer client using it."""
    response = client.post("/api/v1/api-tokens", json={"name": name or f"token-{uuid.uuid4().hex[:6]}"})
    assert response.status_code == 201, response.text
    token = client.server.remember_secret(response.json()["token"])
    return TokenClient(client.server, token)


def login(server: Server, username: str, password: str) -> requests.Response:
    return requests.post(server.url("/api/v1/auth/login"), json={"username": username, "password": password},
                         timeout=30)


def new_password() -> str:
    return f"pw-{uuid.uuid4().hex}"


def create_schedule(client, host_id: str, **fields) -> dict:
    body = {"kind": "backup", "cron_expr": "0 3 * * *", "paths": ["/etc"]}
    body.update(fields)
    response = client.post(f"/api/v1/hosts/{host_id}/schedules", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def run_job(client, host_id: str, **fields) -> dict:
    body = {"kind": "backup", "args": ["/etc"]}
    body.update(fields)
    response = client.post(f"/api/v1/hosts/{host_id}/jobs", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def db_execute(server: Server, sql: str, arguments=()) -> int:
    """Changes the live database directly, for states the API cannot reach
    quickly (an expired token); on either engine (`conftest.store_execute`)."""
    return store_execute(server.data_dir, sql, arguments)


class SSEReader:
    """Reads a Server-Sent Events response in a background thread.

    `events` fills with `{"event", "id", "data"}` dicts as they arrive;
    `finished` is set when the server ends the response.
    """

    def __init__(self, client, path: str, headers: dict | None = None):
        request_headers = dict(client.session.headers)
        request_headers.update(headers or {})
        self.response = requests.get(client.server.url(path), headers=request_headers,
                                     cookies=client.session.cookies.get_dict(), stream=True, timeout=(5, 60))
        self.events: list[dict] = []
        self.comments = 0
        self.error: BaseException | None = None
        self.finished = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        if self.response.status_code == 200:
            self._thread.start()
        else:
            self.finished.set()

    def _run(self):
        buffer = ""
        event: dict = {}
        try:
            for chunk in self.response.iter_content(chunk_size=None, decode_unicode=True):
                buffer += chunk
                while "\n" in buffer:
                    line, buffer = buffer.split("\n", 1)
                    if line == "":
                        if event:
                            self.events.append(event)
                        event = {}
                    elif line.startswith(":"):
                        self.comments += 1
                    else:
                        name, _, value = line.partition(":")
                        event[name] = value[1:] if value.startswith(" ") else value
        except BaseException as error:  # noqa: BLE001 - surfaced to the test through `error`
            self.error = error
        finally:
            self.finished.set()

    def of(self, name: str) -> list[dict]:
        return [event for event in self.events if event.get("event") == name]

    def close(self):
        self.response.close()


def assert_socket_refused(server: Server, token: str | None) -> int:
    """The agent socket refuses `token` with HTTP 401 before the upgrade (SPEC §4)."""
    status = handshake_status(server, {"Authorization": f"Bearer {token}"} if token else {})
    assert status == 401, f"the agent socket answered {status}, not 401"
    return status


def enroll_bare_host(admin: Client, hostname: str = "bare-host") -> EnrolledHost:
    """Enrolls a host without configuring any repository."""
    server = admin.server
    created = admin.post("/api/v1/enrollment-tokens", json={})
    assert created.status_code == 201, created.text
    token = server.remember_secret(created.json()["token"])
    enrolled = requests.post(server.url("/api/v1/agents/enroll"),
                             json={"token": token, "hostname": hostname, "os": "linux", "arch": "amd64"}, timeout=30)
    assert enrolled.status_code == 201, enrolled.text
    return EnrolledHost(enrolled.json()["host_id"], server.remember_secret(enrolled.json()["agent_token"]))


def host_status(client, host_id: str) -> str:
    return client.get(f"/api/v1/hosts/{host_id}").json()["status"]


def agent_start_job(agent, job_id: str, kind: str = "backup", started_at: str = "2026-01-02T03:04:05Z") -> None:
    """The agent accepts and starts `job_id`; returns once the server acked both."""
    agent.wait_acked([
        agent.send("command.result", {"job_id": job_id, "accepted": True}),
        agent.send("job.started", {"job_id": job_id, "kind": kind, "started_at": started_at}),
    ])


def agent_log(agent, job_id: str, seq: int, text: str, stream: str = "stdout") -> None:
    agent.wait_acked([agent.send("log.stream", {"job_id": job_id, "seq": seq, "ts": "2026-01-02T03:04:06Z",
                                                "stream": stream, "payload": text})])


def agent_finish_job(agent, job_id: str, status: str = "succeeded", exit_code: int = 0,
                     finished_at: str = "2026-01-02T03:05:00Z", **extra) -> None:
    payload = {"job_id": job_id, "status": status, "exit_code": exit_code, "finished_at": finished_at, **extra}
    agent.wait_acked([agent.send("job.finished", payload)])


def assert_same_resource(left, right, path="$") -> None:
    """Deep equality, except that times may differ below a millisecond (the
    store keeps milliseconds, a create response may show more digits)."""
    if isinstance(left, dict) and isinstance(right, dict):
        assert set(left) == set(right), f"{path}: keys differ: {set(left) ^ set(right)}"
        for key in left:
            assert_same_resource(left[key], right[key], f"{path}.{key}")
    elif isinstance(left, list) and isinstance(right, list):
        assert len(left) == len(right), f"{path}: lengths differ"
        for index, (a, b) in enumerate(zip(left, right)):
            assert_same_resource(a, b, f"{path}[{index}]")
    elif isinstance(left, str) and isinstance(right, str) and RFC3339_UTC.match(left) and RFC3339_UTC.match(right):
        difference = abs(parse_time(left) - parse_time(right))
        assert difference < datetime.timedelta(milliseconds=1), f"{path}: {left} != {right}"
    else:
        assert left == right, f"{path}: {left!r} != {right!r}"
