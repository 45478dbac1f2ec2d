"""`/healthz` and `/metrics` (SPEC §7, §9)."""
import re

import requests

from api_support import agent_finish_job, agent_start_job, assert_error, create_api_token, run_job
from conftest import Agent, Client, create_user, enroll_host, start_server


def metric(text: str, name: str, labels: str = "") -> float | None:
    match = re.search(rf"^{re.escape(name + labels)} ([0-9.eE+-]+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else None


def test_healthz(server):
    response = requests.get(server.url("/healthz"))
    assert response.status_code == 200 and response.text.strip() == "ok"


def test_metrics_need_a_viewer_and_speak_prometheus(server, admin):
    assert_error(requests.get(server.url("/metrics")), 401, "unauthenticated")
    assert_error(requests.get(server.url("/metrics"), headers={"Authorization": "Bearer rma_bogus"}), 401)
    viewer_token = create_api_token(create_user(admin, "viewer"))

    host = enroll_host(admin)
    agent = Agent(server, host.agent_token)
    job = run_job(admin, host.host_id)
    agent.expect("command.run")
    agent_start_job(agent, job["id"])
    agent_finish_job(agent, job["id"], stats={"data_added": 4096})

    response = viewer_token.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    text = response.text
    for line in text.splitlines():
        assert line.startswith("# HELP ") or line.startswith("# TYPE ") or re.match(
            r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"]*")*\})? '
            r'[0-9.eE+-]+$', line), f"not Prometheus text: {line!r}"
    assert metric(text, "rm_hosts", '{state="online"}') == 1
    assert metric(text, "rm_websocket_connections") == 1
    assert metric(text, "rm_agent_messages_received_total") >= 3
    assert "rm_jobs{" in text and 'status="succeeded"' in text
    # A session cookie works as well.
    assert admin.get("/metrics").status_code == 200


def test_public_metrics_flag(tmp_path):
    server = start_server(tmp_path, "--public-metrics")
    try:
        assert requests.get(server.url("/metrics")).status_code == 200
        document = requests.get(server.url("/api/v1/openapi.json")).json()
        assert document["paths"]["/metrics"]["get"]["x-access"] == "anyone"
        admin = Client(server, "admin", server.admin_password)
        assert admin.get("/api/v1/auth/me").status_code == 200
    finally:
        server.stop()

