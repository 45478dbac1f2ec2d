"""Enrollment (SPEC §4.1, §7.1) and the bearer check before the WebSocket upgrade (§4.2)."""
import uuid

import pytest
import requests
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from conftest import (Agent, create_enrollment_token, enroll, enroll_host, get_host, handshake_status,
                      start_server, store_execute)


def test_valid_enrollment_returns_host_and_agent_token_that_opens_the_socket(server, admin):
    token = create_enrollment_token(admin)["token"]
    response = enroll(server, token, hostname="db-1")
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) >= {"host_id", "agent_token"}
    assert body["agent_token"].startswith("rmg_")
    host = get_host(admin, body["host_id"])
    assert host["hostname"] == "db-1"
    assert host["status"] == "offline"

    agent = Agent(server, server.remember_secret(body["agent_token"]))
    assert agent.config["type"] == "config.update"
    assert get_host(admin, body["host_id"])["status"] == "online"


def test_reused_unknown_deleted_and_expired_enrollment_tokens_all_get_the_same_401(server, admin, tmp_path):
    used = create_enrollment_token(admin)["token"]
    assert enroll(server, used).status_code == 201

    deleted = create_enrollment_token(admin)
    assert admin.delete(f"/api/v1/enrollment-tokens/{deleted['id']}").status_code == 204

    expiring = create_enrollment_token(admin)
    # Make one token expired: offline, in the real database file, then restart on it.
    server.stop()
    changed = store_execute(server.data_dir, "UPDATE enrollment_tokens SET expires_at = '2000-01-01 00:00:00.000' "
                            "WHERE id = ?", (expiring["id"],))
    assert changed == 1
    srv = start_server(tmp_path, "--agent-offline-after", "3", data_dir=server.data_dir)
    try:
        answers = {
            "reused": enroll(srv, used),
            "unknown": enroll(srv, "rme_" + uuid.uuid4().hex + uuid.uuid4().hex),
            "not a token": enroll(srv, "hello"),
            "deleted": enroll(srv, deleted["token"]),
            "expired": enroll(srv, expiring["token"]),
        }
        for name, response in answers.items():
            assert response.status_code == 401, (name, response.status_code, response.text)
        bodies = {name: response.json() for name, response in answers.items()}
        assert len({repr(body) for body in bodies.values()}) == 1, bodies
        assert "agent_token" not in bodies["expired"] and "host_id" not in bodies["expired"]
    finally:
        srv.stop()


def test_re_enrolling_a_hostname_makes_a_new_host_unless_the_token_replaces_one(server, admin):
    first = enroll_host(admin, hostname="web-1")
    second = enroll_host(admin, hostname="web-1")
    assert first.host_id != second.host_id
    listed = {h["id"] for h in admin.get("/api/v1/hosts").json()["items"]}
    assert {first.host_id, second.host_id} <= listed
    # Both credentials keep working: nothing was replaced.
    assert Agent(server, first.agent_token).config is not None
    assert Agent(server, second.agent_token).config is not None

    connected_old = Agent(server, first.agent_token)
    replacing = create_enrollment_token(admin, replace_host_id=first.host_id)["token"]
    response = enroll(server, replacing, hostname="web-1-rebuilt")
    assert response.status_code == 201, response.text
    assert response.json()["host_id"] == first.host_id
    new_token = server.remember_secret(response.json()["agent_token"])
    assert new_token != first.agent_token

    # The old agent's socket is closed and its token no longer opens one.
    connected_old.wait_closed()
    assert handshake_status(server, {"Authorization": f"Bearer {first.agent_token}"}) == 401
    agent = Agent(server, new_token)
    assert agent.config["payload"]["repo_url"] == "/srv/repo"  # config of the replaced host is kept
    assert get_host(admin, first.host_id)["hostname"] == "host-1"  # from the new agent's hello
    assert len(admin.get("/api/v1/hosts").json()["items"]) == 2


def test_replace_host_id_of_an_unknown_host_is_refused(admin):
    response = admin.post("/api/v1/enrollment-tokens", json={"note": "x", "replace_host_id": "no-such-host"})
    assert response.status_code == 400, response.text


@pytest.mark.parametrize("case", ["missing", "wrong", "malformed", "enrollment", "revoked", "user-api-token"])
def test_socket_refused_with_401_before_upgrade(server, admin, case):
    host = enroll_host(admin)
    if case == "missing":
        headers = {}
    elif case == "wrong":
        headers = {"Authorization": "Bearer rmg_" + uuid.uuid4().hex + uuid.uuid4().hex}
    elif case == "malformed":
        headers = {"Authorization": "Basic " + host.agent_token}
    elif case == "enrollment":
        headers = {"Authorization": "Bearer " + create_enrollment_token(admin)["token"]}
    elif case == "revoked":
        assert admin.delete(f"/api/v1/hosts/{host.host_id}").status_code == 204
        headers = {"Authorization": "Bearer " + host.agent_token}
    else:
        created = admin.post("/api/v1/api-tokens", json={"name": "automation"})
        assert created.status_code == 201, created.text
        headers = {"Authorization": "Bearer " + server.remember_secret(created.json()["token"])}

    with pytest.raises(InvalidStatus) as refused:
        connect(server.ws_url, additional_headers=headers, open_timeout=10)
    assert refused.value.response.status_code == 401
    assert handshake_status(server, headers) == 401
    # A plain GET of the socket path with the same credentials answers 401 too.
    plain = requests.get(server.url("/api/v1/agent/ws"), headers=headers, timeout=10)
    assert plain.status_code == 401
    # The valid token still upgrades (the refusal is about the credential, not the route).
    if case != "revoked":
        assert handshake_status(server, {"Authorization": f"Bearer {host.agent_token}"}) is None
