"""The real agent under failure: server down while a schedule fires, agent
and restic SIGKILLed mid-backup, cancel, failing hooks, missing restic,
wrong password, and secrets that must never leak."""
import os
import re
import sqlite3
import uuid

import pytest

from agent_harness import (
    children_restic, configure_repository, create_schedule, enroll_agent, job, job_logs, make_sample,
    restic_snapshot_ids, run_agent_command, run_job, slow_sample, start_agent, wait_job_done, wait_online,
    wait_process_gone, wait_schedule_acked,
)
from conftest import start_server, wait_for

SLOW_OPTIONS = {"limit_upload_kib": 1024}


@pytest.fixture
def repo(tmp_path):
    return str(tmp_path / "repo"), f"repo-pw-{uuid.uuid4().hex}"


@pytest.fixture
def setup(server, admin, tmp_path, repo):
    enrolled = enroll_agent(admin, tmp_path)
    repo_path, password = repo
    configure_repository(admin, enrolled.host_id, repo_path, password)
    agents = [start_agent(enrolled.state_dir)]
    wait_online(admin, enrolled.host_id)
    assert wait_job_done(admin, run_job(admin, enrolled.host_id, "init"))["status"] == "succeeded"
    yield enrolled, agents
    for agent in agents:
        agent.stop()


def wait_running_with_restic(admin, agent, job_id, timeout=30):
    """Waits until the job is running on the server and restic runs under the agent."""
    wait_for(lambda: job(admin, job_id)["status"] == "running", timeout=timeout, message="job running")
    return wait_for(lambda: children_restic(agent), timeout=timeout, message="restic child process")


def assert_logs_exactly_once(admin, job_id):
    logs = job_logs(admin, job_id)
    assert logs, "no log lines"
    assert [line["seq"] for line in logs] == list(range(1, len(logs) + 1))
    return logs


def test_schedule_fires_while_server_is_down_and_arrives_exactly_once(admin, tmp_path, setup):
    enrolled, agents = setup
    server = admin.server
    sample = make_sample(tmp_path / "cron-sample")
    schedule = create_schedule(admin, enrolled.host_id, cron_expr="* * * * *", paths=[str(sample)])
    wait_schedule_acked(admin, enrolled.host_id)
    port = server.base_url.rsplit(":", 1)[1]
    server.stop()

    def finished_locally():
        out = run_agent_command("status", "--state-dir", str(enrolled.state_dir)).stdout
        match = re.search(r"^\s+(\S+)\s+backup\s+succeeded\s+schedule", out, re.M)
        return match.group(1) if match else None

    job_id = wait_for(finished_locally, timeout=75, interval=0.5, message="scheduled backup to run offline")
    # Stop the schedule from firing again after the restart (the agent keeps the old set until reconnected).
    restarted = start_server(tmp_path, "--listen", f"127.0.0.1:{port}", "--agent-offline-after", "3",
                             data_dir=server.data_dir)
    try:
        admin.server = restarted
        assert restarted.base_url == server.base_url
        # The agent's back-off after ~1 min of failures may wait up to 64 s (full jitter).
        done = wait_job_done(admin, job_id, timeout=180)
        assert done["status"] == "succeeded", done
        assert done["schedule_id"] == schedule["id"] and done["trigger"] == "schedule"
        assert_logs_exactly_once(admin, job_id)
        listed = admin.get("/api/v1/jobs", params={"host_id": enrolled.host_id, "kind": "backup"}).json()["items"]
        assert [j["id"] for j in listed].count(job_id) == 1
        # The outbox drains completely: everything was acked.
        def drained():
            out = run_agent_command("status", "--state-dir", str(enrolled.state_dir)).stdout
            return "Outbox:          0 message" in out
        wait_for(drained, timeout=30, interval=0.3, message="outbox drained")
        response = admin.put(f"/api/v1/schedules/{schedule['id']}",
                             json={**{k: schedule[k] for k in ("kind", "cron_expr", "paths")}, "enabled": False})
        assert response.status_code == 200, response.text
    finally:
        restarted.stop()


def test_agent_and_restic_killed_mid_backup(admin, tmp_path, setup, repo):
    enrolled, agents = setup
    sample = slow_sample(tmp_path / "big", megabytes=40)
    schedule = create_schedule(admin, enrolled.host_id, paths=[str(sample)], options=SLOW_OPTIONS)
    wait_schedule_acked(admin, enrolled.host_id)
    job_id = run_job(admin, enrolled.host_id, "backup", schedule_id=schedule["id"])
    pids = wait_running_with_restic(admin, agents[0], job_id)
    agents[0].kill()
    for pid in pids:
        os.kill(pid, 9)
        wait_process_gone(pid)
    agents.append(start_agent(enrolled.state_dir))
    done = wait_job_done(admin, job_id, timeout=60)
    assert done["status"] == "failed" and done["error"] == "agent restarted during job", done
    small = make_sample(tmp_path / "small")
    next_job = wait_job_done(admin, run_job(admin, enrolled.host_id, "backup", args=[str(small)]))
    assert next_job["status"] == "succeeded", next_job


def test_cancel_mid_backup_and_secrets_stay_out_of_cmdline_and_logs(admin, tmp_path, setup, repo):
    enrolled, agents = setup
    repo_path, password = repo
    sample = slow_sample(tmp_path / "big", megabytes=40)
    schedule = create_schedule(admin, enrolled.host_id, paths=[str(sample)], options=SLOW_OPTIONS)
    wait_schedule_acked(admin, enrolled.host_id)
    job_id = run_job(admin, enrolled.host_id, "backup", schedule_id=schedule["id"])
    pids = wait_running_with_restic(admin, agents[0], job_id)
    for pid in pids:
        cmdline = open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace")
        assert password not in cmdline
        assert "backup" in cmdline
    response = admin.post(f"/api/v1/jobs/{job_id}/cancel")
    assert response.status_code == 200, response.text
    done = wait_job_done(admin, job_id, timeout=60)
    assert done["status"] == "cancelled", done
    for pid in pids:
        wait_process_gone(pid, timeout=40)
    logs = assert_logs_exactly_once(admin, job_id)
    secrets = [password] + admin.server.secrets
    for line in logs:
        for secret in secrets:
            assert secret not in line["payload"]
    with sqlite3.connect(enrolled.state_dir / "agent.sqlite") as conn:
        secrets.append(conn.execute("SELECT agent_token FROM credential").fetchone()[0])
    agent_log = agents[0].log_text()
    for secret in secrets:
        assert secret not in agent_log


def test_failing_pre_hook_fails_job_without_running_restic(admin, tmp_path, setup, repo):
    enrolled, agents = setup
    sample = make_sample(tmp_path / "sample")
    schedule = create_schedule(admin, enrolled.host_id, paths=[str(sample)],
                               pre_hook="echo preparing; exit 3", post_hook="echo post $RM_JOB_STATUS")
    wait_schedule_acked(admin, enrolled.host_id)
    done = wait_job_done(admin, run_job(admin, enrolled.host_id, "backup", schedule_id=schedule["id"]))
    assert done["status"] == "failed", done
    assert "pre-hook" in done["error"] or "pre_hook" in done["error"], done
    payloads = [line["payload"] for line in job_logs(admin, done["id"])]
    assert any("preparing" in p for p in payloads)
    repo_path, password = repo
    assert restic_snapshot_ids(repo_path, password) == []


def test_wrong_repository_password_fails_clearly(admin, tmp_path, setup):
    enrolled, agents = setup
    configure_repository(admin, enrolled.host_id, str(tmp_path / "repo"), f"wrong-{uuid.uuid4().hex}")
    sample = make_sample(tmp_path / "sample")
    done = wait_job_done(admin, run_job(admin, enrolled.host_id, "backup", args=[str(sample)]))
    assert done["status"] == "failed", done
    assert "password" in done["error"].lower(), done
    for secret in admin.server.secrets:
        assert secret not in done["error"]


def test_missing_restic_fails_jobs_with_clear_error(server, admin, tmp_path):
    enrolled = enroll_agent(admin, tmp_path)
    configure_repository(admin, enrolled.host_id, str(tmp_path / "repo"), f"pw-{uuid.uuid4().hex}")
    agent = start_agent(enrolled.state_dir, "--restic", "/nonexistent/restic")
    try:
        wait_online(admin, enrolled.host_id)
        done = wait_job_done(admin, run_job(admin, enrolled.host_id, "backup", args=[str(tmp_path)]))
        assert done["status"] == "failed", done
        assert "restic not found" in done["error"] and "/nonexistent/restic" in done["error"], done
    finally:
        agent.stop()


def test_revoked_token_is_logged_clearly(server, admin, tmp_path):
    enrolled = enroll_agent(admin, tmp_path)
    response = admin.delete(f"/api/v1/hosts/{enrolled.host_id}")
    assert response.status_code in (200, 204), response.text
    agent = start_agent(enrolled.state_dir)
    try:
        wait_for(lambda: "agent token rejected; re-enroll" in agent.log_text(), timeout=20,
                 message="401 logged")
        assert agent.alive()
    finally:
        agent.stop()
