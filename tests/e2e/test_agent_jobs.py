"""The real agent binary against the real server with real restic: enroll,
run-now, ad-hoc backups, forget, check, unlock, init, status."""
import json
import os
import pathlib
import stat
import subprocess
import uuid

import pytest

from agent_harness import (
    AGENT_BINARY, configure_repository, create_schedule, enroll_agent, make_sample, restic, restic_env,
    restic_snapshot_ids, run_agent_command, run_job, slow_sample, snapshots, start_agent, wait_job_done,
    wait_online, wait_schedule_acked, job_logs,
)
from conftest import wait_for


@pytest.fixture
def repo(tmp_path):
    """A local restic repository path (not yet initialised) and its password."""
    return str(tmp_path / "repo"), f"repo-pw-{uuid.uuid4().hex}"


@pytest.fixture
def agent_setup(server, admin, tmp_path, repo):
    """An enrolled, configured and running agent with an initialised repository."""
    enrolled = enroll_agent(admin, tmp_path)
    repo_path, password = repo
    configure_repository(admin, enrolled.host_id, repo_path, password)
    agent = start_agent(enrolled.state_dir)
    wait_online(admin, enrolled.host_id)
    init = wait_job_done(admin, run_job(admin, enrolled.host_id, "init"))
    assert init["status"] == "succeeded", init
    yield enrolled, agent
    agent.stop()
    assert password not in agent.log_text()


def test_enroll_writes_private_credential_and_status_works_offline(server, admin, tmp_path):
    enrolled = enroll_agent(admin, tmp_path, name="e2e-host")
    state_db = enrolled.state_dir / "agent.sqlite"
    assert stat.S_IMODE(os.stat(state_db).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(enrolled.state_dir).st_mode) == 0o700
    host = admin.get(f"/api/v1/hosts/{enrolled.host_id}").json()
    assert host["name"] == "e2e-host"
    server.stop()
    status = run_agent_command("status", "--state-dir", str(enrolled.state_dir))
    assert status.returncode == 0, status.stderr
    assert enrolled.host_id in status.stdout
    assert "never connected" in status.stdout


def test_enroll_bad_input_is_one_line_error(server, tmp_path):
    result = run_agent_command("enroll", "--server", "ftp://x", "--token", "t", "--state-dir", str(tmp_path / "s"))
    assert result.returncode != 0
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    result = run_agent_command("enroll", "--server", server.base_url, "--token", "rme_wrong",
                               "--state-dir", str(tmp_path / "s"))
    assert result.returncode != 0
    assert len(result.stderr.strip().splitlines()) == 1 and "rejected" in result.stderr, result.stderr
    result = run_agent_command("enroll", "--server", "http://10.1.2.3:8080", "--token", "x",
                               "--state-dir", str(tmp_path / "s"))
    assert result.returncode != 0 and "--insecure" in result.stderr
    result = run_agent_command("run", "--state-dir", str(tmp_path / "never-enrolled"))
    assert result.returncode != 0 and "not enrolled" in result.stderr
    root_help = run_agent_command("--help")
    assert root_help.returncode == 0
    assert all(name in root_help.stdout for name in ("enroll", "run", "status"))
    for command in ("enroll", "run", "status"):
        help_result = run_agent_command(command, "--help")
        assert help_result.returncode == 0 and "--log-format" in help_result.stdout and "--state-dir" in help_result.stdout
    bad_format = run_agent_command("status", "--log-format", "xml", "--state-dir", str(tmp_path))
    assert bad_format.returncode != 0 and bad_format.stderr.strip().splitlines() == [
        "error: --log-format must be text or json"], bad_format.stderr
    bad_level = run_agent_command("run", "--log-level", "loud", "--state-dir", str(tmp_path))
    assert bad_level.returncode != 0 and len(bad_level.stderr.strip().splitlines()) == 1


def test_adhoc_backup_snapshot_and_stats_reach_server(server, admin, tmp_path, agent_setup, repo):
    enrolled, agent = agent_setup
    sample = make_sample(tmp_path / "sample")
    job_id = run_job(admin, enrolled.host_id, "backup", args=[str(sample)])
    done = wait_job_done(admin, job_id)
    assert done["status"] == "succeeded", done
    assert done["exit_code"] == 0
    assert done["stats"] and json.loads(done["stats"]) if isinstance(done["stats"], str) else done["stats"]
    logs = job_logs(admin, job_id)
    assert [line["seq"] for line in logs] == list(range(1, len(logs) + 1))
    assert any(line["stream"] == "event" and "summary" in line["payload"] for line in logs)
    snaps = wait_for(lambda: snapshots(admin, enrolled.host_id), timeout=30, message="snapshots on server")
    assert len(snaps) == 1 and str(sample) in snaps[0]["paths"]
    repo_path, password = repo
    assert [s["id"][:8] for s in snaps] == [i[:8] for i in restic_snapshot_ids(repo_path, password)]
    stats = wait_for(lambda: admin.get(f"/api/v1/hosts/{enrolled.host_id}/stats").json()["items"], timeout=30,
                     message="repo stats")
    assert stats[0]["snapshot_count"] == 1 and stats[0]["size_bytes"] > 0


def test_run_now_of_schedule_uses_its_definition(server, admin, tmp_path, agent_setup, repo):
    enrolled, agent = agent_setup
    sample = make_sample(tmp_path / "scheduled")
    schedule = create_schedule(admin, enrolled.host_id, paths=[str(sample)], tags=["nightly"], cron_expr="0 3 * * *")
    wait_schedule_acked(admin, enrolled.host_id)
    job_id = run_job(admin, enrolled.host_id, "backup", schedule_id=schedule["id"])
    done = wait_job_done(admin, job_id)
    assert done["status"] == "succeeded", done
    assert done["schedule_id"] == schedule["id"]
    repo_path, password = repo
    listed = json.loads(restic(repo_path, password, "snapshots", "--json").stdout)
    assert listed[0]["tags"] == ["nightly"] and listed[0]["paths"] == [str(sample)]


def test_forget_removes_exactly_what_the_policy_says(server, admin, tmp_path, agent_setup, repo):
    enrolled, agent = agent_setup
    sample = make_sample(tmp_path / "sample")
    for index in range(4):
        (sample / "changing.txt").write_text(f"version {index}")
        assert wait_job_done(admin, run_job(admin, enrolled.host_id, "backup", args=[str(sample)]))["status"] == "succeeded"
    repo_path, password = repo
    before = json.loads(restic(repo_path, password, "snapshots", "--json").stdout)
    assert len(before) == 4
    newest_two = sorted(before, key=lambda s: s["time"])[-2:]
    schedule = create_schedule(admin, enrolled.host_id, kind="forget", cron_expr="0 4 * * *",
                               retention_policy={"keep_last": 2})
    wait_schedule_acked(admin, enrolled.host_id)
    done = wait_job_done(admin, run_job(admin, enrolled.host_id, "forget", schedule_id=schedule["id"]))
    assert done["status"] == "succeeded", done
    after = json.loads(restic(repo_path, password, "snapshots", "--json").stdout)
    assert sorted(s["id"] for s in after) == sorted(s["id"] for s in newest_two)
    wait_for(lambda: len(snapshots(admin, enrolled.host_id)) == 2, timeout=30, message="server sees 2 snapshots")


def test_check_and_unlock(server, admin, tmp_path, agent_setup, repo):
    enrolled, agent = agent_setup
    check = wait_job_done(admin, run_job(admin, enrolled.host_id, "check"))
    assert check["status"] == "succeeded", check
    stats = wait_for(lambda: [s for s in admin.get(f"/api/v1/hosts/{enrolled.host_id}/stats").json()["items"]
                              if s.get("last_check_status")], timeout=30, message="stats with last check")
    assert stats[0]["last_check_status"] == "ok"
    # A stale lock left by a restic that was SIGKILLed: unlock removes it.
    repo_path, password = repo
    locks_dir = pathlib.Path(repo_path) / "locks"
    big = slow_sample(tmp_path / "big", megabytes=20)
    crashed = subprocess.Popen(["restic", "backup", "--limit-upload", "256", str(big)],
                               env=restic_env(repo_path, password), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    # restic writes a lock as `<id>-tmp-<n>` and renames it: only a renamed one is a lock.
    def locks():
        return [path for path in locks_dir.iterdir() if "-tmp-" not in path.name]
    wait_for(locks, timeout=30, message="restic lock file")
    crashed.kill()
    crashed.wait()
    assert locks()
    unlock = wait_job_done(admin, run_job(admin, enrolled.host_id, "unlock"))
    assert unlock["status"] == "succeeded", unlock
    assert locks() == []


def test_refusals_are_reported_to_the_server(server, admin, tmp_path, agent_setup):
    enrolled, agent = agent_setup
    response = admin.post(f"/api/v1/hosts/{enrolled.host_id}/jobs", json={"kind": "backup", "args": ["--x"]})
    if response.status_code == 400:
        return  # the server already refuses flags; the agent's own check is unit-tested
    assert response.status_code == 201, response.text
    done = wait_job_done(admin, response.json()["id"])
    assert done["status"] == "failed" and "not a path" in done["error"], done


def test_status_shows_schedules_next_runs_and_jobs(server, admin, tmp_path, agent_setup):
    enrolled, agent = agent_setup
    create_schedule(admin, enrolled.host_id, paths=[str(tmp_path)], cron_expr="0 3 * * *")
    wait_schedule_acked(admin, enrolled.host_id)
    status = run_agent_command("status", "--state-dir", str(enrolled.state_dir))
    assert status.returncode == 0, status.stderr
    assert "connected" in status.stdout
    assert '"0 3 * * *"' in status.stdout and "next " in status.stdout
    assert " init  succeeded" in status.stdout
    assert AGENT_BINARY.exists()


def test_json_log_format_is_one_object_per_line(server, admin, tmp_path):
    enrolled = enroll_agent(admin, tmp_path)
    agent = start_agent(enrolled.state_dir, "--log-format", "json")
    try:
        wait_online(admin, enrolled.host_id)
        wait_for(lambda: "connected to server" in agent.log_text(), timeout=10, message="connected logged")
    finally:
        agent.stop()
    lines = [line for line in agent.log_text().splitlines() if line.strip()]
    objects = [json.loads(line) for line in lines]
    assert all({"ts", "level", "message"} <= set(obj) for obj in objects)
    assert any(obj["message"] == "agent stopped" for obj in objects)
