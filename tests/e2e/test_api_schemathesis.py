"""Schemathesis over every operation of `/api/v1/openapi.json` (issue #14, item 8).

The real server, signed in as admin with an API token, answers generated
valid and invalid requests; the run fails on any 5xx, any status the document
does not list, and any response that contradicts the document. Bounded: a
fixed seed, a few examples per operation, and a time budget.
"""
import os
import pathlib
import subprocess

import pytest
import requests

from api_support import Anonymous, assert_error, create_api_token, create_schedule, run_job
from conftest import Client, enroll_host, start_server

SCHEMATHESIS = pathlib.Path(__file__).resolve().parents[2] / ".venv" / "bin" / "schemathesis"
CHECKS = ",".join([
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
])
EXAMPLES = os.environ.get("RM_SCHEMATHESIS_EXAMPLES", "5")


@pytest.fixture
def fuzzed(tmp_path):
    srv = start_server(tmp_path)
    yield srv
    srv.stop()


def seed_resources(admin: Client) -> dict[str, str]:
    """A host with a schedule and a job, and a channel: the ids the path parameters get,
    so operations reach their handlers instead of stopping at 404."""
    host = enroll_host(admin)
    schedule = create_schedule(admin, host.host_id)
    job = run_job(admin, host.host_id)
    channel = admin.post("/api/v1/notification-channels", json={
        "name": "fuzzed", "kind": "webhook", "config": {"url": "http://127.0.0.1:9/hook"}})
    assert channel.status_code == 201, channel.text
    return {"hosts": host.host_id, "schedules": schedule["id"], "jobs": job["id"],
            "notification-channels": channel.json()["id"]}


def schemathesis_config(ids: dict[str, str]) -> str:
    """Real ids for every path under a seeded resource; DELETEs keep random ids so the
    resources live through the run."""
    entries = []
    for resource, resource_id in ids.items():
        # TOML literal strings: the regex's backslashes stay as written.
        entries.append("\n".join([
            "[[operations]]",
            f"include-path-regex = '^/api/v1/{resource}/\\{{id\\}}'",
            'exclude-method = "DELETE"',
            f'parameters = {{ "path.id" = "{resource_id}" }}',
            "",
        ]))
    return "\n".join(entries)


def test_every_operation_survives_schemathesis(fuzzed, tmp_path):
    assert SCHEMATHESIS.exists(), "run scripts/install-deps: schemathesis is missing from .venv"
    admin = Client(fuzzed, "admin", fuzzed.admin_password)
    token = create_api_token(admin).token
    config = tmp_path / "schemathesis.toml"
    config.write_text(schemathesis_config(seed_resources(admin)))
    result = subprocess.run(
        [str(SCHEMATHESIS), "--config-file", str(config), "--no-color", "run", fuzzed.url("/api/v1/openapi.json"),
         "--url", fuzzed.base_url, "--checks", CHECKS, "--header", f"Authorization: Bearer {token}",
         "--phases", "examples,coverage,fuzzing", "--max-examples", EXAMPLES, "--seed", "14",
         "--workers", "1", "--request-timeout", "30", "--max-time", "180",
         "--report", "junit", "--report-dir", str(tmp_path / "schemathesis")],
        capture_output=True, text=True, timeout=420, cwd=tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-12_000:]
    assert "Tested:" in output, output[-2_000:]
    # The server is still healthy after the run.
    assert requests.get(fuzzed.url("/healthz"), timeout=10).status_code == 200


def test_the_document_lists_what_the_routes_answer(server):
    document = requests.get(server.url("/api/v1/openapi.json"), timeout=30).json()
    paths = document["paths"]
    body_operations = [(path, method, op) for path, ops in paths.items() for method, op in ops.items()
                       if "requestBody" in op]
    assert len(body_operations) >= 14
    for path, method, operation in body_operations:
        assert {"400", "413", "415"} <= set(operation["responses"]), (method, path)
    assert "204" in paths["/api/v1/auth/logout"]["post"]["responses"]
    assert "200" not in paths["/api/v1/auth/logout"]["post"]["responses"]
    assert "409" in paths["/api/v1/jobs/{id}/cancel"]["post"]["responses"]
    assert "429" in paths["/api/v1/auth/login"]["post"]["responses"]
    required = {
        ("/api/v1/auth/login", "post"): {"username", "password"},
        ("/api/v1/users", "post"): {"username", "password", "role"},
        ("/api/v1/api-tokens", "post"): {"name"},
        ("/api/v1/agents/enroll", "post"): {"token", "hostname", "os", "arch"},
        ("/api/v1/hosts/{id}/schedules", "post"): {"kind", "cron_expr"},
        ("/api/v1/hosts/{id}/jobs", "post"): {"kind"},
        ("/api/v1/notification-channels", "post"): {"name", "kind", "config"},
    }
    for (path, method), fields in required.items():
        schema = paths[path][method]["requestBody"]["content"]["application/json"]["schema"]
        assert set(schema["required"]) == fields, (path, schema)
        assert fields <= set(schema["properties"])


def test_an_empty_body_is_refused_naming_a_required_field(server, admin):
    """What the document marks required is what the handler refuses without."""
    document = requests.get(server.url("/api/v1/openapi.json"), timeout=30).json()
    login = document["paths"]["/api/v1/auth/login"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    answer = requests.post(server.url("/api/v1/auth/login"), json={}, timeout=30)
    error = assert_error(answer, 400, "validation_failed")
    assert any(field in error["message"] for field in login["required"])


def test_trace_is_405_everywhere(server):
    for path in ("/", "/api/v1/auth/me", "/healthz", "/nowhere"):
        answer = requests.request("TRACE", server.url(path), timeout=10)
        assert_error(answer, 405, "method_not_allowed")
        assert "TRACE" not in answer.headers["Allow"]


def test_a_body_that_is_not_json_is_415_as_documented(server, admin):
    answer = Anonymous(server).session.post(server.url("/api/v1/auth/login"), data="username=admin",
                                            headers={"Content-Type": "application/x-www-form-urlencoded"},
                                            timeout=30)
    assert_error(answer, 415, "unsupported_media_type")
