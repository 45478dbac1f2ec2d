"""Ping URLs on schedules (SPEC §9.3 "ping URL", docs/alerts.md "Ping URLs").

The server, never the agent, pings a real HTTP receiver: `POST {ping_url}/start?rid=JOB`
when a job of the schedule starts, `POST {ping_url}?rid=JOB` when it
succeeds and `POST {ping_url}/fail?rid=JOB` when it fails or is cancelled,
the last two with the job's last log lines as a `text/plain` body of at
most 10 kB. Jobs are driven by a raw protocol-v1 agent (`job.started` with
`schedule_id`, `log.stream`, `job.finished`). The URL is write-only
(`ping_url_set`), never echoed, never sent to the agent, and bad values are
refused.
"""
import json
import uuid

from api_support import assert_error, create_schedule, enroll_bare_host
from conftest import Agent, enroll_host
from notify_support import db_query, dispatch_and_start, finish, log_lines, run_to_end, start_scheduled
from notify_support import receiver, server  # noqa: F401 (fixtures)

SCHEDULE = {"kind": "backup", "cron_expr": "0 3 * * *", "paths": ["/etc"]}


def test_ping_url_is_write_only_and_never_sent_to_the_agent(server, admin, viewer, receiver):
    host = enroll_host(admin, "pinged-host")
    agent = Agent(server, host.agent_token)
    token = uuid.uuid4().hex
    schedule = create_schedule(admin, host.host_id, ping_url=receiver.url(f"/ping/{token}"))
    assert schedule["ping_url_set"] is True and "ping_url" not in schedule
    plain = create_schedule(admin, host.host_id, cron_expr="0 4 * * *")
    assert plain["ping_url_set"] is False and "ping_url" not in plain

    shown = [admin.get(f"/api/v1/schedules/{schedule['id']}"), viewer.get(f"/api/v1/schedules/{schedule['id']}"),
             admin.get(f"/api/v1/hosts/{host.host_id}/schedules")]
    for response in shown:
        assert response.status_code == 200, response.text
        assert token not in response.text
    assert admin.get(f"/api/v1/schedules/{schedule['id']}").json()["ping_url_set"] is True
    pushed = [agent.expect("schedule.set")] + agent.idle(0.5)
    assert any(m["type"] == "schedule.set" and any(s["id"] == schedule["id"] for s in m["payload"]["schedules"])
               for m in pushed), pushed
    assert token not in json.dumps(pushed) and "ping" not in json.dumps(pushed)

    url = f"/api/v1/schedules/{schedule['id']}"

    def put(**fields):
        response = admin.put(url, json={**SCHEDULE, **fields})
        assert response.status_code == 200, response.text
        assert token not in response.text and "ping_url" not in response.json()
        return response.json()["ping_url_set"]

    assert put() is True  # absent keeps it
    assert put(ping_url=None) is True  # null keeps it
    assert put(ping_url="") is False  # "" clears it
    assert put(ping_url=receiver.url(f"/ping/{token}")) is True
    assert token not in json.dumps(agent.idle(0.3))


def test_start_success_and_fail_pings_for_the_jobs_of_the_schedule(server, admin, receiver):
    host = enroll_host(admin, "pinged-host")
    agent = Agent(server, host.agent_token)
    token = uuid.uuid4().hex
    base = f"/ping/{token}"
    schedule = create_schedule(admin, host.host_id, ping_url=receiver.url(base))
    other = create_schedule(admin, host.host_id, cron_expr="0 4 * * *")

    def ping(path: str, job_id: str):
        return receiver.wait(lambda r: r.path == path and r.query.get("rid") == [job_id],
                             message=f"POST {path}?rid={job_id}")[0]

    # A job of another schedule, and one without a schedule, ping nothing.
    unpinged = start_scheduled(agent, other["id"])
    finish(agent, unpinged)
    adhoc = run_to_end(admin, agent, host.host_id)

    # A cron run that succeeds: /start, then the URL itself with the last log lines.
    job = start_scheduled(agent, schedule["id"])
    start = ping(f"{base}/start", job)
    assert start.method == "POST" and start.query == {"rid": [job]}
    log_lines(agent, job, ["scan finished", "Files: 12 new, 0 changed", "snapshot 6f1c0a2e saved"])
    finish(agent, job)
    success = ping(base, job)
    assert success.method == "POST" and success.query == {"rid": [job]}
    assert success.header("Content-Type").split(";")[0].strip() == "text/plain"
    assert success.body.decode().rstrip("\n").endswith("snapshot 6f1c0a2e saved"), success.body
    assert b"Files: 12 new" in success.body

    # A run now of the schedule that fails: /start, then /fail with its log.
    failed = dispatch_and_start(admin, agent, host.host_id, schedule_id=schedule["id"])
    ping(f"{base}/start", failed)
    log_lines(agent, failed, ["Fatal: unable to open repository at /srv/repo"])
    finish(agent, failed, "failed", error="restic exited with 1")
    fail = ping(f"{base}/fail", failed)
    assert fail.method == "POST" and fail.header("Content-Type").split(";")[0].strip() == "text/plain"
    assert b"Fatal: unable to open repository at /srv/repo" in fail.body

    # A cancelled run is a /fail too.
    cancelled = start_scheduled(agent, schedule["id"])
    ping(f"{base}/start", cancelled)
    finish(agent, cancelled, "cancelled")
    ping(f"{base}/fail", cancelled)

    for job_id in (unpinged, adhoc):
        assert receiver.received(lambda r: r.query.get("rid") == [job_id]) == []
        assert db_query(server, "SELECT count(*) FROM notifications WHERE job_id = ?", (job_id,)) == [(0,)]
    # Exactly one ping per event: start + end for each of the three runs.
    assert sorted(r.path for r in receiver.received()) == sorted(
        [f"{base}/start"] * 3 + [base, f"{base}/fail", f"{base}/fail"])


def test_the_ping_body_is_the_last_log_lines_and_at_most_10_kB(server, admin, receiver):
    host = enroll_host(admin, "chatty-host")
    agent = Agent(server, host.agent_token)
    schedule = create_schedule(admin, host.host_id, ping_url=receiver.url("/ping/chatty"))
    lines = [f"{index:05d} Grüße ✓ " + "x" * 80 for index in range(300)]  # ~30 kB, multi-byte characters
    job = start_scheduled(agent, schedule["id"])
    log_lines(agent, job, lines)
    finish(agent, job, "failed")

    fail = receiver.wait(lambda r: r.path == "/ping/chatty/fail" and r.query.get("rid") == [job])[0]
    assert 0 < len(fail.body) <= 10 * 1024, len(fail.body)
    text = fail.body.decode("utf-8")  # not cut inside a character
    assert lines[0] not in text
    body_lines = text.rstrip("\n").split("\n")
    assert body_lines[-1].endswith(lines[-1]), body_lines[-1]
    complete = body_lines[1:]  # the first line may be cut to fit
    assert len(complete) >= 50, "the body is not the last ~10 kB of the log"
    assert all(got.endswith(sent) for got, sent in zip(complete, lines[-len(complete):])), complete[:3]


def test_bad_ping_urls_are_refused_and_change_nothing(server, admin):
    host = enroll_bare_host(admin)
    url = f"/api/v1/hosts/{host.host_id}/schedules"
    bad_values = ["ftp://hc.example.test/x", "hc-ping.example.test/uuid", "/ping/x", "http://",
                  "javascript:alert(1)", "file:///etc/passwd", "https://hc.example.test/" + "a" * 2100,
                  "https://hc.example.test/" + "a" * 10240, "https://hc.example.test/a\r\nX-Evil: 1",
                  "https://hc.example.test/a\nb", "https://hc.example.test/\x00", "https://hc.example.test/a b",
                  42, True, ["https://hc.example.test/x"], {"url": "https://hc.example.test/x"}]
    for bad in bad_values:
        assert_error(admin.post(url, json={**SCHEDULE, "ping_url": bad}), 400, "validation_failed", "ping_url")
    assert admin.get(url).json()["items"] == []

    longest = "https://hc.example.test/" + "a" * (2048 - 24)
    schedule = create_schedule(admin, host.host_id, ping_url=longest)
    assert schedule["ping_url_set"] is True
    for bad in bad_values[:6]:
        assert_error(admin.put(f"/api/v1/schedules/{schedule['id']}", json={**SCHEDULE, "ping_url": bad}), 400,
                     "validation_failed", "ping_url")
    assert admin.get(f"/api/v1/schedules/{schedule['id']}").json()["ping_url_set"] is True
