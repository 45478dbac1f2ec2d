"""Agent-supplied identifiers and strings are checked and bounded (issue #14, item 3).

Every refusal is `bad_message` with the message's id as `ref_id`, nothing is
stored, and refusals of every kind (limits, decoding, store-side `forbidden`)
share the 20-a-minute budget that closes the socket with 4008.
"""
import uuid

import pytest

from conftest import Agent, enroll_host, get_job, now_rfc3339, run_job

MEGABYTE_ID = "a" * ((1 << 20) - 1000) # fits the 1 MiB frame with its envelope

LOG_TS = "2026-11-29T03:00:00Z"


def started(job_id):
    return {"job_id": job_id, "kind": "backup", "started_at": LOG_TS}


def log_line(job_id, seq=1, payload="x"):
    return {"job_id": job_id, "seq": seq, "ts": LOG_TS, "stream": "stdout", "payload": payload}


def stats(**overrides):
    return {"size_bytes": 1, "snapshot_count": 1, "dedup_ratio": 1.0, "lock_state": "unlocked", **overrides}


def snapshot(**overrides):
    return {"id": "ab" * 32, "time": LOG_TS, "hostname": "host-1", "paths": ["/etc"], "tags": [], **overrides}


REFUSED = [
    ("job.started", started(""), "job_id"),
    ("job.started", started("a"), "job_id"),
    ("job.started", started(MEGABYTE_ID), "job_id"),
    ("job.started", started("not-a-uuid-but-36-characters-long!!!"), "job_id"),
    ("job.started", dict(started(str(uuid.uuid4())), schedule_id="s1"), "schedule_id"),
    ("command.result", {"job_id": "j", "accepted": True}, "job_id"),
    ("job.progress", {"job_id": "../x", "percent_done": 0.5, "files_done": 1, "total_files": 2, "bytes_done": 1,
                      "total_bytes": 2, "eta_seconds": 1, "throughput_bps": 1}, "job_id"),
    ("job.finished", {"job_id": "j", "status": "failed", "exit_code": 1, "finished_at": LOG_TS}, "job_id"),
    ("log.stream", log_line(str(uuid.uuid4()), seq=0), "seq"),
    ("log.stream", log_line(str(uuid.uuid4()), seq=-5), "seq"),
    ("repo.stats", stats(lock_state="maybe"), "lock_state"),
    ("repo.stats", stats(lock_state=""), "lock_state"),
    ("repo.stats", stats(last_check_status="x" * 5000), "last_check_status"),
    ("repo.stats", stats(last_check_status="succeeded"), "last_check_status"),
    ("snapshots.report", {"snapshots": [snapshot(id="")]}, "id"),
    ("snapshots.report", {"snapshots": [snapshot(id="zz" * 32)]}, "id"),
    ("snapshots.report", {"snapshots": [snapshot(hostname="h" * 1000)]}, "hostname"),
    ("snapshots.report", {"snapshots": [snapshot(tags=["t\u0000"])]}, "tags"),
    ("snapshots.report", {"snapshots": [snapshot(paths=["/" + "p" * 5000])]}, "paths"),
    ("error", {"code": "c" * 1000, "message": "m"}, "code"),
    ("error", {"code": "c", "message": "m", "ref_id": "r" * 200}, "ref_id"),
    ("error", {"code": "c\n", "message": "m"}, "code"),
]


@pytest.mark.parametrize("msg_type,payload,field", REFUSED, ids=[f"{t}-{f}-{i}" for i, (t, _, f) in enumerate(REFUSED)])
def test_out_of_bounds_fields_are_bad_messages_and_nothing_is_stored(server, admin, msg_type, payload, field):
    host = enroll_host(admin)
    agent = Agent(server, host.agent_token)
    msg_id = agent.send(msg_type, payload)
    error = agent.expect("error")["payload"]
    assert (error["code"], error["ref_id"]) == ("bad_message", msg_id)
    assert field in error["message"], error["message"]
    assert len(error["message"]) < 1000, "the refusal must not echo the whole value back"
    agent.send_acked("schedule.ack", {"version": 1, "applied_at": now_rfc3339()})
    assert all(msg_id not in m["payload"]["ids"] for m in agent.messages_of("ack"))
    assert admin.get("/api/v1/jobs", params={"host_id": host.host_id}).json()["items"] == []
    assert admin.get(f"/api/v1/hosts/{host.host_id}/stats").json()["items"] == []
    assert admin.get(f"/api/v1/hosts/{host.host_id}/snapshots").json()["items"] == []


def test_envelope_ids_are_bounded(server, admin):
    agent = Agent(server, enroll_host(admin).agent_token)
    agent.send("repo.stats", stats(), msg_id="i" * 129)
    error = agent.expect("error")["payload"]
    assert error["code"] == "bad_message" and "id" in error["message"]


def test_a_hello_with_an_oversized_hostname_is_refused(server, admin):
    agent = Agent(server, enroll_host(admin).agent_token, hello=False)
    msg_id = agent.send("hello", {"protocol_version": 1, "agent_version": "test", "restic_version": "0.14.0",
                                  "hostname": "h" * 10_000, "os": "linux", "arch": "amd64",
                                  "boot_time": "0001-01-01T00:00:00Z"})
    error = agent.expect("error")["payload"]
    assert (error["code"], error["ref_id"]) == ("bad_message", msg_id)
    assert "hostname" in error["message"]


def test_well_formed_values_at_the_bounds_are_accepted(server, admin):
    host = enroll_host(admin)
    agent = Agent(server, host.agent_token)
    job_id = run_job(admin, host.host_id)["id"]
    agent.expect("command.run")
    agent.send_acked("job.started", started(job_id))
    agent.send_acked("log.stream", log_line(job_id, seq=1, payload="\x1b[1mbold\x1b[0m\r\n" + "y" * 200_000))
    agent.send_acked("repo.stats", stats(lock_state="locked", last_check_status="failed"))
    agent.send_acked("snapshots.report", {"snapshots": [snapshot(), snapshot(id="0123abcd")]})
    assert get_job(admin, job_id)["status"] == "running"


def test_refusals_of_every_kind_share_the_budget_and_close_with_4008(server, admin):
    """Store-side refusals (`forbidden`) count toward the 20 a minute like decoding errors do."""
    host_a = enroll_host(admin, hostname="a")
    host_b = enroll_host(admin, hostname="b")
    foreign_job = run_job(admin, host_b.host_id)["id"]
    agent = Agent(server, host_a.agent_token)
    for _ in range(10):
        agent.send("log.stream", log_line(foreign_job))  # forbidden: another host's job
    for _ in range(10):
        agent.send("job.started", started("a"))  # bad_message: not a UUID
    codes = sorted(agent.expect("error")["payload"]["code"] for _ in range(20))
    assert codes == ["bad_message"] * 10 + ["forbidden"] * 10
    agent.send_acked("schedule.ack", {"version": 1, "applied_at": now_rfc3339()})  # 20 are tolerated
    agent.send("log.stream", log_line(foreign_job))  # the 21st, refused by the store
    assert agent.wait_closed() == 4008


def test_twenty_one_forbidden_messages_alone_close_with_4008(server, admin):
    host_a = enroll_host(admin, hostname="a")
    host_b = enroll_host(admin, hostname="b")
    foreign_job = run_job(admin, host_b.host_id)["id"]
    agent = Agent(server, host_a.agent_token)
    for _ in range(21):
        agent.send("job.progress", {"job_id": foreign_job, "percent_done": 0.5, "files_done": 1, "total_files": 2,
                                    "bytes_done": 1, "total_bytes": 2, "eta_seconds": 1, "throughput_bps": 1})
    assert agent.wait_closed() == 4008
