"""The agent over wss:// to a server with a certificate from a private CA:
verified with --ca-file, refused without it."""
import sqlite3
import subprocess

import pytest

from agent_harness import run_agent_command, start_agent
from conftest import Client, start_server, wait_for


def make_ca_and_server_cert(directory):
    """A throw-away CA and a server certificate for 127.0.0.1 signed by it (openssl CLI)."""
    ca_key, ca_cert = directory / "ca.key", directory / "ca.pem"
    key, csr, cert = directory / "server.key", directory / "server.csr", directory / "server.pem"
    ext = directory / "ext.cnf"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n")
    run = lambda *args: subprocess.run(["openssl", *args], check=True, capture_output=True)  # noqa: E731
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key), "-out", str(ca_cert),
        "-days", "2", "-subj", "/CN=restic-manager test CA")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr), "-subj", "/CN=127.0.0.1")
    run("x509", "-req", "-in", str(csr), "-CA", str(ca_cert), "-CAkey", str(ca_key), "-CAcreateserial",
        "-out", str(cert), "-days", "2", "-extfile", str(ext))
    return ca_cert, cert, key


@pytest.fixture
def tls_server(tmp_path):
    ca, cert, key = make_ca_and_server_cert(tmp_path)
    server = start_server(tmp_path, "--tls-cert", str(cert), "--tls-key", str(key), "--agent-offline-after", "3")
    assert server.base_url.startswith("https://")
    yield server, ca
    server.stop()


def test_wss_with_custom_ca(tls_server, tmp_path, monkeypatch):
    server, ca = tls_server
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca))
    admin = Client(server, "admin", server.admin_password)
    token = admin.post("/api/v1/enrollment-tokens", json={"note": "tls"}).json()["token"]
    state_dir = tmp_path / "agent-state"
    # Certificates are checked against a DNS name (TLS SNI cannot carry an IP address).
    agent_url = server.base_url.replace("127.0.0.1", "localhost")
    refused = run_agent_command("enroll", "--server", agent_url, "--token", token, "--state-dir", str(state_dir))
    assert refused.returncode != 0 and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    ip_url = run_agent_command("enroll", "--server", server.base_url, "--token", token, "--state-dir", str(state_dir))
    assert ip_url.returncode != 0 and "IP address" in ip_url.stderr, ip_url.stderr
    result = run_agent_command("enroll", "--server", agent_url, "--token", token, "--state-dir", str(state_dir),
                               "--ca-file", str(ca))
    assert result.returncode == 0, result.stderr
    host_id = result.stdout.split("enrolled as host ", 1)[1].split(";", 1)[0].strip()
    with sqlite3.connect(state_dir / "agent.sqlite") as conn:
        agent_token = conn.execute("SELECT agent_token FROM credential").fetchone()[0]

    untrusting = start_agent(state_dir)
    try:
        wait_for(lambda: "cannot reach server" in untrusting.log_text(), timeout=20, message="TLS failure logged")
        assert admin.get(f"/api/v1/hosts/{host_id}").json()["status"] == "offline"
    finally:
        untrusting.stop()

    trusting = start_agent(state_dir, "--ca-file", str(ca))
    try:
        wait_for(lambda: admin.get(f"/api/v1/hosts/{host_id}").json()["status"] == "online", timeout=30,
                 interval=0.2, message="host online over wss")
    finally:
        trusting.stop()
    for log in (untrusting.log_text(), trusting.log_text()):
        assert agent_token not in log
