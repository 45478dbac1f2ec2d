"""Retention (SPEC §12, `--log-retention-days`): old history is deleted in the
background, in small batches, while agents keep streaming."""
import datetime
import json
import re
import sqlite3
import subprocess

import pytest

from api_support import agent_finish_job, agent_start_job, run_job
from conftest import Agent, Client, enroll_host, server_command, sqlite_only, start_server, wait_for

OLD_JOBS = 20_000
LINES_PER_OLD_JOB = 5


def stored_time(days_ago: float) -> str:
    """A time as the store writes it ("yyyy-MM-dd HH:mm:ss.SSS", UTC)."""
    moment = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=days_ago)
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def rfc3339(days_ago: float) -> str:
    moment = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=days_ago)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def seed_old_history(server, host_id: str) -> None:
    """Old failed backups with logs, and old repository stats, written into
    the live database (WAL lets a second writer in between the server's)."""
    # One explicit transaction: Python's implicit one would not begin before
    # a statement starting with WITH, and a sweep could land in between.
    connection = sqlite3.connect(server.data_dir / "restic-manager.sqlite", timeout=30, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute(
            """WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count)
               INSERT INTO jobs (id, host_id, kind, trigger, status, queued_at, finished_at, error)
               SELECT 'old-' || i, :host, 'backup', 'schedule', 'running', t, NULL, NULL
               FROM (SELECT i, strftime('%Y-%m-%d %H:%M:%f', :start, '-' || i || ' seconds') AS t FROM n)""",
            {"count": OLD_JOBS, "host": host_id, "start": stored_time(100)})
        # Ended the way the store ends jobs, so the triggers keep the host's summary.
        connection.execute("""UPDATE jobs SET status = 'failed', finished_at = queued_at, error = 'disk full'
                              WHERE id LIKE 'old-%'""")
        connection.execute(
            """WITH RECURSIVE n(seq) AS (SELECT 1 UNION ALL SELECT seq + 1 FROM n WHERE seq < :lines)
               INSERT INTO job_logs (job_id, seq, ts, stream, payload)
               SELECT j.id, n.seq, j.finished_at, 'stdout', 'old line ' || n.seq
               FROM jobs j, n WHERE j.id LIKE 'old-%'""", {"lines": LINES_PER_OLD_JOB})
        for days in (200, 150):
            connection.execute(
                """INSERT INTO repo_stats (host_id, reported_at, size_bytes, snapshot_count, dedup_ratio, lock_state)
                   VALUES (?, ?, ?, 1, 1.0, 'none')""", (host_id, stored_time(days), days))
        connection.execute("COMMIT")
    finally:
        connection.close()


def sweep_lines(server) -> list[dict]:
    lines = [json.loads(line) for line in server.log_text().splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("message") == "retention sweep"]


def all_log_seqs(client: Client, job_id: str) -> list[int]:
    seqs, after = [], 0
    while True:
        body = client.get(f"/api/v1/jobs/{job_id}/logs", params={"after_seq": after, "limit": 5000}).json()
        if not body["lines"]:
            return seqs
        seqs += [line["seq"] for line in body["lines"]]
        after = body["next_seq"]


@sqlite_only("the old history is seeded with SQLite's SQL (recursive CTE, strftime) into the SQLite file")
def test_old_history_goes_while_ingest_loses_nothing(tmp_path):
    server = start_server(tmp_path, "--retention-interval-seconds", "1", "--log-format", "json")
    try:
        admin = Client(server, "admin", server.admin_password)
        host = enroll_host(admin)
        agent = Agent(server, host.agent_token)
        # The host's last success, 200 days old, reported through the protocol:
        # it stays, with its log, however old.
        last_success = run_job(admin, host.host_id)["id"]
        agent.expect("command.run")
        agent_start_job(agent, last_success, started_at=rfc3339(200.01))
        agent.wait_acked([agent.send("log.stream", {"job_id": last_success, "seq": 1, "ts": rfc3339(200.01),
                                                    "stream": "stdout", "payload": "kept line"})])
        agent_finish_job(agent, last_success, finished_at=rfc3339(200))

        live = run_job(admin, host.host_id)["id"]
        agent.expect("command.run")
        agent_start_job(agent, live, started_at=rfc3339(0))
        sweeps_before = len(sweep_lines(server))

        # Stream from before the old rows exist until after a sweep deleted
        # them, so the sweep's batches run between these messages.
        seq = 0

        def stream_batch(count: int = 200) -> None:
            nonlocal seq
            ids = []
            for _ in range(count):
                seq += 1
                ids.append(agent.send("log.stream", {"job_id": live, "seq": seq, "ts": rfc3339(0),
                                                     "stream": "stdout", "payload": f"live line {seq}"}))
            agent.collect_acks(ids, timeout=30)

        stream_batch()
        seed_old_history(server, host.host_id)

        def swept():
            stream_batch()
            return [line for line in sweep_lines(server)[sweeps_before:] if int(line["jobs"]) > 0]

        sweep = wait_for(swept, timeout=120, interval=0, message="a sweep that deleted the old jobs")[0]
        stream_batch()

        # The newest old failure is the host's last backup: kept, like the last success.
        assert int(sweep["jobs"]) == OLD_JOBS - 1, sweep
        assert int(sweep["log_lines"]) == (OLD_JOBS - 1) * LINES_PER_OLD_JOB, sweep
        assert int(sweep["batches"]) > 10, sweep

        assert all_log_seqs(admin, live) == list(range(1, seq + 1))
        assert admin.get(f"/api/v1/jobs/{last_success}").json()["status"] == "succeeded"
        assert [line["payload"] for line in admin.get(f"/api/v1/jobs/{last_success}/logs").json()["lines"]] == [
            "kept line"]
        assert admin.get("/api/v1/jobs/old-1").status_code == 200
        assert admin.get("/api/v1/jobs/old-2").status_code == 404
        assert admin.get(f"/api/v1/jobs/old-{OLD_JOBS}").status_code == 404
        assert admin.get(f"/api/v1/jobs/old-{OLD_JOBS}/logs").status_code == 404
        stats = admin.get(f"/api/v1/hosts/{host.host_id}/stats").json()["items"]
        assert [item["size_bytes"] for item in stats] == [150], stats
        host_view = admin.get(f"/api/v1/hosts/{host.host_id}").json()
        assert host_view["last_backup"]["job_id"] == "old-1", host_view["last_backup"]

        metrics = admin.get("/metrics").text
        deleted = re.search(r'^rm_retention_deleted_rows_total\{table="jobs"\} ([0-9.eE+]+)$', metrics, re.MULTILINE)
        assert deleted and float(deleted.group(1)) == OLD_JOBS - 1, metrics
        agent.close()
    finally:
        server.stop()


@pytest.mark.parametrize("flag, value", [
    ("--log-retention-days", "0"), ("--log-retention-days", "-1"), ("--log-retention-days=-1", None),
    ("--log-retention-days", "abc"), ("--log-retention-days", "99999999999999999999"),
    ("--log-retention-days", "36501"), ("--log-retention-days", "1.5"), ("--log-retention-days", ""),
    ("--retention-interval-seconds", "0"), ("--retention-interval-seconds", "-3600"),
])
def test_bad_retention_flags_are_refused_at_start(tmp_path, flag, value):
    flags = [flag] if value is None else [flag, value]
    argv, env = server_command("serve", "--data-dir", str(tmp_path / "data"), "--listen", "127.0.0.1:0", *flags)
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=10)
    assert result.returncode != 0, result
    assert "Error:" in result.stderr.splitlines()[0], result.stderr
    assert flag.split("=")[0] in result.stderr, result.stderr
    assert not (tmp_path / "data").exists(), "a refused start must not create the data dir"
