"""Delivery guarantees: acks after commit, at most once per id, logs keyed by (job_id, seq),
replay after reconnect and after a server restart (SPEC §6.4)."""
import uuid

from conftest import (Agent, Client, enroll_host, envelope, get_host, get_job, job_logs, run_job, start_server,
                      wait_for)


def stats_rows(admin, host_id):
    response = admin.get(f"/api/v1/hosts/{host_id}/stats")
    assert response.status_code == 200, response.text
    return response.json()["items"]


def log_line(job_id, seq, text, stream="stdout"):
    return {"job_id": job_id, "seq": seq, "ts": "2026-11-29T03:00:00Z", "stream": stream, "payload": text}


def started_job(admin, agent, host_id):
    job_id = run_job(admin, host_id)["id"]
    agent.expect("command.run")
    agent.send_acked("command.result", {"job_id": job_id, "accepted": True})
    agent.send_acked("job.started", {"job_id": job_id, "kind": "backup", "started_at": "2026-11-29T03:00:00Z"})
    return job_id


REPO_STATS = {"size_bytes": 1000, "snapshot_count": 2, "dedup_ratio": 1.5, "lock_state": "unlocked"}


def test_every_id_is_acked_only_after_its_effect_is_visible_and_acks_are_batched(server, admin):
    host = enroll_host(admin)
    agent = Agent(server, host.agent_token)
    job_id = started_job(admin, agent, host.host_id)

    # Built first, then sent back to back, so that messages arrive while earlier ones commit.
    ids = {str(uuid.uuid4()): seq for seq in range(1, 101)}
    texts = [envelope("log.stream", log_line(job_id, seq, f"line {seq}"), msg_id) for msg_id, seq in ids.items()]
    for text in texts:
        agent.send_raw(text)
    batches = []
    pending = set(ids)
    while pending:
        ack_ids = agent.expect("ack")["payload"]["ids"]
        batches.append(ack_ids)
        # What an ack names is already committed: readable through the API right now.
        stored = {line["seq"] for line in job_logs(admin, job_id)}
        assert {ids[i] for i in ack_ids if i in ids} <= stored
        pending -= set(ack_ids)
    acked = [i for batch in batches for i in batch]
    assert set(ids) <= set(acked)
    assert len(acked) == len(set(acked)), "an id was acked twice without being sent twice"
    assert max(len(batch) for batch in batches) > 1, f"no ack carried several ids: {batches}"
    assert [line["payload"] for line in job_logs(admin, job_id)] == [f"line {seq}" for seq in range(1, 101)]


def test_replayed_ids_are_acked_again_and_applied_once(server, admin):
    host = enroll_host(admin)
    agent = Agent(server, host.agent_token)
    job_id = started_job(admin, agent, host.host_id)

    progress_id = str(uuid.uuid4())
    progress = {"job_id": job_id, "percent_done": 0.5, "files_done": 5, "total_files": 10, "bytes_done": 50,
                "total_bytes": 100, "eta_seconds": 9, "throughput_bps": 10}
    outbox = [
        ("repo.stats", REPO_STATS, str(uuid.uuid4())),
        ("job.progress", progress, progress_id),
        ("log.stream", log_line(job_id, 1, "first"), str(uuid.uuid4())),
        ("log.stream", log_line(job_id, 2, "second"), str(uuid.uuid4())),
    ]
    for msg_type, payload, msg_id in outbox:
        agent.send(msg_type, payload, msg_id)
    agent.collect_acks([msg_id for _, _, msg_id in outbox])
    assert len(stats_rows(admin, host.host_id)) == 1

    # The acks were "lost": the agent reconnects and replays its whole outbox.
    agent.close()
    again = Agent(server, host.agent_token, active_jobs=[job_id])
    for msg_type, payload, msg_id in outbox:
        again.send(msg_type, payload, msg_id)
    # Same id, different content: proves de-duplication is by id, not by content.
    again.send("job.progress", dict(progress, percent_done=0.99), progress_id)
    again.collect_acks([msg_id for _, _, msg_id in outbox])
    assert not [m for m in again.inbox if m["type"] == "error"]

    assert len(stats_rows(admin, host.host_id)) == 1
    assert get_job(admin, job_id)["progress"]["percent_done"] == 0.5
    assert [(line["seq"], line["payload"]) for line in job_logs(admin, job_id)] == [(1, "first"), (2, "second")]
    assert get_job(admin, job_id)["status"] == "running"


def test_finished_replayed_with_a_new_id_does_not_change_a_finished_job(server, admin):
    host = enroll_host(admin)
    agent = Agent(server, host.agent_token)
    job_id = started_job(admin, agent, host.host_id)
    finished = {"job_id": job_id, "status": "succeeded", "exit_code": 0, "finished_at": "2026-11-29T03:05:00Z",
                "stats": {"files_new": 1}}
    agent.send_acked("job.finished", finished)
    agent.send_acked("job.finished", dict(finished, status="failed", exit_code=1, error="late duplicate"))
    job = get_job(admin, job_id)
    assert (job["status"], job["exit_code"], job["error"]) == ("succeeded", 0, None)


def test_log_lines_are_keyed_by_job_and_seq_not_by_message_id(server, admin):
    host = enroll_host(admin)
    agent = Agent(server, host.agent_token)
    job_id = started_job(admin, agent, host.host_id)
    other_job = started_job(admin, agent, host.host_id)

    first = [agent.send("log.stream", log_line(job_id, seq, f"original {seq}")) for seq in (1, 2, 3)]
    agent.collect_acks(first)
    # Rewritten outbox after an agent crash: new message ids, same (job_id, seq).
    replay = [agent.send("log.stream", log_line(job_id, seq, f"replayed {seq}")) for seq in (2, 3)]
    replay.append(agent.send("log.stream", log_line(job_id, 4, "original 4", stream="stderr")))
    # The same seq in another job is a different line.
    replay.append(agent.send("log.stream", log_line(other_job, 1, "other job")))
    agent.collect_acks(replay)

    lines = job_logs(admin, job_id)
    assert [(line["seq"], line["payload"], line["stream"]) for line in lines] == [
        (1, "original 1", "stdout"), (2, "original 2", "stdout"), (3, "original 3", "stdout"),
        (4, "original 4", "stderr")]
    assert [line["payload"] for line in job_logs(admin, other_job)] == ["other job"]
    after = admin.get(f"/api/v1/jobs/{job_id}/logs", params={"after_seq": 2}).json()
    assert [line["seq"] for line in after["lines"]] == [3, 4]


def test_server_restart_loses_and_doubles_nothing(server, admin, tmp_path):
    host = enroll_host(admin)
    agent = Agent(server, host.agent_token)
    job_id = started_job(admin, agent, host.host_id)
    before = [agent.send("log.stream", log_line(job_id, seq, f"line {seq}")) for seq in (1, 2)]
    before.append(agent.send("repo.stats", REPO_STATS))
    agent.collect_acks(before)
    queued = run_job(admin, host.host_id, kind="check")["id"]
    agent.expect("command.run")
    # The server goes down before the agent could answer.
    assert server.stop() is not None
    agent.wait_closed()

    srv = start_server(tmp_path, "--agent-offline-after", "3", data_dir=server.data_dir)
    try:
        admin2 = Client(srv, "admin", server.admin_password)
        assert get_host(admin2, host.host_id)["status"] == "offline"
        assert get_job(admin2, job_id)["status"] == "running"

        back = Agent(srv, host.agent_token, active_jobs=[job_id])
        # The not-accepted job is dispatched again; the agent replays everything not acked
        # plus (as if its acks were lost) the messages already applied.
        assert back.expect("command.run")["payload"]["job_id"] == queued
        outbox = [("log.stream", log_line(job_id, seq, f"line {seq}"), before[seq - 1]) for seq in (1, 2)]
        outbox.append(("repo.stats", REPO_STATS, before[2]))
        outbox += [("log.stream", log_line(job_id, seq, f"line {seq}"), str(uuid.uuid4())) for seq in (3, 4)]
        outbox.append(("job.finished", {"job_id": job_id, "status": "succeeded", "exit_code": 0,
                                        "finished_at": "2026-11-29T03:10:00Z", "stats": {"files_new": 2}},
                       str(uuid.uuid4())))
        outbox.append(("command.result", {"job_id": queued, "accepted": True}, str(uuid.uuid4())))
        for msg_type, payload, msg_id in outbox:
            back.send(msg_type, payload, msg_id)
        back.collect_acks([msg_id for _, _, msg_id in outbox])

        assert [line["payload"] for line in job_logs(admin2, job_id)] == [f"line {seq}" for seq in (1, 2, 3, 4)]
        assert len(stats_rows(admin2, host.host_id)) == 1
        job = get_job(admin2, job_id)
        assert (job["status"], job["stats"]) == ("succeeded", {"files_new": 2})
        assert get_job(admin2, queued)["status"] == "queued"
        assert get_host(admin2, host.host_id)["status"] == "online"
        back.close()
        wait_for(lambda: get_host(admin2, host.host_id)["status"] == "offline", timeout=5, message="offline")
    finally:
        srv.stop()
