"""The served agent installer and package downloads (SPEC §13).

The packages here are stand-in files with the names §13 fixes: what is under
test is the server's script and its refusals, which happen before anything
is installed. Installing real packages with it is tests/packages.
"""
import hashlib
import os
import pathlib
import re
import shutil
import subprocess

import pytest
import requests

from conftest import start_server

TOKEN = "rme_" + "Q" * 43


def debian_arch() -> str:
    return subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture
def packages(tmp_path):
    directory = tmp_path / "packages"
    directory.mkdir()
    arch = debian_arch()
    (directory / f"restic-manager-agent_0.9.0_{arch}.deb").write_bytes(b"old agent package\n")
    (directory / f"restic-manager-agent_0.10.0_{arch}.deb").write_bytes(os.urandom(4096))
    (directory / "restic-manager-agent_0.10.0_arm64.deb").write_bytes(b"arm agent package\n")
    # Not a package name: never served.
    (directory / "notes.txt").write_text("private\n")
    return directory


@pytest.fixture
def served(tmp_path, packages):
    server = start_server(tmp_path, "--packages-dir", str(packages))
    yield server
    server.stop()


def fetch_script(server) -> str:
    response = requests.get(server.url("/install.sh"), timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/x-shellscript")
    assert response.headers["Cache-Control"] == "no-store"
    return response.text


def carried(script: str) -> dict[str, tuple[str, str]]:
    """arch -> (file, sha256) from the script's package table."""
    return {arch: (name, sha) for arch, name, sha in
            re.findall(r"^\s+(\w+)\) echo '(\S+) ([0-9a-f]{64})' ;;$", script, re.M)}


def run_script(script: str, *args: str, env=None, user: str | None = None) -> subprocess.CompletedProcess:
    command = ["sh", "-s", "--", *args]
    if user:
        command = ["setpriv", "--reuid", user, "--regid", "nogroup", "--clear-groups", "--", *command]
    return subprocess.run(command, input=script, capture_output=True, text=True, timeout=60, env=env)


def test_script_is_posix_sh_and_passes_shellcheck(served):
    script = fetch_script(served)
    assert script.startswith("#!/bin/sh\n")
    assert "\nset -eu\n" in script
    assert script.rstrip().endswith('main "$@"'), "the script must run nothing until it is fully downloaded"
    assert subprocess.run(["sh", "-n"], input=script, text=True).returncode == 0
    assert shutil.which("shellcheck"), "shellcheck is missing: run scripts/install-deps"
    check = subprocess.run(["shellcheck", "--shell=sh", "--severity=style", "-"], input=script, capture_output=True,
                           text=True)
    assert check.returncode == 0, check.stdout
    assert f"SERVER_URL='{served.base_url}'" in script


def test_script_carries_the_checksums_of_the_served_bytes(served, packages):
    script = fetch_script(served)
    table = carried(script)
    arch = debian_arch()
    # The newest per architecture, compared as versions: 0.10.0, not 0.9.0.
    assert table[arch][0] == f"restic-manager-agent_0.10.0_{arch}.deb"
    assert table["arm64"][0] == "restic-manager-agent_0.10.0_arm64.deb"
    for name, sha in table.values():
        served_bytes = requests.get(served.url(f"/packages/{name}"), timeout=10)
        assert served_bytes.status_code == 200
        assert served_bytes.headers["Content-Type"] == "application/vnd.debian.binary-package"
        assert hashlib.sha256(served_bytes.content).hexdigest() == sha
        assert served_bytes.content == (packages / name).read_bytes()
    # The older package is still downloadable; other files and paths are not.
    assert requests.get(served.url(f"/packages/restic-manager-agent_0.9.0_{arch}.deb"), timeout=10).status_code == 200
    for path in ("/packages/notes.txt", "/packages/..%2Fnotes.txt", "/packages/%2Fetc%2Fpasswd", "/packages/"):
        assert requests.get(served.url(path), timeout=10).status_code == 404, path


def test_a_tampered_package_is_refused_before_anything_is_installed(served, packages):
    script = fetch_script(served)
    arch = debian_arch()
    name, _ = carried(script)[arch]
    # Changed on disk after the server read it (or on the way): the bytes
    # the host gets no longer match what the script carries.
    (packages / name).write_bytes(os.urandom(4096))
    result = run_script(script, "--token", TOKEN)
    assert result.returncode == 1
    assert "does not match the checksum" in result.stderr and "nothing was installed" in result.stderr
    assert "installing" not in result.stderr
    assert TOKEN not in result.stdout + result.stderr


def test_refusals_are_clear_and_never_echo_the_token(served, tmp_path):
    script = fetch_script(served)

    # Without root.
    result = run_script(script, "--token", TOKEN, user="nobody")
    assert result.returncode == 1 and "run this as root" in result.stderr

    # Not Debian: no dpkg or apt-get on PATH.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("id", "sh", "cat", "grep"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    result = run_script(script, "--token", TOKEN, env={"PATH": str(bin_dir)})
    assert result.returncode == 1 and "for Debian" in result.stderr, result.stderr

    # Something that is not an enrollment token, or an argument that may be one.
    result = run_script(script, "--token", "hunter2-" + TOKEN)
    assert result.returncode == 1 and "not an enrollment token" in result.stderr
    leaked = run_script(script, TOKEN)
    assert leaked.returncode == 1 and "unknown argument" in leaked.stderr
    assert run_script(script, "--help").returncode == 0

    for outcome in (result, leaked):
        assert TOKEN not in outcome.stdout + outcome.stderr


def test_no_package_for_the_arch_is_said_plainly(tmp_path):
    server = start_server(tmp_path)
    try:
        script = fetch_script(server)
        result = run_script(script, "--token", TOKEN)
        assert result.returncode == 1
        assert "has no agent" in result.stderr and "holds no agent packages" in result.stderr
    finally:
        server.stop()


def test_install_command_is_the_one_line(served):
    from conftest import Client
    admin = Client(served, "admin", served.admin_password)
    created = admin.post("/api/v1/enrollment-tokens", json={"note": "one line"})
    assert created.status_code == 201
    token = served.remember_secret(created.json()["token"])
    assert created.json()["install_command"] == (
        f"curl -fsSL '{served.base_url}/install.sh' | sudo sh -s -- --token {token}")
