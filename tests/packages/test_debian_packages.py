"""The Debian packages of SPEC §13, installed for real.

An operator installs restic-manager-server from its .deb, configures it in
/etc/default, starts it the way its unit does, copies the enrollment
page's one line to a host, and that host's agent (installed by the served
installer, from the package the server carries) comes online, keeps its
named time zone, and backs up with real restic. Then the server is
upgraded (data dir and key kept, the older agent told of the newer
package), the line is run again (it upgrades, the enrollment stays), and
both packages are purged (each says what it leaves).

It needs root and dist/ from scripts/package; scripts/test runs it as its
own step after building dist/ once.
"""
from __future__ import annotations

import hashlib
import os
import pathlib
import re
import shutil
import signal
import stat
import subprocess
import uuid

import pytest
import requests

# First: it puts tests/e2e on sys.path for the helpers below.
from package_support import (DIST, debian_arch, installed_version, purge_everything, release_version, sh,
                             unit_exec_start, unit_value)

import agent_harness as harness  # noqa: E402
from conftest import Client, wait_for  # noqa: E402

VERSION = release_version()
ARCH = debian_arch()
AGENT_DEB = DIST / f"restic-manager-agent_{VERSION}_{ARCH}.deb"
SERVER_DEB = DIST / f"restic-manager-server_{VERSION}_{ARCH}.deb"
SERVER_UNIT = "/lib/systemd/system/restic-manager-server.service"
AGENT_UNIT = "/lib/systemd/system/restic-manager-agent.service"
DATA_DIR = pathlib.Path("/var/lib/restic-manager-server")
STATE_DIR = pathlib.Path("/var/lib/restic-manager-agent")
SERVED_DIR = pathlib.Path("/usr/share/restic-manager-server/packages")
APT = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
# The swift toolchain's libraries: a package binary must need none of them.
TOOLCHAIN = "/opt/swift"


@pytest.fixture(scope="module")
def system():
    assert os.geteuid() == 0, "the package test installs packages: run it as root"
    for deb in (AGENT_DEB, SERVER_DEB):
        assert deb.exists(), f"{deb} is missing: run scripts/package first"
    purge_everything()
    yield
    purge_everything()


def field(deb: pathlib.Path, name: str) -> str:
    return sh("dpkg-deb", "--field", str(deb), name).stdout.strip()


def contents(deb: pathlib.Path) -> str:
    return sh("dpkg-deb", "--contents", str(deb)).stdout


def apt_install(deb: pathlib.Path) -> subprocess.CompletedProcess:
    return sh("apt-get", "install", "-y", "-q", "-o", "Dpkg::Options::=--force-confold", str(deb), env=APT)


def repackage(deb: pathlib.Path, version: str, work: pathlib.Path, swap_agent: pathlib.Path | None = None) -> pathlib.Path:
    """The same package under a newer version: what the next release's
    upgrade looks like to dpkg and to the server's version comparison."""
    root = work / f"{deb.stem}-{version}"
    sh("dpkg-deb", "-R", str(deb), str(root))
    control = root / "DEBIAN" / "control"
    control.write_text(re.sub(r"^Version: .*$", f"Version: {version}", control.read_text(), flags=re.M))
    if swap_agent:
        for old in (root / SERVED_DIR.relative_to("/")).iterdir():
            old.unlink()
        shutil.copy(swap_agent, root / SERVED_DIR.relative_to("/") / swap_agent.name)
    name = deb.name.replace(f"_{VERSION}_", f"_{version}_")
    out = work / name
    sh("dpkg-deb", "--root-owner-group", "-Zgzip", "--build", str(root), str(out))
    return out


class UnitProcess:
    """A binary started exactly as its installed unit's ExecStart says
    (with its EnvironmentFile), as the unit's user; systemd cannot run
    here, so this stands in for `systemctl start`."""

    def __init__(self, unit: str, log: pathlib.Path, user: str | None = None, env: dict | None = None):
        argv = unit_exec_start(unit)
        if user:
            argv = ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", *argv]
        self.log = log
        self.err = log.with_suffix(".err")
        base = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
        self.process = subprocess.Popen(argv, stdout=open(log, "ab"), stderr=open(self.err, "ab"), cwd="/",
                                        env={**base, **(env or {})}, preexec_fn=lambda: os.umask(0o077))

    def text(self) -> str:
        return self.log.read_text(errors="replace") + self.err.read_text(errors="replace")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # systemd's KillSignal
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


class InstalledServer:
    """Enough of conftest.Server for the e2e helpers (Client, harness)."""

    def __init__(self, base_url: str, admin_password: str | None):
        self.base_url = base_url
        self.admin_password = admin_password
        self.secrets: list[str] = []

    def url(self, path: str) -> str:
        return self.base_url + path

    def remember_secret(self, value: str) -> str:
        self.secrets.append(value)
        return value


def start_installed_server(tmp_path: pathlib.Path, port: int) -> tuple[UnitProcess, InstalledServer]:
    process = UnitProcess(SERVER_UNIT, tmp_path / f"server-{uuid.uuid4().hex[:6]}.log", user="restic-manager")
    base_url = f"http://127.0.0.1:{port}"

    def healthy():
        assert process.process.poll() is None, f"server exited {process.process.returncode}: {process.text()}"
        try:
            return requests.get(base_url + "/healthz", timeout=2).status_code == 200
        except requests.ConnectionError:
            return False

    wait_for(healthy, timeout=60, interval=0.1, message="the installed server to serve /healthz")
    match = re.search(r"created user admin with password (\S+)", process.err.read_text())
    return process, InstalledServer(base_url, match.group(1) if match else None)


def run_install_line(line: str, tmp_path: pathlib.Path) -> subprocess.CompletedProcess:
    """Runs the enrollment page's line as an operator would. This machine
    has no sudo and the test is root already: a `sudo` that only execs
    stands in for it; everything else is the line as shown."""
    shim = tmp_path / "sudo-shim"
    shim.mkdir(exist_ok=True)
    (shim / "sudo").write_text('#!/bin/sh\nexec "$@"\n')
    (shim / "sudo").chmod(0o755)
    env = {"PATH": f"{shim}:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
    return subprocess.run(["sh", "-c", line], capture_output=True, text=True, timeout=600, env=env)


def test_packages_are_well_formed():
    assert field(AGENT_DEB, "Package") == "restic-manager-agent" and field(AGENT_DEB, "Version") == VERSION
    assert field(SERVER_DEB, "Package") == "restic-manager-server" and field(SERVER_DEB, "Version") == VERSION
    assert field(AGENT_DEB, "Architecture") == ARCH == field(SERVER_DEB, "Architecture")
    agent_depends = field(AGENT_DEB, "Depends")
    assert re.match(r"restic(,|$)", agent_depends), agent_depends
    assert "libc6" in agent_depends and "libsqlite3-0" in agent_depends
    assert "libsodium23" in field(SERVER_DEB, "Depends") and "adduser" in field(SERVER_DEB, "Depends")
    # Nothing of the Swift toolchain: the runtime is linked in.
    assert "swift" not in (agent_depends + field(SERVER_DEB, "Depends")).lower()

    agent_files = contents(AGENT_DEB)
    for path in ("./usr/bin/restic-manager-agent", "./lib/systemd/system/restic-manager-agent.service",
                 "./etc/default/restic-manager-agent", "./usr/share/doc/restic-manager-agent/copyright"):
        assert path in agent_files, path
    server_files = contents(SERVER_DEB)
    for path in ("./usr/bin/restic-manager-server", "./lib/systemd/system/restic-manager-server.service",
                 "./etc/default/restic-manager-server", f".{SERVED_DIR}/{AGENT_DEB.name}"):
        assert path in server_files, path
    assert re.search(r"^-rwxr-xr-x root/root .* \./usr/bin/restic-manager-server$", server_files, re.M)

    # Lintian: no errors; warnings are looked at in docs/decisions.md.
    assert shutil.which("lintian"), "lintian is missing: run scripts/install-deps"
    for deb in (AGENT_DEB, SERVER_DEB):
        report = sh("lintian", "--no-tag-display-limit", str(deb), check=False, timeout=600)
        errors = [line for line in report.stdout.splitlines() if line.startswith("E:")]
        assert errors == [], "\n".join(errors)


def test_operator_installs_the_server_and_a_host_enrolls_with_the_one_line(system, tmp_path):
    # --- The server package. ---
    apt_install(SERVER_DEB)
    assert installed_version("restic-manager-server") == VERSION
    user = sh("getent", "passwd", "restic-manager").stdout.strip().split(":")
    assert int(user[2]) < 1000 and user[5] == str(DATA_DIR) and user[6] in ("/usr/sbin/nologin", "/bin/false")
    info = DATA_DIR.stat()
    assert stat.S_IMODE(info.st_mode) == 0o700 and info.st_uid == int(user[2])
    assert (SERVED_DIR / AGENT_DEB.name).read_bytes() == AGENT_DEB.read_bytes()
    assert pathlib.Path("/etc/systemd/system/multi-user.target.wants/restic-manager-server.service").is_symlink()
    verify = sh("systemd-analyze", "verify", SERVER_UNIT, check=False)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    for key, value in (("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"), ("PrivateTmp", "yes"),
                       ("ReadWritePaths", str(DATA_DIR)), ("User", "restic-manager")):
        assert unit_value(SERVER_UNIT, key) == value, key
    assert int(unit_value(SERVER_UNIT, "LimitNOFILE")) >= 20_000  # SPEC §12: 10,000 agents
    # systemd's own exposure score (0 best, 10 worst): 1.7 when written.
    exposure = sh("systemd-analyze", "security", "--offline=true", SERVER_UNIT, check=False).stdout
    score = re.search(r"Overall exposure level for restic-manager-server\.service: ([\d.]+)", exposure)
    assert score and float(score.group(1)) <= 2.0, exposure[-3000:]

    # The operator's flags go in /etc/default (a conffile): here, a free port.
    port = harness.free_port()
    pathlib.Path("/etc/default/restic-manager-server").write_text(
        f'RESTIC_MANAGER_SERVER_ARGS="--listen 127.0.0.1:{port} --agent-offline-after 5"\n')
    server_process, server = start_installed_server(tmp_path, port)
    agent_process = None
    try:
        assert server.admin_password, "the first start prints the admin password"
        admin = Client(server, "admin", server.admin_password)
        assert sorted(p.name for p in DATA_DIR.iterdir() if not p.name.endswith(("-wal", "-shm"))) == [
            "restic-manager.sqlite", "secret.key"]
        key_before = (DATA_DIR / "secret.key").read_bytes()

        # --- The served installer carries the checksum of the served bytes. ---
        script = requests.get(server.url("/install.sh"), timeout=10).text
        assert sh("sh", "-n", input=script).returncode == 0
        assert sh("shellcheck", "--shell=sh", "-", input=script, check=False).returncode == 0
        carried = re.search(rf"^\s+{ARCH}\) echo '(\S+) ([0-9a-f]{{64}})' ;;$", script, re.M)
        assert carried and carried.group(1) == AGENT_DEB.name
        served = requests.get(server.url(f"/packages/{AGENT_DEB.name}"), timeout=30).content
        assert hashlib.sha256(served).hexdigest() == carried.group(2) == hashlib.sha256(AGENT_DEB.read_bytes()).hexdigest()

        # --- A wrong token: installed, refused at enrollment, said plainly. ---
        created = admin.post("/api/v1/enrollment-tokens", json={"note": "package test"})
        assert created.status_code == 201, created.text
        token = created.json()["token"]
        line = created.json()["install_command"]
        assert line == f"curl -fsSL '{server.base_url}/install.sh' | sudo sh -s -- --token {token}"
        wrong_token = "rme_" + "x" * 43
        wrong = run_install_line(line.replace(token, wrong_token), tmp_path)
        assert wrong.returncode == 1, wrong.stdout + wrong.stderr
        assert "enrollment failed" in wrong.stderr and "unknown, used or expired" in wrong.stderr
        assert wrong_token not in wrong.stdout + wrong.stderr
        assert installed_version("restic-manager-agent") == VERSION  # brought restic along: it is a Depends

        # --- The one line, as shown. ---
        result = run_install_line(line, tmp_path)
        output = result.stdout + result.stderr
        assert result.returncode == 0, output
        assert token not in output, "the installer printed the token"
        assert "systemd is not running here" in output
        assert pathlib.Path("/etc/systemd/system/multi-user.target.wants/restic-manager-agent.service").is_symlink()
        assert stat.S_IMODE(STATE_DIR.stat().st_mode) == 0o700
        assert stat.S_IMODE((STATE_DIR / "agent.sqlite").stat().st_mode) == 0o600
        verify = sh("systemd-analyze", "verify", AGENT_UNIT, check=False)
        assert verify.returncode == 0, verify.stdout + verify.stderr
        assert unit_value(AGENT_UNIT, "KillMode") == "mixed" and unit_value(AGENT_UNIT, "Restart") == "on-failure"
        # No Swift on the host: the installed binaries need nothing from the toolchain.
        for binary in ("/usr/bin/restic-manager-agent", "/usr/bin/restic-manager-server"):
            linked = sh("ldd", binary).stdout
            assert TOOLCHAIN not in linked and "libswift" not in linked and "libFoundation" not in linked, linked

        # --- The agent runs as its unit says, in a named time zone. ---
        agent_process = UnitProcess(AGENT_UNIT, tmp_path / "agent.log", env={"TZ": "America/New_York"})
        host_id = wait_for(lambda: next((h["id"] for h in admin.get("/api/v1/hosts").json()["items"]
                                         if h["status"] == "online"), None), timeout=60, interval=0.2,
                           message="the installed agent online")
        host = admin.get(f"/api/v1/hosts/{host_id}").json()
        assert host["agent_version"] == VERSION and host["update_available"] is False
        assert host["timezone"] == "America/New_York", "the static binary lost the named time zone"

        # Cron in that zone, from the static binary's own status command.
        harness.create_schedule(admin, host_id, cron_expr="0 3 * * *", paths=["/nonexistent-for-status"])
        harness.wait_schedule_acked(admin, host_id)
        status = sh("/usr/bin/restic-manager-agent", "status", "--state-dir", str(STATE_DIR),
                    env={"PATH": "/usr/bin:/bin", "TZ": "America/New_York"}).stdout
        assert "Time zone:       America/New_York" in status, status
        assert re.search(r"next \d{4}-\d\d-\d\d 03:00:00 (EST|EDT|GMT-[45])", status), status

        # --- A real backup with real restic. ---
        source = tmp_path / "source"
        source.mkdir()
        (source / "file.txt").write_text("backed up by the installed agent\n")
        repo = tmp_path / "repo"
        harness.configure_repository(admin, host_id, str(repo), "package-test-repo-pw")
        init = harness.wait_job_done(admin, harness.run_job(admin, host_id, "init"), timeout=120)
        assert init["status"] == "succeeded", init
        backup = harness.wait_job_done(admin, harness.run_job(admin, host_id, "backup", args=[str(source)]), timeout=180)
        assert backup["status"] == "succeeded", backup
        assert backup["stats"]["files_new"] == 1
        snaps = wait_for(lambda: harness.snapshots(admin, host_id), timeout=60, message="snapshots reported")
        assert snaps and str(source) in snaps[0]["paths"]
        assert harness.restic_snapshot_ids(str(repo), "package-test-repo-pw")

        # --- Upgrade the server: data dir and key stay; older agents are told. ---
        work = tmp_path / "repack"
        work.mkdir()
        next_agent = repackage(AGENT_DEB, "0.99.0", work)
        next_server = repackage(SERVER_DEB, "0.99.0", work, swap_agent=next_agent)
        server_process.stop()
        apt_install(next_server)
        assert installed_version("restic-manager-server") == "0.99.0"
        assert (DATA_DIR / "secret.key").read_bytes() == key_before
        assert stat.S_IMODE(DATA_DIR.stat().st_mode) == 0o700
        assert f"127.0.0.1:{port}" in pathlib.Path("/etc/default/restic-manager-server").read_text()
        server_process, server = start_installed_server(tmp_path, port)
        assert server.admin_password is None, "an upgrade must not make a new admin"
        admin = Client(server, "admin", admin.server.admin_password)
        host = harness.wait_online(admin, host_id, timeout=120)  # the agent reconnected by itself
        assert host["update_available"] is True
        fleet = admin.get("/")  # the operator's UI, served by the installed binary
        assert fleet.status_code == 200 and "agent 0.99.0 available" in fleet.text
        wait_for(lambda: "a newer agent is available" in agent_process.text(), timeout=30, message="the agent's notice")
        status = sh("/usr/bin/restic-manager-agent", "status", "--state-dir", str(STATE_DIR)).stdout
        assert f"Update:          0.99.0 available at {server.base_url}/packages/{next_agent.name}" in status, status

        # --- The same line again: upgrades the agent, keeps the enrollment. ---
        agent_process.stop()
        again = run_install_line(line, tmp_path)
        assert again.returncode == 0, again.stdout + again.stderr
        assert "already enrolled" in again.stderr and token not in again.stdout + again.stderr
        assert installed_version("restic-manager-agent") == "0.99.0"
        agent_process = UnitProcess(AGENT_UNIT, tmp_path / "agent-2.log")
        assert harness.wait_online(admin, host_id, timeout=60)["id"] == host_id
        assert len(admin.get("/api/v1/hosts").json()["items"]) == 1
    finally:
        if agent_process:
            agent_process.stop()
        server_process.stop()

    # --- Purging says what it leaves, and leaves it. ---
    purged = sh("apt-get", "purge", "-y", "-q", "restic-manager-server", "restic-manager-agent", env=APT)
    said = purged.stdout + purged.stderr
    assert "Left in place: /var/lib/restic-manager-server" in said and "Left in place: /var/lib/restic-manager-agent" in said
    assert (DATA_DIR / "secret.key").read_bytes() == key_before and (STATE_DIR / "agent.sqlite").exists()
    assert not pathlib.Path("/usr/bin/restic-manager-server").exists()
    assert not pathlib.Path("/etc/default/restic-manager-server").exists()
