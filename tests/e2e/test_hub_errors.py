"""`error` answers, the bad-message limit, the frame limit and cross-host isolation (SPEC §6, §6.4, §8)."""
import json
import os
import uuid

import pytest

from conftest import Agent, enroll_host, envelope, get_job, job_logs, now_rfc3339, run_job, wait_for


def assert_still_serving(agent):
    """The connection is kept: a valid message is still applied and acked."""
    agent.send_acked("schedule.ack", {"version": 1, "applied_at": now_rfc3339()})


def test_malformed_json_is_bad_message_and_the_connection_is_kept(server, admin):
    agent = Agent(server, enroll_host(admin).agent_token)
    agent.send_raw('{"type": "heartbeat", "id": ')
    error = agent.expect("error")["payload"]
    assert error["code"] == "bad_message"
    assert error.get("ref_id") in (None, "")
    assert error["message"]
    agent.send_raw("[1, 2, 3]")
    assert agent.expect("error")["payload"]["code"] == "bad_message"
    assert_still_serving(agent)


@pytest.mark.parametrize("msg_type,payload", [
    ("log.stream", {"job_id": "j", "seq": "one", "ts": "2026-11-29T03:00:00Z", "stream": "stdout", "payload": "x"}),
    ("job.progress", {"job_id": 42}),
    ("schedule.ack", {"version": "latest", "applied_at": "2026-11-29T03:00:00Z"}),
    ("job.started", {"job_id": "j", "kind": "backup", "started_at": "yesterday"}),
    ("command.result", []),
])
def test_wrong_payload_shape_is_bad_message_with_ref_id(server, admin, msg_type, payload):
    agent = Agent(server, enroll_host(admin).agent_token)
    msg_id = agent.send(msg_type, payload)
    error = agent.expect("error")["payload"]
    assert (error["code"], error["ref_id"]) == ("bad_message", msg_id)
    acks = [m for m in agent.idle(0.2) if m["type"] == "ack"]
    assert all(msg_id not in m["payload"]["ids"] for m in acks)
    assert_still_serving(agent)


def test_unknown_type_is_answered_unknown_type_with_ref_id(server, admin):
    agent = Agent(server, enroll_host(admin).agent_token)
    msg_id = agent.send("disk.report", {"free_bytes": 1})
    error = agent.expect("error")["payload"]
    assert (error["code"], error["ref_id"]) == ("unknown_type", msg_id)
    assert_still_serving(agent)


@pytest.mark.parametrize("msg_type,payload", [
    ("command.run", {"job_id": "j", "kind": "backup"}),
    ("config.update", {"repo_url": "/elsewhere"}),
    ("schedule.set", {"version": 99, "schedules": []}),
    ("ack", {"ids": ["x"]}),
    ("command.cancel", {"job_id": "j"}),
])
def test_server_to_agent_types_sent_by_an_agent_are_bad_messages(server, admin, msg_type, payload):
    host = enroll_host(admin)
    agent = Agent(server, host.agent_token)
    msg_id = agent.send(msg_type, payload)
    error = agent.expect("error")["payload"]
    assert (error["code"], error["ref_id"]) == ("bad_message", msg_id)
    assert admin.get(f"/api/v1/hosts/{host.host_id}/config").json()["repo_url"] == "/srv/repo"
    assert_still_serving(agent)


def test_unknown_fields_are_ignored(server, admin):
    host = enroll_host(admin)
    agent = Agent(server, host.agent_token)
    job_id = run_job(admin, host.host_id)["id"]
    agent.expect("command.run")
    agent.ws.send(json.dumps({"type": "command.result", "id": "m-1", "ts": now_rfc3339(), "future": {"x": 1},
                              "payload": {"job_id": job_id, "accepted": True, "queue_position": 3}}))
    agent.wait_acked(["m-1"])


def test_more_than_20_bad_messages_a_minute_close_with_4008(server, admin):
    agent = Agent(server, enroll_host(admin).agent_token)
    for index in range(20):
        agent.send_raw(f"not json {index}")
    assert len([agent.expect("error") for _ in range(20)]) == 20
    assert_still_serving(agent)  # 20 are tolerated
    agent.send_raw("not json, one too many")
    assert agent.wait_closed() == 4008


def test_a_frame_over_1_mib_closes_with_1009_and_one_of_1_mib_is_accepted(server, admin):
    host = enroll_host(admin)
    agent = Agent(server, host.agent_token)
    job_id = run_job(admin, host.host_id)["id"]
    agent.expect("command.run")
    agent.send_acked("job.started", {"job_id": job_id, "kind": "backup", "started_at": "2026-11-29T03:00:00Z"})

    def frame(size, seq):
        base = envelope("log.stream", {"job_id": job_id, "seq": seq, "ts": "2026-11-29T03:00:00Z",
                                       "stream": "stdout", "payload": ""}, msg_id=f"big-{seq}")
        filler = os.urandom(size).hex()[: size - len(base)]  # incompressible
        text = base.replace('"payload": ""', f'"payload": "{filler}"')
        assert len(text.encode()) == size
        return text

    agent.send_raw(frame(1 << 20, 1))
    agent.wait_acked(["big-1"])
    assert len(job_logs(admin, job_id)[0]["payload"]) > 1_000_000
    agent.send_raw(frame((1 << 20) + 1, 2))
    assert agent.wait_closed() == 1009
    assert [line["seq"] for line in job_logs(admin, job_id)] == [1]


def test_a_message_over_1_mib_in_several_frames_closes_with_1009(server, admin):
    host = enroll_host(admin)
    agent = Agent(server, host.agent_token)

    def fragmented_stats(msg_id, pad_bytes):
        text = envelope("repo.stats", dict(REPO_STATS_SHAPE, pad=os.urandom(pad_bytes // 2).hex()), msg_id=msg_id)
        return [text[i:i + 256 * 1024] for i in range(0, len(text), 256 * 1024)]

    small = fragmented_stats("frag-ok", 600_000)  # several frames, one message under 1 MiB
    assert len(small) > 1
    agent.ws.send(iter(small))
    agent.wait_acked(["frag-ok"])
    agent.ws.send(iter(fragmented_stats("frag-big", 1_200_000)))
    assert agent.wait_closed() == 1009
    stats = admin.get(f"/api/v1/hosts/{host.host_id}/stats").json()["items"]
    assert len(stats) == 1


REPO_STATS_SHAPE = {"size_bytes": 1, "snapshot_count": 1, "dedup_ratio": 1.0, "lock_state": "unlocked"}


def test_messages_about_another_hosts_jobs_are_forbidden_and_change_nothing(server, admin):
    host_a = enroll_host(admin, hostname="a")
    host_b = enroll_host(admin, hostname="b")
    job_b = run_job(admin, host_b.host_id)
    agent_a = Agent(server, host_a.agent_token)

    attempts = {
        "command.result": {"job_id": job_b["id"], "accepted": False, "error": "nope"},
        "job.started": {"job_id": job_b["id"], "kind": "backup", "started_at": "2026-11-29T03:00:00Z"},
        "job.progress": {"job_id": job_b["id"], "percent_done": 0.5, "files_done": 1, "total_files": 2,
                         "bytes_done": 1, "total_bytes": 2, "eta_seconds": 1, "throughput_bps": 1},
        "log.stream": {"job_id": job_b["id"], "seq": 1, "ts": "2026-11-29T03:00:00Z", "stream": "stdout",
                       "payload": "injected"},
        "job.finished": {"job_id": job_b["id"], "status": "failed", "exit_code": 1,
                         "finished_at": "2026-11-29T03:00:00Z", "error": "injected"},
    }
    sent = {agent_a.send(msg_type, payload): msg_type for msg_type, payload in attempts.items()}
    errors = {}
    while len(errors) < len(sent):
        error = agent_a.expect("error")["payload"]
        errors[error["ref_id"]] = error["code"]
    assert errors == {msg_id: "forbidden" for msg_id in sent}
    acked = {i for m in agent_a.messages_of("ack") for i in m["payload"]["ids"]}
    assert not acked & set(sent)

    job = get_job(admin, job_b["id"])
    assert (job["status"], job["started_at"], job["error"], job["progress"]) == ("queued", None, None, None)
    assert job_logs(admin, job_b["id"]) == []
    assert_still_serving(agent_a)

    # Host B still gets its job untouched.
    agent_b = Agent(server, host_b.agent_token)
    assert agent_b.expect("command.run")["payload"]["job_id"] == job_b["id"]


def test_a_scheduled_job_id_taken_by_another_host_is_forbidden(server, admin):
    host_a = enroll_host(admin, hostname="a")
    host_b = enroll_host(admin, hostname="b")
    agent_a = Agent(server, host_a.agent_token)
    agent_b = Agent(server, host_b.agent_token)
    job_id = str(uuid.uuid4())
    agent_b.send_acked("job.started", {"job_id": job_id, "kind": "backup", "started_at": "2026-11-29T03:00:00Z",
                                       "trigger": "schedule"})
    msg_id = agent_a.send("job.started", {"job_id": job_id, "kind": "check", "started_at": "2026-11-29T04:00:00Z",
                                          "trigger": "schedule"})
    error = agent_a.expect("error")["payload"]
    assert (error["code"], error["ref_id"]) == ("forbidden", msg_id)
    job = get_job(admin, job_id)
    assert (job["host_id"], job["kind"]) == (host_b.host_id, "backup")


def test_log_lines_for_an_unknown_job_are_refused_not_acked(server, admin):
    agent = Agent(server, enroll_host(admin).agent_token)
    msg_id = agent.send("log.stream", {"job_id": str(uuid.uuid4()), "seq": 1, "ts": "2026-11-29T03:00:00Z",
                                       "stream": "stdout", "payload": "x"})
    error = agent.expect("error")["payload"]
    assert error["ref_id"] == msg_id and error["code"] in ("bad_message", "forbidden")
    assert_still_serving(agent)
    assert all(msg_id not in m["payload"]["ids"] for m in agent.messages_of("ack"))


def test_a_scheduled_run_naming_another_hosts_schedule_is_forbidden(server, admin):
    host_a = enroll_host(admin, hostname="a")
    host_b = enroll_host(admin, hostname="b")
    schedule_b = admin.post(f"/api/v1/hosts/{host_b.host_id}/schedules",
                            json={"kind": "backup", "cron_expr": "@daily", "paths": ["/srv"]}).json()
    agent_a = Agent(server, host_a.agent_token)
    job_id = str(uuid.uuid4())
    msg_id = agent_a.send("job.started", {"job_id": job_id, "kind": "backup", "started_at": "2026-11-29T03:00:00Z",
                                          "schedule_id": schedule_b["id"], "trigger": "schedule"})
    error = agent_a.expect("error")["payload"]
    assert (error["code"], error["ref_id"]) == ("forbidden", msg_id)
    assert admin.get(f"/api/v1/jobs/{job_id}").status_code == 404


def test_message_ids_are_de_duplicated_per_host_not_across_hosts(server, admin):
    host_a = enroll_host(admin, hostname="a")
    host_b = enroll_host(admin, hostname="b")
    agent_a = Agent(server, host_a.agent_token)
    agent_b = Agent(server, host_b.agent_token)
    agent_a.send_acked("repo.stats", REPO_STATS_SHAPE, msg_id="same-id")
    agent_b.send_acked("repo.stats", REPO_STATS_SHAPE, msg_id="same-id")
    for host in (host_a, host_b):
        assert len(admin.get(f"/api/v1/hosts/{host.host_id}/stats").json()["items"]) == 1


def test_an_agents_newline_or_nul_cannot_forge_a_server_log_line(server, admin):
    """Control characters from outside are escaped in the text log (issue #14, item 4)."""
    host = enroll_host(admin)
    agent = Agent(server, host.agent_token)
    forged = "2026-01-01T00:00:00+0000 critical restic-manager: FORGED by the agent"
    agent.send("error", {"code": "oops", "message": f"first line\n{forged}\u0000\u001b[2J", "ref_id": ""})
    wait_for(lambda: "agent reported an error" in server.log_text(), message="the agent's error in the log")
    raw = server.stdout_path.read_bytes()
    assert b"\x00" not in raw and b"\x1b" not in raw
    lines = raw.decode().splitlines()
    assert not any(line.startswith(forged) for line in lines), "a forged line reached the log"
    assert any("first line\\n" + forged in line for line in lines), "the message is not kept, escaped, on its line"


def test_a_text_frame_that_is_not_utf8_closes_the_socket_with_1007(server, admin):
    """RFC 6455 §8.1: invalid UTF-8 in a text frame fails the connection (issue #14, item 7)."""
    host = enroll_host(admin)
    agent = Agent(server, host.agent_token)
    agent.ws.send(b'{"type":"heartbeat","id":"\xff\xfe","ts":"2026-01-01T00:00:00Z","payload":{}}', text=True)
    assert agent.wait_closed() == 1007
