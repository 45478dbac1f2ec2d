"""The life of one agent connection: hello, heartbeat, offline, replacement, deletion (SPEC §4, §6)."""
from conftest import (Agent, enroll_host, get_host, get_job, handshake_status, hello_payload, now_rfc3339,
                      parse_time, run_job, wait_for)


def test_hello_is_answered_with_config_then_schedules_before_a_queued_command(server, admin):
    host = enroll_host(admin)
    job = run_job(admin, host.host_id)  # queued while the host is offline
    assert job["status"] == "queued"

    agent = Agent(server, host.agent_token, hello=False)
    agent.send("hello", hello_payload(agent_version="1.2.3", restic_version="0.17.1", hostname="db-7",
                                      timezone="Europe/Berlin"))
    first, second, third = agent.recv(), agent.recv(), agent.recv()
    assert [first["type"], second["type"], third["type"]] == ["config.update", "schedule.set", "command.run"]
    assert first["payload"]["repo_url"] == "/srv/repo"
    assert second["payload"]["schedules"] == [] and second["payload"]["version"] >= 1
    assert third["payload"]["job_id"] == job["id"]
    for message in (first, second, third):
        assert set(message) >= {"type", "id", "ts", "payload"} and message["id"]

    seen = get_host(admin, host.host_id)
    assert seen["status"] == "online"
    assert (seen["agent_version"], seen["restic_version"], seen["hostname"]) == ("1.2.3", "0.17.1", "db-7")
    assert seen["timezone"] == "Europe/Berlin"


def test_unsupported_protocol_version_gets_error_and_close_4002(server, admin):
    host = enroll_host(admin)
    agent = Agent(server, host.agent_token, hello=False)
    agent.send("hello", hello_payload(protocol_version=2))
    error = agent.expect("error")
    assert error["payload"]["code"] == "protocol_version_unsupported"
    assert agent.wait_closed() == 4002
    assert not [m for m in agent.inbox if m["type"] in ("config.update", "schedule.set")]
    assert get_host(admin, host.host_id)["status"] == "offline"


def test_first_message_other_than_hello_gets_error_and_close(server, admin):
    host = enroll_host(admin)
    run_job(admin, host.host_id)
    agent = Agent(server, host.agent_token, hello=False)
    msg_id = agent.send("heartbeat", {"sent_at": "2026-11-29T03:00:00Z"})
    error = agent.expect("error")
    assert error["payload"]["code"] == "bad_message"
    assert error["payload"]["ref_id"] == msg_id
    code = agent.wait_closed()
    assert code is not None and code != 1000
    # Nothing was sent to an agent that never said hello: no config (secrets), no commands.
    assert {m["type"] for m in agent.inbox} <= {"error"}
    assert get_host(admin, host.host_id)["status"] == "offline"


def test_heartbeats_keep_the_host_online_past_the_offline_threshold(server, admin):
    host = enroll_host(admin)
    agent = Agent(server, host.agent_token)
    first_seen = parse_time(get_host(admin, host.host_id)["last_seen_at"])
    # 5 s of heartbeats, one a second, against a 3 s threshold.
    for _ in range(5):
        agent.send("heartbeat", {"sent_at": now_rfc3339()})
        assert not [m for m in agent.idle(1.0) if m["type"] == "error"]
        assert get_host(admin, host.host_id)["status"] == "online"
    assert parse_time(get_host(admin, host.host_id)["last_seen_at"]) > first_seen
    # Still a working connection.
    agent.send_acked("schedule.ack", {"version": 1, "applied_at": "2026-11-29T03:00:00Z"})


def test_silent_agent_goes_offline_after_the_threshold_and_is_disconnected(server, admin):
    host = enroll_host(admin)
    agent = Agent(server, host.agent_token)
    assert get_host(admin, host.host_id)["status"] == "online"
    # Offline-after is 3 s in the fixture: half of that in silence changes nothing.
    assert agent.idle(1.5) == []
    assert get_host(admin, host.host_id)["status"] == "online"
    code = agent.wait_closed(timeout=10)
    assert code is not None
    assert get_host(admin, host.host_id)["status"] == "offline"


def test_host_goes_offline_at_once_when_the_socket_closes(server, admin):
    host = enroll_host(admin)
    agent = Agent(server, host.agent_token)
    assert get_host(admin, host.host_id)["status"] == "online"
    agent.close()
    # Well under the 3 s silence threshold.
    wait_for(lambda: get_host(admin, host.host_id)["status"] == "offline", timeout=1.5, message="offline on close")


def test_second_connection_of_a_host_replaces_the_first(server, admin):
    host = enroll_host(admin)
    old = Agent(server, host.agent_token)
    new = Agent(server, host.agent_token)
    assert old.wait_closed() is not None
    # The old socket's end does not take the host offline: the new one is live.
    assert get_host(admin, host.host_id)["status"] == "online"
    job = run_job(admin, host.host_id)
    assert new.expect("command.run")["payload"]["job_id"] == job["id"]
    new.send_acked("command.result", {"job_id": job["id"], "accepted": True})
    new.close()
    wait_for(lambda: get_host(admin, host.host_id)["status"] == "offline", timeout=5, message="offline")


def test_deleting_the_host_closes_its_socket_and_revokes_the_token(server, admin):
    host = enroll_host(admin)
    agent = Agent(server, host.agent_token)
    assert admin.delete(f"/api/v1/hosts/{host.host_id}").status_code == 204
    assert agent.wait_closed() is not None
    assert handshake_status(server, {"Authorization": f"Bearer {host.agent_token}"}) == 401
    assert admin.get(f"/api/v1/hosts/{host.host_id}").status_code == 404


def test_hello_twice_on_one_connection_is_a_bad_message_not_a_reset(server, admin):
    host = enroll_host(admin)
    agent = Agent(server, host.agent_token)
    again = agent.send("hello", hello_payload())
    error = agent.expect("error")
    assert (error["payload"]["code"], error["payload"]["ref_id"]) == ("bad_message", again)
    # No second config/schedule burst: the first hello stands.
    assert not [m for m in agent.idle(0.3) if m["type"] in ("config.update", "schedule.set")]
    agent.send_acked("schedule.ack", {"version": 1, "applied_at": "2026-11-29T03:00:00Z"})


def test_jobs_run_now_reach_a_connected_agent_at_once_and_only_once(server, admin):
    host = enroll_host(admin)
    agent = Agent(server, host.agent_token)
    job = run_job(admin, host.host_id, args=["/etc", "/home"])
    run = agent.expect("command.run")
    assert run["payload"] == {"job_id": job["id"], "kind": "backup", "args": ["/etc", "/home"]}
    check = run_job(admin, host.host_id, kind="check")
    run = agent.expect("command.run")
    assert run["payload"]["job_id"] == check["id"] and run["payload"]["kind"] == "check"
    assert run["payload"].get("args", []) == []
    # Each later run-now triggers a dispatch pass; earlier jobs are not sent again.
    unlock = run_job(admin, host.host_id, kind="unlock")
    runs = [agent.expect("command.run")] + [m for m in agent.idle(0.5) if m["type"] == "command.run"]
    assert [m["payload"]["job_id"] for m in runs] == [unlock["id"]]
    assert get_job(admin, job["id"])["status"] == "queued"  # until the agent says job.started
