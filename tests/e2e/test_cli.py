"""The server's command line: flags, first start, the offline `user` commands, TLS."""
import os
import stat
import subprocess

import pytest
import requests

from conftest import Client, server_command, start_server


def run_cli(*args, stdin: str | None = None, timeout: float = 60):
    """Runs the binary; with `--data-dir`, on that data dir's store (its database on PostgreSQL)."""
    argv, env = server_command(*args)
    return subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=timeout, env=env)


@pytest.mark.parametrize(
    "args, message",
    [
        (["serve", "--listen", "nonsense"], "--listen must be HOST:PORT"),
        (["serve", "--listen", "127.0.0.1:70000"], "--listen must be HOST:PORT"),
        (["serve", "--tls-cert", "/nonexistent.pem"], "--tls-cert and --tls-key go together"),
        (["serve", "--base-url", "ftp://x"], "--base-url must be an http"),
        (["serve", "--agent-offline-after", "0"], "--agent-offline-after must be from 1"),
        (["serve", "--job-expiry-seconds", "-5"], "--job-expiry-seconds"),
        (["serve", "--log-format", "xml"], "--log-format must be text or json"),
        (["serve", "--log-level", "loud"], "--log-level must be one of"),
        (["serve", "--no-such-flag"], "Unknown option"),
        (["user", "add", "--username", "bob", "--role", "root"], "role: must be one of admin, operator, viewer"),
    ],
)
def test_bad_flags_exit_non_zero_with_a_one_line_reason(tmp_path, args, message):
    result = run_cli(*args, "--data-dir", str(tmp_path / "data")) if args[0] == "user" else run_cli(*args)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Error:" in result.stderr.splitlines()[0]


def test_every_command_has_help():
    for args in (["--help"], ["serve", "--help"], ["user", "--help"], ["user", "add", "--help"],
                 ["user", "list", "--help"], ["user", "passwd", "--help"], ["user", "disable", "--help"]):
        result = run_cli(*args)
        assert result.returncode == 0, args
        assert "USAGE" in result.stdout.upper()


def test_first_start_creates_key_and_admin_once(tmp_path):
    first = start_server(tmp_path)
    assert first.admin_password and len(first.admin_password) >= 32
    key = first.data_dir / "secret.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.stat().st_size == 32
    original = key.read_bytes()
    Client(first, "admin", first.admin_password)
    assert first.admin_password not in first.log_text()
    first.stop()

    second = start_server(tmp_path, data_dir=first.data_dir)
    try:
        assert second.admin_password is None, "the admin password is printed on first start only"
        assert key.read_bytes() == original, "the key file is never overwritten"
        Client(second, "admin", first.admin_password)
    finally:
        second.stop()


def test_wrong_size_key_refuses_to_start(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    key = data / "secret.key"
    key.write_bytes(b"\x01" * 31)
    os.chmod(key, 0o600)
    result = run_cli("serve", "--data-dir", str(data), "--listen", "127.0.0.1:0", timeout=30)
    assert result.returncode != 0
    assert "31" in result.stderr and "secret.key" in result.stderr
    assert key.read_bytes() == b"\x01" * 31


def test_json_log_format_writes_one_object_per_line(tmp_path):
    server = start_server(tmp_path, "--log-format", "json")
    try:
        lines = [line for line in server.log_text().splitlines() if line.strip()]
        import json

        objects = [json.loads(line) for line in lines]
        assert any(obj.get("message") == "listening" for obj in objects)
        assert all({"ts", "level", "message"} <= obj.keys() for obj in objects)
    finally:
        server.stop()


def test_user_commands_work_offline_on_the_data_dir(tmp_path):
    data = str(tmp_path / "data")
    added = run_cli("user", "add", "--username", "carol", "--role", "operator", "--password-stdin",
                    "--data-dir", data, stdin="correct horse battery staple\n")
    assert added.returncode == 0, added.stderr
    assert "correct horse" not in added.stdout + added.stderr

    generated = run_cli("user", "add", "--username", "dave", "--role", "viewer", "--data-dir", data)
    assert generated.returncode == 0, generated.stderr
    dave_password = generated.stderr.split("shown once): ")[1].strip()

    duplicate = run_cli("user", "add", "--username", "carol", "--role", "viewer", "--data-dir", data)
    assert duplicate.returncode != 0 and "already exists" in duplicate.stderr

    short = run_cli("user", "add", "--username", "erin", "--role", "viewer", "--password-stdin", "--data-dir", data,
                    stdin="short\n")
    assert short.returncode != 0 and "at least 12" in short.stderr

    listed = run_cli("user", "list", "--data-dir", data)
    assert listed.returncode == 0
    rows = {line.split("\t")[0]: line.split("\t")[1:] for line in listed.stdout.splitlines()[1:]}
    assert rows["carol"] == ["operator", "false"] and rows["dave"] == ["viewer", "false"]

    unknown = run_cli("user", "passwd", "--username", "nobody", "--data-dir", data)
    assert unknown.returncode != 0 and "no user named nobody" in unknown.stderr

    server = start_server(tmp_path, data_dir=tmp_path / "data")
    try:
        Client(server, "carol", "correct horse battery staple")
        Client(server, "dave", dave_password)
        changed = run_cli("user", "passwd", "--username", "carol", "--password-stdin", "--data-dir", data,
                          stdin="another long password\n")
        assert changed.returncode == 0, changed.stderr
        old = requests.post(server.url("/api/v1/auth/login"),
                            json={"username": "carol", "password": "correct horse battery staple"})
        assert old.status_code == 401
        Client(server, "carol", "another long password")

        disabled = run_cli("user", "disable", "--username", "dave", "--data-dir", data)
        assert disabled.returncode == 0, disabled.stderr
        refused = requests.post(server.url("/api/v1/auth/login"), json={"username": "dave", "password": dave_password})
        assert refused.status_code == 401
        run_cli("user", "disable", "--username", "dave", "--enable", "--data-dir", data)
        Client(server, "dave", dave_password)
    finally:
        server.stop()


def test_tls_serves_https_with_the_given_certificate(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    made = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        capture_output=True)
    assert made.returncode == 0, made.stderr
    server = start_server(tmp_path, "--tls-cert", str(cert), "--tls-key", str(key))
    try:
        assert server.base_url.startswith("https://")
        assert requests.get(server.url("/healthz"), verify=str(cert)).text == "ok\n"
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(server.url("/healthz"))
        login = requests.post(server.url("/api/v1/auth/login"), verify=str(cert),
                              json={"username": "admin", "password": server.admin_password})
        assert "Secure" in login.headers["Set-Cookie"]
    finally:
        server.stop()
