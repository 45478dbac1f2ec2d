"""Enrollment tokens (admin) and the enrollment exchange `POST /api/v1/agents/enroll` (SPEC §4, §7.1)."""
import datetime

import pytest
import requests
from websockets.exceptions import ConnectionClosed

from api_support import (assert_api_shape, assert_error, assert_list, assert_socket_refused, db_execute, parse_time,
                         walk_pages)
from conftest import Agent, Client, enroll_host, start_server, wait_for


def enroll(server, token, hostname="host-1", **extra):
    body = {"token": token, "hostname": hostname, "os": "linux", "arch": "amd64", **extra}
    return requests.post(server.url("/api/v1/agents/enroll"), json=body, timeout=30)


def new_enrollment_token(admin, **body) -> dict:
    created = admin.post("/api/v1/enrollment-tokens", json=body)
    assert created.status_code == 201, created.text
    admin.server.remember_secret(created.json()["token"])
    return created.json()


def test_create_shows_token_once_with_install_command(server, admin):
    created = admin.post("/api/v1/enrollment-tokens", json={"note": "rack 4"})
    assert created.status_code == 201
    body = created.json()
    assert set(body) == {"id", "token", "expires_at", "install_command"}
    assert_api_shape(body)
    token = server.remember_secret(body["token"])
    assert token.startswith("rme_")
    assert token in body["install_command"]
    # SPEC §13: the one line that installs, enrolls and starts the agent.
    assert body["install_command"] == (
        f"curl -fsSL '{server.base_url}/install.sh' | sudo sh -s -- --token {token}")
    lifetime = parse_time(body["expires_at"]) - datetime.datetime.now(datetime.timezone.utc)
    assert datetime.timedelta(hours=23, minutes=55) < lifetime <= datetime.timedelta(hours=24)

    listed = admin.get("/api/v1/enrollment-tokens")
    items = assert_list(listed)["items"]
    assert token not in listed.text
    assert len(items) == 1 and "token" not in items[0]
    item = items[0]
    assert item["id"] == body["id"] and item["note"] == "rack 4" and item["created_by"] == "user:admin"
    assert item["used_at"] is None and item["used_by_host_id"] is None
    parse_time(item["created_at"])
    assert abs(parse_time(item["expires_at"]) - parse_time(body["expires_at"])) < datetime.timedelta(milliseconds=1)

    enrolled = enroll(server, token)
    used = admin.get("/api/v1/enrollment-tokens").json()["items"][0]
    assert used["used_by_host_id"] == enrolled.json()["host_id"]
    parse_time(used["used_at"])


def test_install_command_uses_the_base_url(tmp_path):
    server = start_server(tmp_path, "--base-url", "https://backup.example.com:8443")
    try:
        admin = Client(server, "admin", server.admin_password)
        body = new_enrollment_token(admin, expires_in_hours=2)
        assert body["install_command"].startswith("curl -fsSL 'https://backup.example.com:8443/install.sh' | sudo sh -s -- --token rme_")
        lifetime = parse_time(body["expires_at"]) - datetime.datetime.now(datetime.timezone.utc)
        assert datetime.timedelta(hours=1, minutes=55) < lifetime <= datetime.timedelta(hours=2)
    finally:
        server.stop()


def test_enroll_returns_host_id_and_agent_token(server, admin):
    token = new_enrollment_token(admin)["token"]
    enrolled = enroll(server, token, hostname="web-1", name="Web server")
    assert enrolled.status_code == 201, enrolled.text
    body = enrolled.json()
    assert set(body) == {"host_id", "agent_token"}
    agent_token = server.remember_secret(body["agent_token"])
    assert agent_token.startswith("rmg_")
    host = admin.get(f"/api/v1/hosts/{body['host_id']}").json()
    assert (host["name"], host["hostname"], host["os"], host["arch"]) == ("Web server", "web-1", "linux", "amd64")
    # The agent token is for the socket only, not for the user API.
    assert_error(requests.get(server.url("/api/v1/hosts"), headers={"Authorization": f"Bearer {agent_token}"}),
                 401, "unauthenticated")


def test_same_hostname_twice_makes_two_hosts(server, admin):
    first = enroll_host(admin, hostname="twin")
    second = enroll_host(admin, hostname="twin")
    assert first.host_id != second.host_id
    hosts = admin.get("/api/v1/hosts").json()["items"]
    assert sorted(h["id"] for h in hosts) == sorted([first.host_id, second.host_id])


def test_used_expired_unknown_and_deleted_tokens_get_the_same_401(server, admin):
    used = new_enrollment_token(admin)
    assert enroll(server, used["token"]).status_code == 201
    expired = new_enrollment_token(admin)
    assert db_execute(server, "UPDATE enrollment_tokens SET expires_at = '2000-01-01 00:00:00.000' WHERE id = ?",
                      (expired["id"],)) == 1
    deleted = new_enrollment_token(admin)
    assert admin.delete(f"/api/v1/enrollment-tokens/{deleted['id']}").status_code == 204
    assert_error(admin.delete(f"/api/v1/enrollment-tokens/{deleted['id']}"), 404, "not_found")

    answers = {
        "used": enroll(server, used["token"]),
        "expired": enroll(server, expired["token"]),
        "deleted": enroll(server, deleted["token"]),
        "unknown": enroll(server, "rme_" + "Q" * 43),
        "wrong kind": enroll(server, "rma_" + "Q" * 43),
        "garbage": enroll(server, "x"),
    }
    first = answers["used"]
    assert_error(first, 401)
    for name, answer in answers.items():
        assert answer.status_code == 401, name
        assert answer.json() == first.json(), name
    # Nothing was enrolled by the refused attempts.
    assert len(admin.get("/api/v1/hosts").json()["items"]) == 1


def test_enroll_validates_its_body(server, admin):
    token = new_enrollment_token(admin)["token"]
    url = server.url("/api/v1/agents/enroll")
    assert_error(requests.post(url, data="nope", headers={"Content-Type": "application/json"}), 400,
                 "validation_failed", "body")
    assert_error(requests.post(url, json={"token": token, "os": "linux", "arch": "amd64"}), 400,
                 "validation_failed", "hostname")
    assert_error(enroll(server, token, hostname=""), 400, "validation_failed", "hostname")
    assert_error(enroll(server, token, hostname="a" * 10_000), 400, "validation_failed", "hostname")
    assert_error(enroll(server, token, hostname="evil\u001b[31m"), 400, "validation_failed", "hostname")
    assert_error(enroll(server, token, hostname="h", name=["x"]), 400, "validation_failed", "name")
    assert_error(requests.post(url, json={"token": 5, "hostname": "h", "os": "linux", "arch": "amd64"}), 400,
                 "validation_failed", "token")
    assert_error(requests.post(url, data=b" " * ((1 << 20) + 10)), 413, "too_large")
    # The token was not burnt by the refused requests.
    assert enroll(server, token).status_code == 201


def test_enrollment_token_validation(server, admin):
    def create(body):
        return admin.post("/api/v1/enrollment-tokens", json=body)

    assert_error(create({"expires_in_hours": 0}), 400, "validation_failed", "expires_in_hours")
    assert_error(create({"expires_in_hours": 721}), 400, "validation_failed", "expires_in_hours")
    assert_error(create({"expires_in_hours": "soon"}), 400, "validation_failed", "expires_in_hours")
    assert_error(create({"note": "n" * 10_000}), 400, "validation_failed", "note")
    assert_error(create({"replace_host_id": "no-such-host"}), 400, "validation_failed", "replace_host_id")
    assert admin.get("/api/v1/enrollment-tokens").json()["items"] == []


def test_enrollment_tokens_are_admin_only(server, admin, operator, viewer):
    token = new_enrollment_token(admin)
    for client in (operator, viewer):
        assert_error(client.get("/api/v1/enrollment-tokens"), 403, "forbidden")
        assert_error(client.post("/api/v1/enrollment-tokens", json={}), 403, "forbidden")
        assert_error(client.delete(f"/api/v1/enrollment-tokens/{token['id']}"), 403, "forbidden")
    assert_error(requests.get(server.url("/api/v1/enrollment-tokens")), 401, "unauthenticated")
    assert_error(requests.post(server.url("/api/v1/enrollment-tokens"), json={}), 401, "unauthenticated")
    assert [t["id"] for t in admin.get("/api/v1/enrollment-tokens").json()["items"]] == [token["id"]]
    assert enroll(server, token["token"]).status_code == 201


def test_replace_host_reenrolls_the_same_host_id(server, admin):
    old = enroll_host(admin, hostname="old-name")
    agent = Agent(server, old.agent_token)
    wait_for(lambda: admin.get(f"/api/v1/hosts/{old.host_id}").json()["status"] == "online", message="online")
    replacement = new_enrollment_token(admin, replace_host_id=old.host_id)
    listed = admin.get("/api/v1/enrollment-tokens").json()["items"][0]
    assert listed["replace_host_id"] == old.host_id

    enrolled = enroll(server, replacement["token"], hostname="new-name", os="windows")
    assert enrolled.status_code == 201
    assert enrolled.json()["host_id"] == old.host_id
    new_token = server.remember_secret(enrolled.json()["agent_token"])
    assert new_token != old.agent_token

    # The old agent's socket is closed and its token no longer opens one.
    with pytest.raises(ConnectionClosed):
        agent.expect("never", timeout=10)
    assert_socket_refused(server, old.agent_token)

    hosts = admin.get("/api/v1/hosts").json()["items"]
    assert [h["id"] for h in hosts] == [old.host_id]
    assert (hosts[0]["hostname"], hosts[0]["os"]) == ("new-name", "windows")
    # The repository config stayed with the host.
    assert admin.get(f"/api/v1/hosts/{old.host_id}/config").json()["repo_password_set"] is True
    new_agent = Agent(server, new_token)
    assert new_agent.config["payload"]["repo_url"] == "/srv/repo"
    new_agent.close()


def test_enrollment_token_pagination(server, admin):
    ids = [new_enrollment_token(admin, note=f"n{i}")["id"] for i in range(5)]
    pages = walk_pages(admin, "/api/v1/enrollment-tokens", limit=2)
    assert [t["id"] for page in pages for t in page] == list(reversed(ids))


def test_agent_socket_refuses_missing_wrong_and_user_tokens(server, admin):
    host = enroll_host(admin)
    user_token = admin.post("/api/v1/api-tokens", json={"name": "not-an-agent"}).json()["token"]
    server.remember_secret(user_token)
    for token in (None, "rmg_" + "0" * 43, user_token, host.agent_token[:-1]):
        assert_socket_refused(server, token)
    Agent(server, host.agent_token).close()
