"""Job logs: `GET /api/v1/jobs/{id}/logs?after_seq=` and the live SSE stream (SPEC §7, §7.1)."""
import json

from api_support import (Anonymous, SSEReader, agent_finish_job, agent_log, agent_start_job, assert_error,
                         assert_api_shape, parse_time, run_job)
from conftest import Agent, enroll_host, wait_for


def started_job(server, admin):
    host = enroll_host(admin)
    agent = Agent(server, host.agent_token)
    job = run_job(admin, host.host_id)
    agent.expect("command.run")
    agent_start_job(agent, job["id"])
    return agent, job


def test_logs_in_seq_order_with_after_seq(server, admin, viewer):
    agent, job = started_job(server, admin)
    # Sent out of order and with a replayed line: stored once each, read in seq order.
    for seq in (1, 3, 2, 4, 5, 3):
        agent_log(agent, job["id"], seq, f"line {seq}", stream="stderr" if seq == 4 else "stdout")
    url = f"/api/v1/jobs/{job['id']}/logs"
    body = viewer.get(url).json()
    assert set(body) == {"lines", "next_seq"}
    assert [line["seq"] for line in body["lines"]] == [1, 2, 3, 4, 5]
    assert [line["payload"] for line in body["lines"]] == [f"line {seq}" for seq in range(1, 6)]
    assert body["next_seq"] == 5
    line = body["lines"][3]
    assert set(line) == {"seq", "ts", "stream", "payload"} and line["stream"] == "stderr"
    assert line["ts"] == "2026-01-02T03:04:06Z"
    assert_api_shape(body)

    after = viewer.get(url, params={"after_seq": 3}).json()
    assert [line["seq"] for line in after["lines"]] == [4, 5] and after["next_seq"] == 5
    assert viewer.get(url, params={"after_seq": 5}).json() == {"lines": [], "next_seq": 5}
    limited = viewer.get(url, params={"after_seq": 1, "limit": 2}).json()
    assert [line["seq"] for line in limited["lines"]] == [2, 3] and limited["next_seq"] == 3
    for bad in ("-1", "abc", "1.5"):
        assert_error(viewer.get(url, params={"after_seq": bad}), 400, "validation_failed", "after_seq")
    assert_error(viewer.get(url, params={"limit": 0}), 400, "validation_failed", "limit")
    assert_error(viewer.get("/api/v1/jobs/nope/logs"), 404, "not_found")
    assert_error(Anonymous(server).get(url), 401, "unauthenticated")


def test_log_stream_is_live_until_the_job_ends(server, admin, viewer):
    agent, job = started_job(server, admin)
    agent_log(agent, job["id"], 1, "before the viewer came")
    stream = SSEReader(viewer, f"/api/v1/jobs/{job['id']}/logs/stream")
    try:
        assert stream.response.status_code == 200
        assert stream.response.headers["Content-Type"].startswith("text/event-stream")
        wait_for(lambda: stream.of("log"), message="stored line on the stream")

        agent_log(agent, job["id"], 2, "live line")
        wait_for(lambda: len(stream.of("log")) == 2, message="live line on the stream")
        assert not stream.finished.is_set(), "the stream ended while the job still runs"

        agent.wait_acked([agent.send("job.progress", {"job_id": job["id"], "percent_done": 0.5, "files_done": 5,
                                                      "total_files": 10, "bytes_done": 50, "total_bytes": 100,
                                                      "eta_seconds": 3, "throughput_bps": 10})])
        progress = wait_for(lambda: stream.of("progress"), message="progress event")
        assert json.loads(progress[-1]["data"])["percent_done"] == 0.5
        assert admin.get(f"/api/v1/jobs/{job['id']}").json()["progress"]["files_done"] == 5

        agent_finish_job(agent, job["id"], stats={"files_new": 2, "data_added": 1234})
        assert stream.finished.wait(10), "the stream did not end after the job"
        assert stream.error is None
        # One `status` event (the job as it was when the viewer came); the end has its own event.
        assert [json.loads(event["data"])["status"] for event in stream.of("status")] == ["running"]
        logs = stream.of("log")
        assert [event["id"] for event in logs] == ["1", "2"]
        assert [json.loads(event["data"])["payload"] for event in logs] == ["before the viewer came", "live line"]
        ends = stream.of("end")
        assert len(ends) == 1 and stream.events[-1]["event"] == "end"
        final = json.loads(ends[0]["data"])
        assert_api_shape(final)
        assert final["id"] == job["id"] and final["status"] == "succeeded"
        assert final["stats"] == {"files_new": 2, "data_added": 1234}
        parse_time(final["finished_at"])
    finally:
        stream.close()


def test_log_stream_resumes_after_last_event_id(server, admin, viewer):
    agent, job = started_job(server, admin)
    for seq in (1, 2, 3):
        agent_log(agent, job["id"], seq, f"line {seq}")
    agent_finish_job(agent, job["id"], status="failed", exit_code=1, error="unable to open repository")
    # A reconnecting EventSource sends its original URL (after_seq included)
    # plus Last-Event-ID: the further of the two wins, so nothing repeats.
    for headers, path in (({"Last-Event-ID": "1"}, ""), ({}, "?after_seq=1"),
                          ({"Last-Event-ID": "1"}, "?after_seq=0"), ({"Last-Event-ID": "0"}, "?after_seq=1")):
        stream = SSEReader(viewer, f"/api/v1/jobs/{job['id']}/logs/stream{path}", headers=headers)
        try:
            assert stream.finished.wait(10), "a finished job's stream must end by itself"
            assert [event["id"] for event in stream.of("log")] == ["2", "3"]
            final = json.loads(stream.of("end")[0]["data"])
            assert final["status"] == "failed" and final["error"] == "unable to open repository"
            assert final["exit_code"] == 1
        finally:
            stream.close()


def test_log_stream_ends_when_a_queued_job_is_cancelled(server, admin, viewer):
    host = enroll_host(admin)
    job = run_job(admin, host.host_id)
    stream = SSEReader(viewer, f"/api/v1/jobs/{job['id']}/logs/stream")
    try:
        assert stream.response.status_code == 200
        # Only a terminal job ends the stream: an `end` saying "cancelled"
        # proves it stayed open until the cancel.
        assert admin.post(f"/api/v1/jobs/{job['id']}/cancel").status_code == 200
        assert stream.finished.wait(10)
        assert json.loads(stream.of("end")[0]["data"])["status"] == "cancelled"
        assert [json.loads(event["data"])["status"] for event in stream.of("status")] == ["queued"]
        assert stream.of("log") == []
    finally:
        stream.close()


def test_log_stream_errors(server, admin, viewer):
    host = enroll_host(admin)
    job = run_job(admin, host.host_id)
    assert_error(Anonymous(server).get(f"/api/v1/jobs/{job['id']}/logs/stream"), 401, "unauthenticated")
    assert_error(viewer.get("/api/v1/jobs/nope/logs/stream"), 404, "not_found")
    assert_error(viewer.get(f"/api/v1/jobs/{job['id']}/logs/stream", params={"after_seq": "x"}), 400,
                 "validation_failed", "after_seq")
