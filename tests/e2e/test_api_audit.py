"""The audit log, `GET /api/v1/audit` (admin): every change and login, with actor and IP, no secrets (SPEC §7, §8)."""
import requests

from api_support import (Anonymous, assert_error, assert_list, create_api_token, create_schedule, login,
                         new_password, parse_time, run_job, walk_pages)
from conftest import Agent, Client, enroll_host

AUDIT_KEYS = {"id", "ts", "actor", "action", "target_type", "target_id", "details", "ip"}


def all_entries(admin) -> list[dict]:
    return [entry for page in walk_pages(admin, "/api/v1/audit", limit=500) for entry in page]


def test_every_change_and_login_is_audited_without_secrets(server, admin):
    # Logins, good and bad.
    assert login(server, "admin", "wrong-password!").status_code == 401
    # Users.
    password = server.remember_secret(new_password())
    user = admin.post("/api/v1/users", json={"username": "olga", "password": password, "role": "viewer"}).json()
    new = server.remember_secret(new_password())
    assert admin.patch(f"/api/v1/users/{user['id']}", json={"role": "operator", "password": new}).status_code == 200
    olga = Client(server, "olga", new)
    assert olga.post("/api/v1/auth/logout").status_code == 204
    # Tokens.
    token = admin.post("/api/v1/api-tokens", json={"name": "ci"}).json()
    server.remember_secret(token["token"])
    assert admin.delete(f"/api/v1/api-tokens/{token['id']}").status_code == 204
    spare = admin.post("/api/v1/enrollment-tokens", json={"note": "spare"}).json()
    server.remember_secret(spare["token"])
    assert admin.delete(f"/api/v1/enrollment-tokens/{spare['id']}").status_code == 204
    # Hosts, config, schedules, jobs.
    host = enroll_host(admin, repo_password="repo-password-that-must-not-leak")
    assert admin.patch(f"/api/v1/hosts/{host.host_id}", json={"name": "renamed", "notes": "n"}).status_code == 200
    credential = server.remember_secret("credential-that-must-not-leak")
    assert admin.put(f"/api/v1/hosts/{host.host_id}/config", json={"repo_credential": credential}).status_code == 200
    schedule = create_schedule(admin, host.host_id)
    assert admin.put(f"/api/v1/schedules/{schedule['id']}",
                     json={"kind": "backup", "cron_expr": "@daily", "paths": ["/srv"]}).status_code == 200
    job = run_job(admin, host.host_id)
    assert admin.post(f"/api/v1/jobs/{job['id']}/cancel").status_code == 200
    agent = Agent(server, host.agent_token)
    dispatched = run_job(admin, host.host_id, kind="check", args=[])
    agent.expect("command.run")
    agent.close()
    assert admin.delete(f"/api/v1/schedules/{schedule['id']}").status_code == 204
    assert admin.delete(f"/api/v1/hosts/{host.host_id}").status_code == 204
    assert admin.delete(f"/api/v1/users/{user['id']}").status_code == 204

    response = admin.get("/api/v1/audit", params={"limit": 500})
    entries = assert_list(response)["items"]
    for secret in server.secrets:
        assert secret not in response.text, "a secret is in the audit log"
    for entry in entries:
        assert set(entry) == AUDIT_KEYS, entry
        assert isinstance(entry["id"], str) and entry["id"]
        parse_time(entry["ts"])
        assert isinstance(entry["details"], dict)
    # Newest first.
    times = [parse_time(entry["ts"]) for entry in entries]
    assert times == sorted(times, reverse=True)

    by_action: dict[str, list[dict]] = {}
    for entry in entries:
        by_action.setdefault(entry["action"], []).append(entry)
    expected = {
        "auth.login": ("user", None), "auth.login_failed": ("user", None), "auth.logout": ("", None),
        "user.create": ("user", user["id"]), "user.update": ("user", user["id"]), "user.delete": ("user", user["id"]),
        "api_token.create": ("api_token", token["id"]), "api_token.delete": ("api_token", token["id"]),
        "enrollment_token.create": ("enrollment_token", None),
        "enrollment_token.delete": ("enrollment_token", spare["id"]),
        "host.enroll": ("host", host.host_id), "host.update": ("host", host.host_id),
        "host.config.update": ("host", host.host_id), "host.revoke": ("host", host.host_id),
        "schedule.create": ("schedule", schedule["id"]), "schedule.update": ("schedule", schedule["id"]),
        "schedule.delete": ("schedule", schedule["id"]),
        "job.create": ("job", None), "job.cancel": ("job", job["id"]), "job.dispatch": ("job", dispatched["id"]),
    }
    missing = set(expected) - set(by_action)
    assert not missing, f"not audited: {missing}"
    for action, (target_type, target_id) in expected.items():
        entry = by_action[action][0]
        assert entry["target_type"] == target_type, entry
        if target_id is not None:
            assert any(e["target_id"] == target_id for e in by_action[action]), (action, by_action[action])

    # Changes made through the API carry the user and the client's address.
    for action in ("user.create", "user.update", "api_token.create", "host.config.update", "schedule.create",
                   "job.create", "job.cancel", "host.revoke", "auth.login"):
        assert any(e["actor"] == "user:admin" and e["ip"] == "127.0.0.1" for e in by_action[action]), action
    assert {e["actor"] for e in by_action["auth.login"]} == {"user:admin", "user:olga"}
    assert by_action["auth.logout"][0]["actor"] == "user:olga"
    failed = by_action["auth.login_failed"][0]
    assert failed["ip"] == "127.0.0.1" and failed["details"].get("username") == "admin"
    assert by_action["host.enroll"][0]["ip"] == "127.0.0.1"
    assert by_action["host.config.update"][-1]["details"] == {"fields": "repo_url,repo_password"}
    assert by_action["user.update"][0]["details"].get("password") == "changed"


def test_audit_is_admin_only(server, admin, operator, viewer):
    for client in (operator, viewer, create_api_token(operator)):
        assert_error(client.get("/api/v1/audit"), 403, "forbidden")
    assert_error(Anonymous(server).get("/api/v1/audit"), 401, "unauthenticated")
    assert_error(requests.get(server.url("/api/v1/audit"), cookies={"rm_session": "rms_x"}), 401)
    assert admin.get("/api/v1/audit").status_code == 200


def test_audit_pagination(server, admin):
    for index in range(6):
        server.remember_secret(admin.post("/api/v1/api-tokens", json={"name": f"t{index}"}).json()["token"])
    everything = all_entries(admin)
    assert len(everything) >= 8
    pages = walk_pages(admin, "/api/v1/audit", limit=3)
    walked = [entry for page in pages for entry in page]
    assert [e["id"] for e in walked] == [e["id"] for e in everything]
    assert len({e["id"] for e in walked}) == len(walked)
    assert [int(e["id"]) for e in walked] == sorted((int(e["id"]) for e in walked), reverse=True)
    assert [e["details"]["name"] for e in walked if e["action"] == "api_token.create"] == [f"t{i}" for i in
                                                                                          reversed(range(6))]
    assert_error(admin.get("/api/v1/audit", params={"cursor": "bm9wZQ=="}), 400, "validation_failed", "cursor")
    assert_error(admin.get("/api/v1/audit", params={"limit": "1e3"}), 400, "validation_failed", "limit")
