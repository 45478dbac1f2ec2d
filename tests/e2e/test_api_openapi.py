"""The OpenAPI document matches the routes, and every documented route enforces
its access rule and CSRF (SPEC §7, §7.1). Driven by `/api/v1/openapi.json` itself,
so a route added later is covered without editing this file."""
import re

import pytest
import requests

from api_support import Anonymous, assert_error, create_api_token, create_schedule, new_password, run_job
from conftest import Agent, create_user, enroll_host, wait_for

# SPEC §7's table: who may call what.
SPEC_ROUTES = {
    ("POST", "/api/v1/auth/login"): "anyone",
    ("POST", "/api/v1/auth/logout"): "user",
    ("GET", "/api/v1/auth/me"): "user",
    ("GET", "/api/v1/users"): "admin",
    ("POST", "/api/v1/users"): "admin",
    ("PATCH", "/api/v1/users/{id}"): "admin",
    ("DELETE", "/api/v1/users/{id}"): "admin",
    ("GET", "/api/v1/api-tokens"): "user",
    ("POST", "/api/v1/api-tokens"): "user",
    ("DELETE", "/api/v1/api-tokens/{id}"): "user",
    ("GET", "/api/v1/enrollment-tokens"): "admin",
    ("POST", "/api/v1/enrollment-tokens"): "admin",
    ("DELETE", "/api/v1/enrollment-tokens/{id}"): "admin",
    ("POST", "/api/v1/agents/enroll"): "enrollment token",
    ("GET", "/api/v1/agent/ws"): "agent token",
    ("GET", "/api/v1/hosts"): "viewer",
    ("GET", "/api/v1/hosts/{id}"): "viewer",
    ("PATCH", "/api/v1/hosts/{id}"): "operator",
    ("DELETE", "/api/v1/hosts/{id}"): "admin",
    ("GET", "/api/v1/hosts/{id}/config"): "admin",
    ("PUT", "/api/v1/hosts/{id}/config"): "admin",
    ("GET", "/api/v1/hosts/{id}/schedules"): "viewer",
    ("POST", "/api/v1/hosts/{id}/schedules"): "operator",
    ("GET", "/api/v1/schedules/{id}"): "viewer",
    ("PUT", "/api/v1/schedules/{id}"): "operator",
    ("DELETE", "/api/v1/schedules/{id}"): "operator",
    ("POST", "/api/v1/hosts/{id}/jobs"): "operator",
    ("GET", "/api/v1/jobs"): "viewer",
    ("GET", "/api/v1/jobs/{id}"): "viewer",
    ("POST", "/api/v1/jobs/{id}/cancel"): "operator",
    ("GET", "/api/v1/jobs/{id}/logs"): "viewer",
    ("GET", "/api/v1/jobs/{id}/logs/stream"): "viewer",
    ("GET", "/api/v1/hosts/{id}/snapshots"): "viewer",
    ("GET", "/api/v1/hosts/{id}/stats"): "viewer",
    ("GET", "/api/v1/audit"): "admin",
    ("GET", "/healthz"): "anyone",
    ("GET", "/metrics"): "viewer",
    ("GET", "/api/v1/openapi.json"): "anyone",
}
ROLE_RANK = {"viewer": 1, "operator": 2, "admin": 3}
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
SIGNED_IN = {"user", "viewer", "operator", "admin"}


def documented_operations(server) -> list[tuple[str, str, dict]]:
    document = requests.get(server.url("/api/v1/openapi.json"), timeout=30).json()
    return [(method.upper(), path, operation) for path, operations in document["paths"].items()
            for method, operation in operations.items()]


def normalized(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{id}", path)


class World:
    """One of every resource, so each documented route can get a plausible request."""

    def __init__(self, admin):
        server = admin.server
        self.host = enroll_host(admin)
        self.schedule = create_schedule(admin, self.host.host_id)
        self.job = run_job(admin, self.host.host_id)
        self.user = admin.post("/api/v1/users", json={"username": "target", "password": new_password(),
                                                      "role": "viewer"}).json()
        self.api_token = admin.post("/api/v1/api-tokens", json={"name": "target"}).json()
        server.remember_secret(self.api_token["token"])
        self.enrollment_token = admin.post("/api/v1/enrollment-tokens", json={}).json()
        server.remember_secret(self.enrollment_token["token"])
        spare = admin.post("/api/v1/enrollment-tokens", json={}).json()
        self.spare_enrollment_token = server.remember_secret(spare["token"])
        self.admin_password = server.admin_password
        self.channel = admin.post("/api/v1/notification-channels", json={
            "name": "doc-test", "kind": "webhook", "config": {"url": "http://127.0.0.1:9/hook"}}).json()
        # A snapshot to browse: reported by the host's agent, which then goes
        # away, so browsing it answers 409 (offline) rather than 404.
        self.snapshot_id = "ab" * 32
        agent = Agent(server, self.host.agent_token)
        agent.wait_acked([agent.send("snapshots.report", {"snapshots": [{
            "id": self.snapshot_id, "time": "2026-01-01T00:00:00Z", "hostname": "host-1", "paths": ["/srv"]}]})])
        agent.close()
        wait_for(lambda: admin.get(f"/api/v1/hosts/{self.host.host_id}").json()["status"] == "offline",
                 message="the host offline again")
        # The host is offline again: with a tiny threshold an alert opens at
        # the first evaluation after 0.06 s (each rule change triggers one).
        def offline_alert():
            assert admin.put("/api/v1/alert-rules/host_offline", json={"threshold_minutes": 0.001}).status_code == 200
            return next(iter(admin.get("/api/v1/alerts").json()["items"]), None)
        self.alert = wait_for(offline_alert, interval=0.1, message="an alert to open")

    def id_for(self, path: str) -> str:
        collection = path.split("/{")[0].rsplit("/", 1)[-1]
        return {
            "users": self.user["id"], "api-tokens": self.api_token["id"],
            "enrollment-tokens": self.enrollment_token["id"], "hosts": self.host.host_id,
            "schedules": self.schedule["id"], "jobs": self.job["id"], "notification-channels": self.channel["id"],
            "alerts": self.alert["id"], "alert-rules": "host_offline",
        }.get(collection, "unknown-id")

    def request(self, method: str, path: str) -> tuple[str, dict]:
        """The concrete URL path and request keyword arguments for one operation."""
        concrete = re.sub(r"\{[^}]+\}", self.id_for(path), path.replace("{snapshot_id}", self.snapshot_id))
        bodies = {
            ("POST", "/api/v1/auth/login"): {"username": "admin", "password": self.admin_password},
            ("POST", "/api/v1/users"): {"username": "made-by-doc-test", "password": new_password(),
                                        "role": "viewer"},
            ("PATCH", "/api/v1/users/{id}"): {"role": "operator"},
            ("POST", "/api/v1/api-tokens"): {"name": "doc-test"},
            ("POST", "/api/v1/enrollment-tokens"): {"note": "doc-test"},
            ("POST", "/api/v1/agents/enroll"): {"token": self.spare_enrollment_token, "hostname": "doc-test",
                                                "os": "linux", "arch": "amd64"},
            ("PATCH", "/api/v1/hosts/{id}"): {"name": "renamed"},
            ("PUT", "/api/v1/hosts/{id}/config"): {"repo_url": "/srv/other-repo"},
            ("POST", "/api/v1/hosts/{id}/schedules"): {"kind": "check", "cron_expr": "@weekly"},
            ("PUT", "/api/v1/schedules/{id}"): {"kind": "backup", "cron_expr": "@daily", "paths": ["/etc"]},
            ("POST", "/api/v1/hosts/{id}/jobs"): {"kind": "check"},
            ("POST", "/api/v1/notification-channels"): {"name": "doc-test-2", "kind": "webhook",
                                                        "config": {"url": "http://127.0.0.1:9/other"}},
            ("PUT", "/api/v1/notification-channels/{id}"): {"name": "renamed", "kind": "webhook",
                                                             "config": {"url": "http://127.0.0.1:9/hook"}},
        }
        kwargs: dict = {"stream": True}
        if method in UNSAFE:
            kwargs["json"] = bodies.get((method, normalized(path)), {})
        if normalized(path) == "/api/v1/agent/ws":
            kwargs["headers"] = {"Authorization": f"Bearer {self.host.agent_token}"}
        return concrete, kwargs


def is_router_miss(response: requests.Response) -> bool:
    if response.status_code == 405:
        return True
    if response.status_code != 404:
        return False
    try:
        return response.json()["error"]["message"].startswith("no route")
    except ValueError:
        return True


def test_document_lists_every_spec_route_with_its_access(server):
    document = requests.get(server.url("/api/v1/openapi.json"))
    assert document.status_code == 200
    assert document.headers["Content-Type"].startswith("application/json")
    body = document.json()
    assert body["openapi"].startswith("3.") and body["info"]["title"] and body["info"]["version"]
    documented = {(method, normalized(path)): operation.get("x-access")
                  for method, path, operation in documented_operations(server)}
    missing = set(SPEC_ROUTES) - set(documented)
    assert not missing, f"routes of SPEC §7 missing from the document: {sorted(missing)}"
    wrong = {route: (documented[route], access) for route, access in SPEC_ROUTES.items()
             if documented[route] != access}
    assert not wrong, f"x-access differs from SPEC §7 (documented, spec): {wrong}"
    ids = [operation["operationId"] for _, _, operation in documented_operations(server)]
    assert len(ids) == len(set(ids)), "operationIds must be unique"
    for method, path, operation in documented_operations(server):
        assert operation.get("summary"), (method, path)
        assert operation.get("responses"), (method, path)
        for name in re.findall(r"\{([^}]+)\}", path):
            assert any(p["name"] == name and p["in"] == "path" for p in operation.get("parameters", [])), (path, name)
        if method in {"POST", "PUT", "PATCH"} and operation.get("requestBody"):
            assert "400" in operation["responses"], (method, path)


def test_every_documented_route_answers(server, admin):
    world = World(admin)
    bearer = create_api_token(admin)
    operations = documented_operations(server)
    # Deletions last, hosts at the very end, so every other route still finds its resource.
    operations.sort(key=lambda op: (op[0] == "DELETE", op[0] == "DELETE" and "/hosts/" in op[1]))
    answers = {}
    for method, path, operation in operations:
        concrete, kwargs = world.request(method, path)
        response = bearer.request(method, concrete, **kwargs)
        if response.status_code == 404:
            # Its body tells a router miss from a resource that is not there
            # (GET /packages/{file} on a server holding no packages).
            _ = response.content
        response.close()
        answers[(method, path)] = response.status_code
        assert not is_router_miss(response), f"{method} {path} → {response.status_code}"
        if (method, normalized(path)) in SPEC_ROUTES:
            expected = 426 if normalized(path) == "/api/v1/agent/ws" else None
            if expected:
                assert response.status_code == expected, (method, path, response.status_code)
            else:
                assert 200 <= response.status_code < 300, (method, path, response.status_code)
    # A missing route and a wrong method are told apart from the documented ones.
    assert is_router_miss(bearer.get("/api/v1/no-such-route"))
    assert is_router_miss(bearer.request("PATCH", "/api/v1/jobs"))


def test_every_route_refuses_missing_credentials_and_lower_roles(server, admin):
    world = World(admin)
    viewer, operator = create_user(admin, "viewer"), create_user(admin, "operator")
    clients = {"viewer": viewer, "operator": operator}
    anonymous = Anonymous(server)
    checked = 0
    for method, path, operation in documented_operations(server):
        access = operation["x-access"]
        concrete, kwargs = world.request(method, path)
        kwargs.pop("headers", None)
        kwargs.pop("stream")  # refusals are plain JSON answers
        if access == "enrollment token":
            kwargs["json"] = {**kwargs["json"], "token": "rme_" + "0" * 43}
        if access != "anyone":
            response = anonymous.request(method, concrete, **kwargs)
            assert_error(response, 401)
            checked += 1
        if access in ROLE_RANK:
            for role, client in clients.items():
                if ROLE_RANK[role] < ROLE_RANK[access]:
                    response = client.request(method, concrete, **kwargs)
                    assert response.status_code == 403, f"{role} → {method} {path}: {response.status_code}"
                    assert_error(response, 403, "forbidden")
                    checked += 1
    assert checked > 50
    # Nothing was changed by the refused calls.
    assert admin.get(f"/api/v1/hosts/{world.host.host_id}").json()["name"] == "host-1"
    assert admin.get(f"/api/v1/jobs/{world.job['id']}").json()["status"] == "queued"
    assert len(admin.get("/api/v1/users").json()["items"]) == 4


def test_every_unsafe_route_needs_csrf_with_a_cookie(server, admin):
    world = World(admin)
    no_csrf = requests.Session()
    no_csrf.cookies.update(admin.session.cookies)
    checked = 0
    for method, path, operation in documented_operations(server):
        if method not in UNSAFE or operation["x-access"] not in SIGNED_IN:
            continue
        concrete, kwargs = world.request(method, path)
        response = no_csrf.request(method, server.url(concrete), timeout=10, **kwargs)
        error = assert_error(response, 403, "forbidden")
        assert "X-CSRF-Token" in error["message"], (method, path)
        checked += 1
    assert checked >= 15
    assert admin.get(f"/api/v1/hosts/{world.host.host_id}").json()["name"] == "host-1"
    assert admin.get("/api/v1/auth/me").status_code == 200


@pytest.mark.parametrize("path", ["/api/v1/openapi.json", "/healthz"])
def test_public_routes_need_no_credentials(server, path):
    assert requests.get(server.url(path)).status_code == 200
