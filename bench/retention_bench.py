"""Retention benchmark: one sweep of a large old history, and what agent
ingest sees meanwhile, each beside a baseline measured in the same run.

1. A data dir is made by the real server, which is stopped; `--hosts` hosts
   get `--jobs` old failed backups in all (100 days old, past the default
   90-day retention) with `--lines-per-job` log lines each, straight through
   SQLite, plus one recent backup per host (which the sweep keeps).
2. The baseline deletion: a copy of that file, the same rows deleted by
   Python's sqlite3 in one transaction (what a naive sweep would do, holding
   the writer for all of it).
3. The server is started again on the original; its sweep at start runs
   while a raw agent streams log lines in batches of `--batch` and times each
   batch from the first send to the last ack. The same number of batches is
   timed again after the sweep (the baseline for ingest). The sweep's own
   time and counts come from its `retention sweep` log line.

Only ratios to a baseline of the same run mean much on these noisy machines.
Run through `scripts/bench-retention`, which builds the release server first.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
os.environ.setdefault("RM_SERVER_BIN", str(ROOT / ".build" / "release" / "restic-manager-server"))
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

from api_support import agent_start_job, run_job  # noqa: E402
from conftest import Agent, Client, enroll_host, start_server, wait_for  # noqa: E402


def stored(days_ago: float) -> str:
    """A UTC time as GRDB stores it: 'YYYY-MM-DD HH:MM:SS.SSS'."""
    moment = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=days_ago)
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def seed(path: pathlib.Path, host_ids: list[str], jobs: int, lines: int) -> None:
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        per_host = jobs // len(host_ids)
        for host in host_ids:
            connection.execute(
                """WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count)
                   INSERT INTO jobs (id, host_id, kind, trigger, status, queued_at, finished_at, error)
                   SELECT :host || '-old-' || i, :host, 'backup', 'schedule', 'failed', t, t, 'disk full'
                   FROM (SELECT i, strftime('%Y-%m-%d %H:%M:%f', :start, '-' || (i * 60) || ' seconds') AS t FROM n)""",
                {"count": per_host, "host": host, "start": stored(100)})
            connection.execute(
                """INSERT INTO jobs (id, host_id, kind, trigger, status, queued_at, finished_at)
                   VALUES (:host || '-recent', :host, 'backup', 'schedule', 'succeeded', :t, :t)""",
                {"host": host, "t": stored(1)})
        connection.execute(
            """WITH RECURSIVE n(seq) AS (SELECT 1 UNION ALL SELECT seq + 1 FROM n WHERE seq < :lines)
               INSERT INTO job_logs (job_id, seq, ts, stream, payload)
               SELECT j.id, n.seq, j.finished_at, 'stdout',
                      'processed ' || n.seq || ' files, 1.2 GiB of 3.4 GiB, ETA 0:42 ' || hex(randomblob(8))
               FROM jobs j, n WHERE j.id LIKE '%-old-%'""", {"lines": lines})
        connection.execute("COMMIT")
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()


def baseline_delete(path: pathlib.Path) -> tuple[float, int]:
    """The same rows deleted in one transaction; returns (seconds, rows)."""
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        started = time.perf_counter()
        connection.execute("BEGIN IMMEDIATE")
        rows = connection.execute("DELETE FROM job_logs WHERE job_id LIKE '%-old-%'").rowcount
        rows += connection.execute("DELETE FROM jobs WHERE id LIKE '%-old-%'").rowcount
        connection.execute("COMMIT")
        return time.perf_counter() - started, rows
    finally:
        connection.close()


def sweep_line(server) -> dict | None:
    for line in server.log_text().splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            if entry.get("message") == "retention sweep" and int(entry["jobs"]) > 0:
                return entry
    return None


def quantiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (f"p50 {statistics.median(ordered) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, "
            f"max {ordered[-1] * 1000:.1f} ms ({len(ordered)} batches)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--lines-per-job", type=int, default=10)
    parser.add_argument("--batch", type=int, default=100, help="log lines per timed ingest batch")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="rm-bench-retention-") as temp:
        tmp_path = pathlib.Path(temp)
        server = start_server(tmp_path, "--log-format", "json")
        password = server.admin_password
        admin = Client(server, "admin", password)
        hosts = [enroll_host(admin, hostname=f"host-{index}") for index in range(args.hosts)]
        server.stop()
        database = server.data_dir / "restic-manager.sqlite"
        started = time.perf_counter()
        seed(database, [host.host_id for host in hosts], args.jobs, args.lines_per_job)
        print(f"seeded {args.jobs:,} old jobs with {args.jobs * args.lines_per_job:,} log lines "
              f"({database.stat().st_size / 2**20:.0f} MiB) in {time.perf_counter() - started:.1f} s")
        copy = tmp_path / "baseline.sqlite"
        shutil.copyfile(database, copy)
        seconds, rows = baseline_delete(copy)
        print(f"baseline: one DELETE transaction of {rows:,} rows took {seconds:.2f} s (the writer held throughout)")

        server = start_server(tmp_path, "--log-format", "json", data_dir=server.data_dir)
        try:
            agent = Agent(server, hosts[0].agent_token)
            job = run_job(Client(server, "admin", password), hosts[0].host_id)
            agent.expect("command.run")
            agent_start_job(agent, job["id"])
            seq = 0

            def timed_batch() -> float:
                nonlocal seq
                began = time.perf_counter()
                ids = []
                for _ in range(args.batch):
                    seq += 1
                    ids.append(agent.send("log.stream", {"job_id": job["id"], "seq": seq,
                                                         "ts": "2026-01-02T03:04:06Z", "stream": "stdout",
                                                         "payload": f"line {seq}"}))
                agent.collect_acks(ids, timeout=60)
                return time.perf_counter() - began

            during: list[float] = []
            sweep = wait_for(lambda: during.append(timed_batch()) or sweep_line(server), timeout=3600, interval=0,
                             message="the sweep to finish")
            after = [timed_batch() for _ in during]
            rows = int(sweep["jobs"]) + int(sweep["log_lines"])
            print(f"sweep: {int(sweep['jobs']):,} jobs + {int(sweep['log_lines']):,} log lines in "
                  f"{sweep['batches']} batches, {float(sweep['seconds']):.1f} s, {float(sweep['busy_seconds']):.1f} s of it "
                  f"in transactions ({rows / float(sweep['busy_seconds']):,.0f} rows/s), {int(sweep['freed_pages']):,} pages given back; "
                  f"file now {database.stat().st_size / 2**20:.0f} MiB "
                  f"(+ {pathlib.Path(str(database) + '-wal').stat().st_size / 2**20:.0f} MiB WAL)")
            print(f"ingest of {args.batch} lines during the sweep: {quantiles(during)}")
            print(f"ingest of {args.batch} lines after the sweep:  {quantiles(after)}")
            agent.close()
        finally:
            server.stop()


if __name__ == "__main__":
    main()
