"""Helpers for end-to-end tests of the real `restic-manager-agent` binary.

The agent runs as a real process against the real server, with real restic
and a real repository. Every wait has a deadline (`wait_for`).
"""
from __future__ import annotations

import json
import os
import pathlib
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass

from conftest import ROOT, Client, wait_for

AGENT_BINARY = pathlib.Path(os.environ.get("RM_AGENT_BIN", ROOT / ".build" / "debug" / "restic-manager-agent"))
VENV_BIN = ROOT / ".venv" / "bin"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_agent_command(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    assert AGENT_BINARY.exists(), f"{AGENT_BINARY} is missing: run `swift build --product restic-manager-agent`"
    return subprocess.run([str(AGENT_BINARY), *args], capture_output=True, text=True, timeout=timeout)


@dataclass
class AgentProcess:
    """A running `restic-manager-agent run`."""

    state_dir: pathlib.Path
    log_path: pathlib.Path
    process: subprocess.Popen

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 40) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def start_agent(state_dir: pathlib.Path, *extra: str, log_dir: pathlib.Path | None = None) -> AgentProcess:
    log_dir = log_dir or state_dir.parent
    log_path = log_dir / f"agent-{uuid.uuid4().hex[:8]}.log"
    env = dict(os.environ)
    # Fast, deterministic progress output from restic.
    env.setdefault("RESTIC_PROGRESS_FPS", "2")
    process = subprocess.Popen(
        [str(AGENT_BINARY), "run", "--state-dir", str(state_dir), "--log-level", "debug", *extra],
        stdout=open(log_path, "ab"), stderr=subprocess.STDOUT, env=env,
    )
    return AgentProcess(state_dir, log_path, process)


@dataclass
class EnrolledAgent:
    host_id: str
    state_dir: pathlib.Path


def enroll_agent(admin: Client, tmp_path: pathlib.Path, name: str | None = None) -> EnrolledAgent:
    """Creates an enrollment token and runs `restic-manager-agent enroll` with it."""
    server = admin.server
    created = admin.post("/api/v1/enrollment-tokens", json={"note": "e2e agent"})
    assert created.status_code == 201, created.text
    token = server.remember_secret(created.json()["token"])
    state_dir = tmp_path / f"agent-state-{uuid.uuid4().hex[:6]}"
    args = ["enroll", "--server", server.base_url, "--token", token, "--state-dir", str(state_dir)]
    if name:
        args += ["--name", name]
    result = run_agent_command(*args)
    assert result.returncode == 0, result.stderr
    host_id = result.stdout.split("enrolled as host ", 1)[1].split(";", 1)[0].strip()
    return EnrolledAgent(host_id, state_dir)


def configure_repository(admin: Client, host_id: str, repo_url: str, password: str, **extra) -> None:
    admin.server.remember_secret(password)
    body = {"repo_url": repo_url, "repo_password": password, **extra}
    for key in ("repo_credential",):
        if key in extra:
            admin.server.remember_secret(extra[key])
    response = admin.put(f"/api/v1/hosts/{host_id}/config", json=body)
    assert response.status_code == 200, response.text


def run_job(admin: Client, host_id: str, kind: str, args=None, schedule_id=None) -> str:
    body: dict = {"kind": kind}
    if args is not None:
        body["args"] = args
    if schedule_id is not None:
        body["schedule_id"] = schedule_id
    response = admin.post(f"/api/v1/hosts/{host_id}/jobs", json=body)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def job(admin: Client, job_id: str) -> dict:
    response = admin.get(f"/api/v1/jobs/{job_id}")
    assert response.status_code == 200, response.text
    return response.json()


def wait_job_done(admin: Client, job_id: str, timeout: float = 90) -> dict:
    """Waits until the job is terminal on the server and returns it."""
    def done():
        response = admin.get(f"/api/v1/jobs/{job_id}")
        if response.status_code == 404:  # a scheduled job the server has not heard of yet
            return None
        assert response.status_code == 200, response.text
        current = response.json()
        return current if current["status"] in ("succeeded", "failed", "cancelled") else None

    return wait_for(done, timeout=timeout, interval=0.2, message=f"job {job_id} to finish")


def job_logs(admin: Client, job_id: str) -> list[dict]:
    lines: list[dict] = []
    after = 0
    while True:
        response = admin.get(f"/api/v1/jobs/{job_id}/logs", params={"after_seq": after})
        assert response.status_code == 200, response.text
        page = response.json()["lines"]
        if not page:
            return lines
        lines += page
        after = page[-1]["seq"]


def wait_online(admin: Client, host_id: str, timeout: float = 30) -> dict:
    def online():
        host = admin.get(f"/api/v1/hosts/{host_id}").json()
        return host if host.get("status") == "online" else None

    return wait_for(online, timeout=timeout, interval=0.1, message=f"host {host_id} online")


def wait_schedule_acked(admin: Client, host_id: str, timeout: float = 30) -> dict:
    def synced():
        host = admin.get(f"/api/v1/hosts/{host_id}").json()
        return host if host.get("schedule_sync") == "in_sync" else None

    return wait_for(synced, timeout=timeout, interval=0.1, message=f"host {host_id} schedules in sync")


def create_schedule(admin: Client, host_id: str, **fields) -> dict:
    body = {"kind": "backup", "cron_expr": "0 3 * * *", "enabled": True, **fields}
    response = admin.post(f"/api/v1/hosts/{host_id}/schedules", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def snapshots(admin: Client, host_id: str) -> list[dict]:
    response = admin.get(f"/api/v1/hosts/{host_id}/snapshots")
    assert response.status_code == 200, response.text
    body = response.json()
    return body["items"] if isinstance(body, dict) and "items" in body else body


def restic_env(repo: str, password: str, **extra) -> dict:
    env = dict(os.environ)
    env.update({"RESTIC_REPOSITORY": repo, "RESTIC_PASSWORD": password, **extra})
    return env


def restic(repo: str, password: str, *args: str, **extra) -> subprocess.CompletedProcess:
    return subprocess.run(["restic", *args], env=restic_env(repo, password, **extra), capture_output=True, text=True,
                          timeout=120)


def restic_snapshot_ids(repo: str, password: str, **extra) -> list[str]:
    result = restic(repo, password, "snapshots", "--json", **extra)
    assert result.returncode == 0, result.stderr
    return [snap["short_id"] for snap in json.loads(result.stdout or "[]")]


def make_sample(path: pathlib.Path, files: int = 5, size: int = 1024) -> pathlib.Path:
    path.mkdir(parents=True, exist_ok=True)
    for index in range(files):
        (path / f"file-{index}.txt").write_bytes(os.urandom(size))
    return path


def wait_process_gone(pid: int, timeout: float = 10) -> None:
    def gone():
        try:
            os.kill(pid, 0)
            return False
        except ProcessLookupError:
            return True
    wait_for(gone, timeout=timeout, message=f"process {pid} to exit")


def restic_pids() -> list[int]:
    """PIDs of running restic processes (any user)."""
    pids = []
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if cmdline and cmdline[0] and os.path.basename(cmdline[0]) == b"restic":
            pids.append(int(entry.name))
    return pids


def children_restic(agent: AgentProcess) -> list[int]:
    """restic processes started by this agent (children of its PID)."""
    result = []
    for pid in restic_pids():
        try:
            stat = pathlib.Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == agent.process.pid:
            result.append(pid)
    return result


def slow_sample(path: pathlib.Path, megabytes: int = 300) -> pathlib.Path:
    """A folder that takes restic a while to back up (random, incompressible)."""
    path.mkdir(parents=True, exist_ok=True)
    chunk = os.urandom(1 << 20)
    for index in range(megabytes // 20):
        with open(path / f"big-{index}.bin", "wb") as handle:
            for _ in range(20):
                handle.write(os.urandom(64) + chunk[64:])
    return path


def now() -> float:
    return time.monotonic()
