"""Jobs over the socket: dispatch, results, lifecycle events, scheduled runs, lost jobs (SPEC §5, §6)."""
import datetime
import uuid

from conftest import (Agent, Client, create_schedule, enroll_host, get_host, get_job, parse_time, run_job, start_server,
                      wait_for)


def accept_and_start(agent, job_id, kind="backup", started_at="2026-11-29T03:00:00Z"):
    agent.send_acked("command.result", {"job_id": job_id, "accepted": True})
    agent.send_acked("job.started", {"job_id": job_id, "kind": kind, "started_at": started_at})


def test_job_started_progress_finished_update_the_job(server, admin):
    host = enroll_host(admin)
    agent = Agent(server, host.agent_token)
    job_id = run_job(admin, host.host_id)["id"]
    assert agent.expect("command.run")["payload"]["job_id"] == job_id

    agent.send_acked("command.result", {"job_id": job_id, "accepted": True})
    assert get_job(admin, job_id)["status"] == "queued"  # accepted is not started

    started_at = "2026-11-29T04:00:00.123456789+01:00"
    agent.send_acked("job.started", {"job_id": job_id, "kind": "backup", "started_at": started_at})
    job = get_job(admin, job_id)
    assert job["status"] == "running"
    # Nanoseconds and a +01:00 offset parse to the same instant (the API keeps milliseconds).
    delta = parse_time(job["started_at"]) - parse_time("2026-11-29T03:00:00.123456Z")
    assert abs(delta.total_seconds()) < 0.001
    assert job["finished_at"] is None and job["exit_code"] is None

    progress = {"job_id": job_id, "percent_done": 0.25, "files_done": 10, "total_files": 40, "bytes_done": 1024,
                "total_bytes": 4096, "eta_seconds": 30, "throughput_bps": 2048}
    agent.send_acked("job.progress", progress)
    assert get_job(admin, job_id)["progress"] == progress
    newer = dict(progress, percent_done=0.75, files_done=30)
    agent.send_acked("job.progress", newer)
    assert get_job(admin, job_id)["progress"] == newer

    stats = {"message_type": "summary", "files_new": 3, "files_changed": 0, "data_added": 123456789012,
             "total_duration": 1.5, "snapshot_id": "6f1c0a2e", "nested": {"list": [1, 2.5, None, True, "x"]},
             "unicode": "Grüße ✓"}
    agent.send_acked("job.finished", {"job_id": job_id, "status": "succeeded", "exit_code": 0,
                                      "finished_at": "2026-11-29T03:05:00Z", "stats": stats})
    job = get_job(admin, job_id)
    assert job["status"] == "succeeded"
    assert job["exit_code"] == 0
    assert parse_time(job["finished_at"]) == parse_time("2026-11-29T03:05:00Z")
    assert job["stats"] == stats
    assert job["error"] is None
    assert get_host(admin, host.host_id)["last_backup"]["job_id"] == job_id

    # Progress for a finished job changes nothing.
    agent.send_acked("job.progress", dict(progress, percent_done=0.1))
    assert get_job(admin, job_id)["progress"] == newer


def test_failed_job_keeps_exit_code_and_agent_error(server, admin):
    host = enroll_host(admin)
    agent = Agent(server, host.agent_token)
    job_id = run_job(admin, host.host_id, kind="check")["id"]
    agent.expect("command.run")
    accept_and_start(agent, job_id, kind="check")
    agent.send_acked("job.finished", {"job_id": job_id, "status": "failed", "exit_code": 3,
                                      "finished_at": "2026-11-29T03:01:00Z", "error": "repository is locked"})
    job = get_job(admin, job_id)
    assert (job["status"], job["exit_code"], job["error"]) == ("failed", 3, "repository is locked")
    assert job["stats"] is None


def test_refused_command_fails_the_job_with_the_agents_reason(server, admin):
    host = enroll_host(admin)
    agent = Agent(server, host.agent_token)
    job_id = run_job(admin, host.host_id, kind="prune")["id"]
    agent.expect("command.run")
    agent.send_acked("command.result", {"job_id": job_id, "accepted": False,
                                        "error": "no repository configured on this host"})
    job = get_job(admin, job_id)
    assert job["status"] == "failed"
    assert "no repository configured on this host" in job["error"]
    assert job["finished_at"] is not None
    # A refused job is not dispatched again on the next connection.
    agent.close()
    again = Agent(server, host.agent_token)
    assert not [m for m in again.idle(0.5) if m["type"] == "command.run"]


def test_jobs_queued_while_offline_are_dispatched_on_reconnect_oldest_first(server, admin):
    host = enroll_host(admin)
    first = run_job(admin, host.host_id)["id"]
    second = run_job(admin, host.host_id, kind="check")["id"]
    agent = Agent(server, host.agent_token)
    runs = [agent.expect("command.run")["payload"]["job_id"] for _ in range(2)]
    assert runs == [first, second]
    # Dispatched but not accepted (the agent lost it): sent again on the next connection.
    agent.send_acked("command.result", {"job_id": first, "accepted": True})
    agent.close()
    again = Agent(server, host.agent_token)
    assert again.expect("command.run")["payload"]["job_id"] == second
    assert not [m for m in again.idle(0.5) if m["type"] == "command.run"]


def test_expired_queued_job_is_failed_not_dispatched(tmp_path):
    srv = start_server(tmp_path, "--agent-offline-after", "3", "--job-expiry-seconds", "1")
    try:
        admin = Client(srv, "admin", srv.admin_password)
        host = enroll_host(admin)
        stale = run_job(admin, host.host_id)
        expires = parse_time(stale["queued_at"]) + datetime.timedelta(seconds=1.2)
        wait_for(lambda: datetime.datetime.now(datetime.timezone.utc) > expires, timeout=5, message="expiry")

        agent = Agent(srv, host.agent_token)
        assert not [m for m in agent.idle(0.5) if m["type"] == "command.run"]
        job = get_job(admin, stale["id"])
        assert job["status"] == "failed"
        assert "expired" in job["error"] and "offline" in job["error"]
        assert job["finished_at"] is not None

        fresh = run_job(admin, host.host_id)  # a connected host still gets new jobs
        assert agent.expect("command.run")["payload"]["job_id"] == fresh["id"]
    finally:
        srv.stop()


def test_scheduled_run_minted_by_the_agent_appears_as_a_job(server, admin):
    host = enroll_host(admin)
    schedule = create_schedule(admin, host.host_id, cron_expr="@hourly")
    agent = Agent(server, host.agent_token)
    job_id = str(uuid.uuid4())
    agent.send_acked("job.started", {"job_id": job_id, "kind": "backup", "started_at": "2026-11-29T03:00:00Z",
                                     "schedule_id": schedule["id"], "trigger": "schedule"})
    job = get_job(admin, job_id)
    assert (job["status"], job["trigger"], job["schedule_id"], job["kind"], job["host_id"]) == (
        "running", "schedule", schedule["id"], "backup", host.host_id)
    listed = admin.get("/api/v1/jobs", params={"host_id": host.host_id}).json()["items"]
    assert [j["id"] for j in listed] == [job_id]

    agent.send_acked("log.stream", {"job_id": job_id, "seq": 1, "ts": "2026-11-29T03:00:01Z", "stream": "event",
                                    "payload": '{"message_type":"status"}'})
    agent.send_acked("job.finished", {"job_id": job_id, "status": "succeeded", "exit_code": 0,
                                      "finished_at": "2026-11-29T03:02:00Z", "stats": {"files_new": 1}})
    assert get_job(admin, job_id)["status"] == "succeeded"
    assert get_host(admin, host.host_id)["last_backup"] == {"job_id": job_id, "status": "succeeded",
                                                           "finished_at": get_job(admin, job_id)["finished_at"]}


def test_agent_restart_without_the_job_fails_it_and_a_late_result_overrides(server, admin):
    host = enroll_host(admin)
    agent = Agent(server, host.agent_token)
    running = run_job(admin, host.host_id)["id"]
    accepted = run_job(admin, host.host_id, kind="check")["id"]
    kept = run_job(admin, host.host_id, kind="prune")["id"]
    for _ in range(3):
        agent.expect("command.run")
    accept_and_start(agent, running)
    agent.send_acked("command.result", {"job_id": accepted, "accepted": True})
    accept_and_start(agent, kept, kind="prune")
    agent.close()

    # The agent comes back holding only `kept`.
    back = Agent(server, host.agent_token, active_jobs=[kept])
    for job_id in (running, accepted):
        job = get_job(admin, job_id)
        assert (job["status"], job["error"]) == ("failed", "agent restarted during job"), job_id
        assert job["finished_at"] is not None
    assert get_job(admin, kept)["status"] == "running"
    assert not [m for m in back.idle(0.3) if m["type"] == "command.run"]  # failed jobs are not re-dispatched

    # The agent's own result, replayed late from its outbox, wins.
    back.send_acked("job.finished", {"job_id": running, "status": "succeeded", "exit_code": 0,
                                     "finished_at": "2026-11-29T03:09:00Z", "stats": {"files_new": 7}})
    job = get_job(admin, running)
    assert (job["status"], job["exit_code"], job["error"], job["stats"]) == ("succeeded", 0, None, {"files_new": 7})


def test_hello_without_active_jobs_leaves_running_jobs_alone(server, admin):
    host = enroll_host(admin)
    agent = Agent(server, host.agent_token)
    job_id = run_job(admin, host.host_id)["id"]
    agent.expect("command.run")
    accept_and_start(agent, job_id)
    agent.close()
    again = Agent(server, host.agent_token)  # an older agent: no active_jobs field
    again.send_acked("job.progress", {"job_id": job_id, "percent_done": 0.5, "files_done": 1, "total_files": 2,
                                      "bytes_done": 1, "total_bytes": 2, "eta_seconds": 1, "throughput_bps": 1})
    assert get_job(admin, job_id)["status"] == "running"

    # With an empty list it is failed, and a terminal job is never touched.
    finished = run_job(admin, host.host_id, kind="unlock")["id"]
    again.expect("command.run")
    accept_and_start(again, finished, kind="unlock")
    again.send_acked("job.finished", {"job_id": finished, "status": "succeeded", "exit_code": 0,
                                      "finished_at": "2026-11-29T03:09:00Z"})
    again.close()
    Agent(server, host.agent_token, active_jobs=[])
    assert get_job(admin, job_id)["error"] == "agent restarted during job"
    assert (get_job(admin, finished)["status"], get_job(admin, finished)["error"]) == ("succeeded", None)


def test_cancel_of_an_accepted_queued_job_is_left_to_the_agent(server, admin):
    host = enroll_host(admin)
    agent = Agent(server, host.agent_token)
    job_id = run_job(admin, host.host_id)["id"]
    agent.expect("command.run")
    agent.send_acked("command.result", {"job_id": job_id, "accepted": True})
    response = admin.post(f"/api/v1/jobs/{job_id}/cancel")
    assert response.status_code == 200, response.text
    # The agent holds it: the server asks, and the agent's report ends it.
    assert response.json()["status"] == "queued"
    assert agent.expect("command.cancel")["payload"] == {"job_id": job_id}
    agent.send_acked("job.finished", {"job_id": job_id, "status": "cancelled", "exit_code": -1,
                                      "finished_at": "2026-11-29T03:09:00Z", "error": "cancelled before it started"})
    assert get_job(admin, job_id)["status"] == "cancelled"


def test_cancel_of_a_running_job_is_sent_to_the_agent(server, admin):
    host = enroll_host(admin)
    agent = Agent(server, host.agent_token)
    job_id = run_job(admin, host.host_id)["id"]
    agent.expect("command.run")
    accept_and_start(agent, job_id)
    response = admin.post(f"/api/v1/jobs/{job_id}/cancel")
    assert response.status_code == 200, response.text
    assert agent.expect("command.cancel")["payload"] == {"job_id": job_id}
    agent.send_acked("job.finished", {"job_id": job_id, "status": "cancelled", "exit_code": 130,
                                      "finished_at": "2026-11-29T03:09:00Z"})
    assert get_job(admin, job_id)["status"] == "cancelled"
