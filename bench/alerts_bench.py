"""Alerts benchmark: rule evaluation over a large fleet and webhook delivery
throughput, each beside a baseline measured on the same machine in the same run.

1. Evaluation. A data dir is made by the real server, then filled straight
   through SQLite with `--hosts` hosts of `--schedules-per-host` backup
   schedules each (jobs, outcomes, repository reports, a few hosts offline,
   some schedules overdue or failing, a few alerts already open). The server
   is started again with `--alert-interval-seconds 3` (`--interval`); each
   pass's duration is read from the `rm_alert_evaluation_duration_seconds`
   histogram of `/metrics`, scraped just after a pass ends. The baseline is
   the SQL any evaluator must read — the queries of `fleetFacts()` — run by
   Python's sqlite3 on the same file in the gaps between passes (WAL lets it
   read while the server runs). The first pass opens the alerts and is
   reported on its own; the second only sets the phase of the loop.
2. Delivery. A webhook channel pointing at a threaded HTTP receiver (its own
   process, answers 204, checks signatures, records every X-RM-Delivery), then
   `--events` test events enqueued through the API as fast as it takes them;
   the rate is counted from the first enqueue to the last distinct delivery.
   Then `--backlog` rows written in one transaction with one poke, as a pass
   that opens many alerts writes them, and the time until all arrived.
   The baseline is this process POSTing as many signed bodies of the same
   size to the same receiver from 16 threads (the server's sends in flight).

Medians and ratios are the numbers to watch: these machines are noisy and
only the ratio to a baseline of the same run means much. Run through
`scripts/bench-alerts`, which builds the release server first.
"""
from __future__ import annotations

import argparse
import datetime
import hashlib
import hmac
import json
import multiprocessing
import os
import pathlib
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
import uuid
import zoneinfo
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = pathlib.Path(__file__).resolve().parents[1]
os.environ.setdefault("RM_SERVER_BIN", str(ROOT / ".build" / "release" / "restic-manager-server"))
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

import requests  # noqa: E402

from conftest import Client, start_server, wait_for  # noqa: E402

SECRET = "s"
SENDERS = 16  # NotificationDelivery.batchSize: the server's sends in flight at most
JOBS_PER_SCHEDULE = 3
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo"]
# Shares of the fleet in each unhealthy state; together they open alerts on
# about 5 % of hosts.
OFFLINE_HOSTS = 0.01  # host_offline (and for the long-offline ones backup_missed/backup_stale)
STALE_HOSTS = 0.003  # every backup failing for more than a day: backup_stale + job_failed
PENDING_HOSTS = 0.003  # schedule_pending
LOCKED_HOSTS = 0.002  # repo_locked
CHECK_FAILED_HOSTS = 0.002  # check_failed
OVERDUE_SCHEDULES = 0.01  # backup_missed
FAILING_SCHEDULES = 0.006  # job_failed
PREOPEN_KEPT = 10  # already-open alerts whose condition still holds
PREOPEN_STALE = 10  # already-open alerts whose condition cleared: resolved by the first pass


# MARK: Data


def stored(moment: datetime.datetime) -> str:
    """A UTC time as GRDB stores it: 'YYYY-MM-DD HH:MM:SS.SSS'."""
    moment = moment.astimezone(datetime.timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def latest_run(hours: list[int], minute: int, zone: zoneinfo.ZoneInfo, before: datetime.datetime) -> datetime.datetime:
    """The newest run of cron `minute <hours> * * *` in `zone` at or before `before`."""
    local = before.astimezone(zone).replace(minute=minute, second=0, microsecond=0)
    for _ in range(48):
        if local.hour in hours and local <= before:
            return local.astimezone(datetime.timezone.utc)
        local = (local - datetime.timedelta(hours=1)).replace(minute=minute)
    raise AssertionError("no run in two days")


def populate(db_path: pathlib.Path, hosts: int, schedules_per_host: int, seed: int = 1) -> dict:
    """Fills the store as an agent fleet would have; returns what it made."""
    rng = random.Random(seed)
    now = datetime.datetime.now(datetime.timezone.utc)
    day = datetime.timedelta(days=1)
    counts = {name: 0 for name in ("hosts", "schedules", "jobs", "job_outcomes", "repo_stats", "alerts")}
    made = {"offline": [], "healthy_schedules": []}
    rows = {name: [] for name in counts}
    rows["host_schedule_version"] = []

    for index in range(hosts):
        host_id = str(uuid.uuid4())
        name = f"bench-{index:05d}"
        zone_name = ZONES[index % len(ZONES)]
        zone = zoneinfo.ZoneInfo(zone_name)
        enrolled = now - 90 * day - datetime.timedelta(minutes=rng.randrange(100_000))
        roll = rng.random()
        offline = roll < OFFLINE_HOSTS
        stale = OFFLINE_HOSTS <= roll < OFFLINE_HOSTS + STALE_HOSTS
        # The server marks every host disconnected at start; online hosts were
        # seen moments ago, well inside host_offline's 15 minutes.
        last_seen = now - (datetime.timedelta(minutes=rng.randrange(120, 4320)) if offline
                           else datetime.timedelta(seconds=rng.randrange(5, 30)))
        if offline:
            made["offline"].append(host_id)
        rows["hosts"].append((host_id, name, name, "linux", "amd64", "0.1.0", "0.16.4",
                              uuid.uuid4().hex + uuid.uuid4().hex, stored(enrolled), stored(last_seen),
                              0 if offline else 1, stored(now - 20 * day), zone_name))
        pending = rng.random() < PENDING_HOSTS
        changed = now - (datetime.timedelta(hours=1) if pending else 20 * day)
        rows["host_schedule_version"].append(
            (host_id, schedules_per_host + (1 if pending else 0), schedules_per_host,
             stored(changed - datetime.timedelta(seconds=1)), stored(changed)))

        # What the agent last did happened before it went offline.
        reference = min(now, last_seen)
        for number in range(schedules_per_host):
            schedule_id = str(uuid.uuid4())
            minute = (index * 7 + number * 13) % 60
            if number % 2 == 0:
                hours, period, cron = [0, 6, 12, 18], datetime.timedelta(hours=6), f"{minute} */6 * * *"
            else:
                hours, period, cron = [3], day, f"{minute} 3 * * *"
            created = enrolled + datetime.timedelta(minutes=5 + number)
            rows["schedules"].append((schedule_id, host_id, "backup", cron, json.dumps([f"/srv/data{number}"]),
                                      '["*.tmp"]', "[]", '{"keep_daily":7,"keep_weekly":4}', 1,
                                      stored(created), stored(created), stored(created)))
            last = latest_run(hours, minute, zone, reference)
            kind_roll = rng.random()
            overdue = not offline and not stale and kind_roll < OVERDUE_SCHEDULES
            failing = stale or (not offline and OVERDUE_SCHEDULES <= kind_roll < OVERDUE_SCHEDULES + FAILING_SCHEDULES)
            if overdue:
                last -= 2 * period  # the agent missed its last two runs
            if not (offline or stale or overdue or failing):
                made["healthy_schedules"].append((host_id, schedule_id))
            latest, last_success = None, None
            for run in range(JOBS_PER_SCHEDULE):
                started = last - run * period + datetime.timedelta(seconds=rng.randrange(1, 20))
                finished = min(started + datetime.timedelta(seconds=rng.randrange(30, 900)),
                               reference - datetime.timedelta(seconds=1))
                status = "failed" if (failing and (run == 0 or stale)) else "succeeded"
                job_id = str(uuid.uuid4())
                rows["jobs"].append((job_id, host_id, schedule_id, "backup", "schedule", "[]", status,
                                     stored(started - datetime.timedelta(seconds=2)),
                                     stored(started - datetime.timedelta(seconds=1)),
                                     stored(started - datetime.timedelta(seconds=1)), stored(started), stored(finished),
                                     0 if status == "succeeded" else 1,
                                     '{"files_new":12,"data_added":1048576}' if status == "succeeded" else None,
                                     None if status == "succeeded" else "restic exited with status 1"))
                latest = latest or (job_id, status, finished)
                if status == "succeeded" and last_success is None:
                    last_success = finished
            if stale:
                # The last good backup, well over backup_stale's 26 hours ago.
                success_at = now - datetime.timedelta(hours=30 + rng.randrange(48))
                job_id = str(uuid.uuid4())
                rows["jobs"].append((job_id, host_id, schedule_id, "backup", "schedule", "[]", "succeeded",
                                     stored(success_at), stored(success_at), stored(success_at), stored(success_at),
                                     stored(success_at), 0, None, None))
                last_success = success_at
            rows["job_outcomes"].append((host_id, schedule_id, "backup", schedule_id, latest[0], latest[1],
                                         stored(latest[2]), stored(last_success) if last_success else None))

        check_status = "failed" if rng.random() < CHECK_FAILED_HOSTS else "ok"
        size = rng.randrange(1 << 30, 1 << 38)
        if rng.random() < LOCKED_HOSTS:
            # Unlocked, then locked for eight hours: past repo_locked's six.
            reports = [(reference - datetime.timedelta(hours=10), "unlocked"),
                       (reference - datetime.timedelta(hours=8), "locked"),
                       (reference - datetime.timedelta(minutes=30), "locked")]
        else:
            reports = [(reference - datetime.timedelta(minutes=rng.randrange(1, 60)), "unlocked")]
        for reported, lock_state in reports:
            rows["repo_stats"].append((host_id, stored(reported), size, rng.randrange(10, 400),
                                       round(rng.uniform(1.1, 4.0), 2), stored(reference - 3 * day), check_status,
                                       lock_state))

    # A few alerts already open: some still hold (kept), some no longer (resolved).
    for host_id in made["offline"][:PREOPEN_KEPT]:
        rows["alerts"].append((str(uuid.uuid4()), "host_offline", host_id, "", None, None, "warning",
                               "bench-host has been offline; check that the machine is up.", stored(now - day)))
    for host_id, schedule_id in made["healthy_schedules"][:PREOPEN_STALE]:
        rows["alerts"].append((str(uuid.uuid4()), "job_failed", host_id, schedule_id, schedule_id, None, "warning",
                               "The last run of a backup schedule failed; open the job's log to see why.",
                               stored(now - 2 * day)))

    statements = {
        "hosts": "INSERT INTO hosts (id, name, hostname, os, arch, agent_version, restic_version, agent_token_hash, "
                 "enrolled_at, last_seen_at, connected, boot_time, timezone) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        "host_schedule_version": "INSERT INTO host_schedule_version (host_id, desired_version, acked_version, "
                                 "acked_at, desired_at) VALUES (?,?,?,?,?)",
        "schedules": "INSERT INTO schedules (id, host_id, kind, cron_expr, paths, excludes, tags, retention_policy, "
                     "enabled, created_at, updated_at, runs_expected_since) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        "jobs": "INSERT INTO jobs (id, host_id, schedule_id, kind, trigger, args, status, queued_at, dispatched_at, "
                "accepted_at, started_at, finished_at, exit_code, stats, error) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        "job_outcomes": "INSERT INTO job_outcomes (host_id, subject, kind, schedule_id, job_id, status, finished_at, "
                        "last_success_at) VALUES (?,?,?,?,?,?,?,?)",
        "repo_stats": "INSERT INTO repo_stats (host_id, reported_at, size_bytes, snapshot_count, dedup_ratio, "
                      "last_check_at, last_check_status, lock_state) VALUES (?,?,?,?,?,?,?,?)",
        "alerts": "INSERT INTO alerts (id, rule, host_id, subject, schedule_id, job_id, severity, state, message, "
                  "opened_at, last_notified_at) VALUES (?,?,?,?,?,?,?,'open',?,?,?)",
    }
    rows["alerts"] = [row + (row[-1],) for row in rows["alerts"]]
    connection = sqlite3.connect(db_path, isolation_level=None)
    try:
        connection.execute("PRAGMA foreign_keys = ON")
        connection.execute("BEGIN")
        for table, sql in statements.items():
            connection.executemany(sql, rows[table])
        connection.execute("COMMIT")
        connection.execute("ANALYZE")
    finally:
        connection.close()
    return {table: len(rows[table]) for table in statements}


# MARK: Evaluation


def fleet_facts_sql(connection: sqlite3.Connection) -> int:
    """The reads of `AppDatabase.fleetFacts()` (and the rules' settings), in
    one read transaction, every row fetched; returns the rows read."""
    total = 0
    connection.execute("BEGIN")
    try:
        total += len(connection.execute("SELECT * FROM alert_rules").fetchall())
        total += len(connection.execute("SELECT DISTINCT host_id FROM jobs WHERE status = 'running'").fetchall())
        reports = connection.execute(
            """SELECT r.* FROM hosts h
               JOIN repo_stats r ON r.id = (SELECT id FROM repo_stats WHERE host_id = h.id ORDER BY id DESC LIMIT 1)
               WHERE h.revoked_at IS NULL""").fetchall()
        total += len(reports)
        for report in reports:
            if report[-1] == "locked":
                connection.execute(
                    """SELECT MIN(reported_at) FROM repo_stats WHERE host_id = ? AND id > COALESCE(
                           (SELECT MAX(id) FROM repo_stats WHERE host_id = ? AND lock_state != 'locked'), 0)""",
                    (report[1], report[1])).fetchone()
        total += len(connection.execute(
            """SELECT h.id, h.name, h.connected, h.last_seen_at, h.enrolled_at, h.timezone,
                   COALESCE(v.desired_version, 0) AS desired, COALESCE(v.acked_version, 0) AS acked, v.desired_at
               FROM hosts h LEFT JOIN host_schedule_version v ON v.host_id = h.id
               WHERE h.revoked_at IS NULL""").fetchall())
        total += len(connection.execute(
            """SELECT s.id, s.host_id, s.kind, s.cron_expr, COALESCE(s.runs_expected_since, s.created_at) AS since,
                   (SELECT MAX(started_at) FROM jobs j WHERE j.schedule_id = s.id) AS last_started
               FROM schedules s JOIN hosts h ON h.id = s.host_id
               WHERE s.enabled = 1 AND h.revoked_at IS NULL""").fetchall())
        total += len(connection.execute(
            """SELECT o.* FROM job_outcomes o LEFT JOIN schedules s ON s.id = o.schedule_id
               WHERE o.schedule_id IS NULL OR s.enabled = 1""").fetchall())
        total += len(connection.execute("SELECT * FROM alerts WHERE state = 'open'").fetchall())
    finally:
        connection.execute("COMMIT")
    return total


def scrape(server) -> str:
    response = requests.get(server.url("/metrics"), timeout=30)
    assert response.status_code == 200, f"/metrics: {response.status_code} {response.text[:200]}"
    return response.text


def sample(text: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)}(?:\{{[^}}]*\}})? ([0-9.eE+-]+)$", text, re.MULTILINE)
    assert match, f"{name} is not in /metrics"
    return float(match.group(1))


def evaluation_state(server) -> tuple[int, float]:
    text = scrape(server)
    return (int(sample(text, "rm_alert_evaluation_duration_seconds_count")),
            sample(text, "rm_alert_evaluation_duration_seconds_sum"))


def bench_evaluation(temp: pathlib.Path, args) -> dict:
    print(f"evaluation: making a data dir with {args.hosts} hosts x {args.schedules_per_host} backup schedules ...",
          file=sys.stderr)
    data_dir = temp / "eval-data"
    first = start_server(temp, data_dir=data_dir)
    password = first.admin_password
    assert first.stop() == 0, "the first server did not stop cleanly"
    db_path = data_dir / "restic-manager.sqlite"
    started = time.perf_counter()
    populated_at = stored(datetime.datetime.now(datetime.timezone.utc))
    made = populate(db_path, args.hosts, args.schedules_per_host)
    populate_seconds = time.perf_counter() - started
    print(f"evaluation: populated in {populate_seconds:.1f} s: "
          + ", ".join(f"{count} {table}" for table, count in made.items()), file=sys.stderr)

    server = start_server(temp, "--alert-interval-seconds", str(args.interval), "--public-metrics",
                          "--log-level", "notice", data_dir=data_dir)
    try:
        assert password  # the data dir is ours; nothing signs in during this part
        reader = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, isolation_level=None)
        # The first pass runs at start, before anything else: it opens the alerts.
        count, total = wait_for(lambda: (state := evaluation_state(server))[0] >= 1 and state, timeout=120,
                                interval=0.1, message="the first evaluation")
        assert count == 1, f"{count} evaluations before the first scrape: is the pass shorter than the scrape?"
        first_pass = total
        opened = reader.execute("SELECT COUNT(*) FROM alerts WHERE state = 'open'").fetchone()[0]
        kept = reader.execute("SELECT COUNT(*) FROM alerts WHERE state = 'open' AND opened_at < ?",
                              (populated_at,)).fetchone()[0]
        resolved = reader.execute("SELECT COUNT(*) FROM alerts WHERE state = 'resolved'").fetchone()[0]
        by_rule = dict(reader.execute(
            "SELECT rule, COUNT(*) FROM alerts WHERE state = 'open' GROUP BY rule").fetchall())
        alerted_hosts = reader.execute("SELECT COUNT(DISTINCT host_id) FROM alerts WHERE state = 'open'").fetchone()[0]
        rows = fleet_facts_sql(reader)  # warms the reader's page cache like the server's
        # Those reads may have overlapped the second pass: it is not timed,
        # it only sets the phase of the loop below.
        count, total = wait_for(lambda: (state := evaluation_state(server))[0] >= 2 and state, timeout=60,
                                interval=0.05, message="the second evaluation")
        detected = time.monotonic()
        last_count, last_sum, last_pass = count, total, (total - first_pass) / (count - 1)

        # Alternate: right after a pass ends, baseline rounds while they fit
        # before the next pass starts; then one scrape just after the next
        # pass should have ended (a scrape of 10,000 hosts' metrics is not
        # free: it must not run during a pass either).
        interval = args.interval
        passes, baseline = [], []
        while len(passes) < args.passes:
            next_start = detected + interval - last_pass
            for _ in range(3):
                round_time = statistics.median(baseline) if baseline else 0.0
                if time.monotonic() + round_time + 0.1 > next_start:
                    break
                start = time.perf_counter()
                rows = fleet_facts_sql(reader)
                baseline.append(time.perf_counter() - start)
            time.sleep(max(0.0, detected + interval - 0.05 - time.monotonic()))
            while True:
                scraped = time.monotonic()
                count, total = evaluation_state(server)
                if count > last_count:
                    break
                assert scraped - detected < 60, "no evaluation for a minute"
                time.sleep(0.05)
            detected = scraped
            last_pass = (total - last_sum) / (count - last_count)
            passes.append(last_pass)
            last_count, last_sum = count, total
        if len(baseline) < 3:
            print(f"warning: only {len(baseline)} baseline rounds fitted between passes; raise --interval",
                  file=sys.stderr)
            while len(baseline) < 3:
                start = time.perf_counter()
                rows = fleet_facts_sql(reader)
                baseline.append(time.perf_counter() - start)
        reader.close()
        log = server.log_text()
        assert "alert evaluation failed" not in log, log[-2000:]
    finally:
        server.stop()
    return {"first_pass": first_pass, "opened": opened - kept, "kept": kept, "resolved": resolved,
            "by_rule": by_rule, "alerted_hosts": alerted_hosts, "passes": passes, "baseline": baseline, "rows": rows,
            "made": made,
            "populate_seconds": populate_seconds}


# MARK: Delivery


class Receiver(BaseHTTPRequestHandler):
    """Answers 204 to every POST; records X-RM-Delivery ids per path."""

    protocol_version = "HTTP/1.1"  # keep-alive, like any real receiver
    state: dict = {}
    lock = threading.Lock()

    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        good = hmac.compare_digest(expected, self.headers.get("X-RM-Signature", ""))
        delivery = self.headers.get("X-RM-Delivery", "")
        at = time.monotonic()
        with self.lock:
            record = self.state.setdefault(self.path, {"arrivals": {}, "bad_signatures": 0, "sizes": []})
            record["arrivals"].setdefault(delivery, []).append(at)
            if len(record["sizes"]) < 5:
                record["sizes"].append(len(body))
            record["bad_signatures"] += 0 if good else 1
        self.send_response(204)
        self.end_headers()

    def do_GET(self):  # noqa: N802
        with self.lock:
            record = self.state.get(self.path, {"arrivals": {}, "bad_signatures": 0, "sizes": []})
            if self.headers.get("X-Count-Only"):
                record = {"distinct": len(record["arrivals"])}
            body = json.dumps(record).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def run_receiver(port_queue) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    server.daemon_threads = True
    port_queue.put(server.server_address[1])
    server.serve_forever()


def baseline_sends(receiver: str, events: int, body_size: int) -> tuple[float, list[str]]:
    """POSTs `events` signed test bodies of the server's size from SENDERS
    threads; returns the seconds it took and the ids sent."""
    ids = [str(uuid.uuid4()) for _ in range(events)]
    local = threading.local()

    def send(delivery: str) -> None:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        sent_at = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = json.dumps({"alert": None, "delivery_id": delivery, "event": "test", "sent_at": sent_at},
                          separators=(",", ":"), sort_keys=True).encode()
        body += b" " * max(0, body_size - len(body))
        signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        response = session.post(receiver, data=body, timeout=30, headers={
            "Content-Type": "application/json", "X-RM-Event": "test", "X-RM-Delivery": delivery,
            "X-RM-Signature": signature})
        assert response.status_code == 204, response.status_code

    start = time.monotonic()
    with ThreadPoolExecutor(SENDERS) as pool:
        list(pool.map(send, ids))
    return time.monotonic() - start, ids


def distinct(receiver: str) -> int:
    return requests.get(receiver, headers={"X-Count-Only": "1"}, timeout=10).json()["distinct"]


def arrivals(receiver: str) -> dict:
    return requests.get(receiver, timeout=30).json()


def check_once(name: str, expected: list[str], record: dict) -> dict:
    seen = record["arrivals"]
    duplicates = {delivery: len(times) for delivery, times in seen.items() if len(times) > 1}
    missing = [delivery for delivery in expected if delivery not in seen]
    wanted = set(expected)
    unexpected = [delivery for delivery in seen if delivery not in wanted]
    return {"name": name, "duplicates": duplicates, "missing": missing, "unexpected": unexpected,
            "bad_signatures": record["bad_signatures"]}


def bench_delivery(temp: pathlib.Path, args) -> dict:
    print(f"delivery: {args.events} test events through a webhook channel ...", file=sys.stderr)
    ports = multiprocessing.get_context("fork").Queue()
    receiver_process = multiprocessing.get_context("fork").Process(target=run_receiver, args=(ports,), daemon=True)
    receiver_process.start()
    server = None
    try:
        base = f"http://127.0.0.1:{ports.get(timeout=10)}"
        server = start_server(temp, "--log-level", "notice", data_dir=temp / "delivery-data")
        admin = Client(server, "admin", server.admin_password)
        created = admin.post("/api/v1/notification-channels", json={
            "name": "bench", "kind": "webhook", "config": {"url": base + "/hook", "secret": SECRET}})
        assert created.status_code == 201, created.text
        channel = created.json()["id"]
        # One test first so that the connection to the receiver is open and
        # every code path warm; it is not counted.
        warm = admin.post(f"/api/v1/notification-channels/{channel}/test")
        assert warm.status_code == 202, warm.text
        wait_for(lambda: distinct(base + "/hook") >= 1, timeout=30, message="the warm-up delivery")
        warm_id = warm.json()["delivery_id"]

        # Enqueue from a few threads, as fast as the API takes them.
        local = threading.local()

        def enqueue(_: int) -> str:
            session = getattr(local, "session", None)
            if session is None:
                session = local.session = requests.Session()
                session.cookies.update(admin.session.cookies)
                session.headers.update(admin.session.headers)
            response = session.post(server.url(f"/api/v1/notification-channels/{channel}/test"), timeout=30)
            assert response.status_code == 202, response.text
            return response.json()["delivery_id"]

        start = time.monotonic()
        with ThreadPoolExecutor(args.enqueuers) as pool:
            ids = list(pool.map(enqueue, range(args.events)))
        enqueued = time.monotonic() - start
        wait_for(lambda: distinct(base + "/hook") >= args.events + 1, timeout=args.delivery_timeout, interval=0.1,
                 message=f"{args.events} deliveries (a stall here is the finding)")
        time.sleep(1.5)  # a second attempt of any id would show up within the next tick
        served = arrivals(base + "/hook")
        served["arrivals"].pop(warm_id, None)
        firsts = sorted(min(times) for times in served["arrivals"].values())
        delivered = firsts[min(args.events, len(firsts)) - 1] - start
        half = firsts[args.events // 2 - 1] - start
        body_size = round(statistics.mean(served["sizes"]))

        # A backlog: rows written in one transaction with one poke, as an
        # evaluation pass that opens or resolves many alerts writes them (or
        # as retries fall due after a receiver outage). The rows are what
        # enqueueTest writes, sent to a second path of the same receiver.
        backlog_channel = admin.post("/api/v1/notification-channels", json={
            "name": "backlog", "kind": "webhook", "config": {"url": base + "/backlog", "secret": SECRET}})
        assert backlog_channel.status_code == 201, backlog_channel.text
        backlog_channel = backlog_channel.json()["id"]
        backlog_ids = [str(uuid.uuid4()) for _ in range(args.backlog)]
        writer = sqlite3.connect(server.data_dir / "restic-manager.sqlite", isolation_level=None, timeout=30)
        now = stored(datetime.datetime.now(datetime.timezone.utc))
        writer.execute("BEGIN IMMEDIATE")
        writer.executemany(
            "INSERT INTO notifications (id, target, channel_id, event, payload, status, attempts, next_attempt_at, "
            "created_at) VALUES (?, 'channel', ?, 'test', 'null', 'pending', 0, ?, ?)",
            [(delivery, backlog_channel, now, now) for delivery in backlog_ids])
        writer.execute("COMMIT")
        writer.close()
        backlog_start = time.monotonic()
        poke = admin.post(f"/api/v1/notification-channels/{backlog_channel}/test")  # the pass's one poke
        assert poke.status_code == 202, poke.text
        backlog_ids.append(poke.json()["delivery_id"])
        wait_for(lambda: distinct(base + "/backlog") >= len(backlog_ids), timeout=args.delivery_timeout, interval=0.1,
                 message=f"{len(backlog_ids)} backlog deliveries")
        time.sleep(1.5)
        drained = arrivals(base + "/backlog")
        backlog_seconds = max(min(times) for times in drained["arrivals"].values()) - backlog_start

        baseline_seconds, baseline_ids = baseline_sends(base + "/base", args.events, body_size)
        sent = arrivals(base + "/base")
        return {"enqueue": enqueued, "delivered": delivered, "half": half, "baseline": baseline_seconds,
                "body_size": body_size, "backlog": len(backlog_ids), "backlog_seconds": backlog_seconds,
                "checks": [check_once("API burst", ids, served), check_once("backlog", backlog_ids, drained),
                           check_once("baseline", baseline_ids, sent)]}
    finally:
        if server:
            server.stop()
        receiver_process.terminate()
        receiver_process.join(5)


# MARK: Report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=10_000, help="hosts in the fleet (default 10000)")
    parser.add_argument("--schedules-per-host", type=int, default=2, help="backup schedules per host (default 2)")
    parser.add_argument("--passes", type=int, default=15, help="evaluation passes timed after the first (default 15)")
    parser.add_argument("--interval", type=int, default=3,
                        help="--alert-interval-seconds of the server (default 3: a pass over 10,000 hosts takes "
                             "about a second, more on a busy machine, and the baseline rounds and the scrapes "
                             "must fit between passes)")
    parser.add_argument("--events", type=int, default=2000, help="test events to deliver (default 2000)")
    parser.add_argument("--backlog", type=int, default=500,
                        help="notifications written in one transaction, then drained (default 500)")
    parser.add_argument("--enqueuers", type=int, default=4, help="threads enqueueing test events (default 4)")
    parser.add_argument("--delivery-timeout", type=float, default=120, help="seconds to wait for all deliveries")
    parser.add_argument("--skip-evaluation", action="store_true")
    parser.add_argument("--skip-delivery", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="rm-alerts-bench-") as temp_name:
        temp = pathlib.Path(temp_name)
        evaluation = None if args.skip_evaluation else bench_evaluation(temp, args)
        delivery = None if args.skip_delivery else bench_delivery(temp, args)

    def line(label: str, value: str) -> None:
        print(f"  {label:<54}{value}")

    if evaluation:
        made, timed = evaluation["made"], evaluation["passes"]
        passes, baseline = statistics.median(timed), statistics.median(evaluation["baseline"])
        rules = ", ".join(f"{rule} {count}" for rule, count in sorted(evaluation["by_rule"].items()))
        share = evaluation["alerted_hosts"] / made["hosts"]
        print(f"alert evaluation: {made['hosts']} hosts, {made['schedules']} backup schedules, {made['jobs']} jobs, "
              f"{made['job_outcomes']} outcomes, {made['repo_stats']} repo reports")
        line(f"first pass: opens {evaluation['opened']} alerts, resolves {evaluation['resolved']}, "
             f"keeps {evaluation['kept']}", f"{evaluation['first_pass'] * 1000:8.1f} ms")
        print(f"    open on {evaluation['alerted_hosts']} hosts ({share:.1%}): {rules}")
        line(f"evaluation pass, nothing changes (median of {len(timed)})",
             f"{passes * 1000:8.1f} ms   (min {min(timed) * 1000:.1f}, max {max(timed) * 1000:.1f})")
        line(f"baseline: fleetFacts() SQL in sqlite3 (median of {len(evaluation['baseline'])})",
             f"{baseline * 1000:8.1f} ms   ({evaluation['rows']} rows)")
        line("ratio", f"{passes / baseline:8.2f}x")
    if delivery:
        events = args.events
        rate, base_rate = events / delivery["delivered"], events / delivery["baseline"]
        backlog_rate = delivery["backlog"] / delivery["backlog_seconds"]
        print(f"webhook delivery: {delivery['body_size']}-byte test events to a threaded receiver on 127.0.0.1 (204)")
        line(f"{events} enqueued through the API ({args.enqueuers} threads)",
             f"{events / delivery['enqueue']:8.0f} /s   ({delivery['enqueue']:.2f} s)")
        line(f"{events} delivered, first enqueue to last arrival",
             f"{rate:8.0f} /s   ({delivery['delivered']:.2f} s; half by {delivery['half']:.2f} s)")
        line(f"{delivery['backlog']} written in one transaction, drained",
             f"{backlog_rate:8.0f} /s   ({delivery['backlog_seconds']:.2f} s)")
        line(f"baseline: {events} POSTed directly from {SENDERS} threads",
             f"{base_rate:8.0f} /s   ({delivery['baseline']:.2f} s)")
        line("ratio, API burst", f"{rate / base_rate:8.2f}x")
        line("ratio, backlog", f"{backlog_rate / base_rate:8.2f}x")
        for check in delivery["checks"]:
            problems = []
            if check["duplicates"]:
                problems.append(f"{len(check['duplicates'])} duplicated: "
                                + ", ".join(f"{d} x{n}" for d, n in list(check["duplicates"].items())[:10]))
            if check["missing"]:
                problems.append(f"{len(check['missing'])} missing: {', '.join(check['missing'][:10])}")
            if check["unexpected"]:
                problems.append(f"{len(check['unexpected'])} unexpected ids")
            if check["bad_signatures"]:
                problems.append(f"{check['bad_signatures']} bad signatures")
            verdict = "yes" if not problems else "NO; " + "; ".join(problems)
            print(f"  {check['name']:9}  every delivery id arrived exactly once: {verdict}")

if __name__ == "__main__":
    main()
