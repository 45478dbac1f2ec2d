"""The seven alert rules end to end (SPEC §9.1, docs/alerts.md "Rules").

Each rule opens and resolves against the real server, driven by a raw
protocol-v1 agent and the API; thresholds are set through
`PUT /api/v1/alert-rules/{rule}` (fractional minutes) and, where real time
would take minutes or hours, the past is written into SQLite. One test
(`backup_missed`) runs on real time alone: a `* * * * *` schedule on a host
whose agent is not running is caught at its first missed run.

Also here: the alert JSON shape, one open alert per (rule, host, subject),
a new alert (new id) after a resolve, the host's `open_alerts`, and that
deleting a host or disabling a rule resolves its alerts.
"""
import datetime

from api_support import create_schedule, db_execute, parse_time
from conftest import Agent, enroll_host, now_rfc3339, wait_for
from notify_support import (assert_alert, assert_stays, dispatch_and_start, find_alerts, finish, get_alert,
                            open_alert_count, repo_stats, run_to_end, set_rule, sqlite_time,
                            start_scheduled, utcnow, wait_alert, wait_resolved, webhook)
from notify_support import receiver, server  # noqa: F401 (fixtures)

# The server and the tests share one clock; its times are kept to the millisecond.
CLOCK_SLACK = datetime.timedelta(milliseconds=50)


def test_backup_missed_on_real_time_a_dead_agent_is_caught_at_the_first_missed_run(server, admin):
    host = enroll_host(admin, "quiet-host")  # enrolled, but its agent never runs
    set_rule(admin, "backup_missed", threshold_minutes=0.02)  # 1.2 s
    # Create it well inside a minute, so that its first expected run is known exactly.
    wait_for(lambda: utcnow().second < 57, timeout=5, interval=0.05, message="not the last seconds of a minute")
    before = utcnow()
    schedule = create_schedule(admin, host.host_id, cron_expr="* * * * *")
    assert utcnow().minute == before.minute
    due = (before + datetime.timedelta(minutes=1)).replace(second=0, microsecond=0)

    alert = wait_alert(admin, "backup_missed", host.host_id, timeout=80)
    assert_alert(alert, "backup_missed", host.host_id, schedule_id=schedule["id"], host_name="quiet-host")
    opened = parse_time(alert["opened_at"])
    # Not before the run was due plus the threshold, and at the first evaluation after it.
    assert due + datetime.timedelta(seconds=1.2) - CLOCK_SLACK <= opened <= due + datetime.timedelta(seconds=10), \
        (due, alert)
    assert "* * * * *" in alert["message"], alert["message"]
    assert due.strftime("%Y-%m-%dT%H:%M:%SZ") in alert["message"], alert["message"]
    assert open_alert_count(admin, host.host_id) == 1

    # The agent comes back and cron starts the schedule: that resolves it.
    agent = Agent(server, host.agent_token)
    job_id = start_scheduled(agent, schedule["id"])
    resolved = wait_resolved(admin, alert["id"])
    assert_alert(resolved, "backup_missed", host.host_id, state="resolved", schedule_id=schedule["id"])
    assert parse_time(resolved["resolved_at"]) >= opened
    assert admin.get(f"/api/v1/jobs/{job_id}").json()["schedule_id"] == schedule["id"]


def test_backup_missed_is_one_alert_per_backup_schedule_and_a_run_of_that_schedule_resolves_it(server, admin):
    host = enroll_host(admin, "late-host")
    first = create_schedule(admin, host.host_id, cron_expr="*/10 * * * *")
    second = create_schedule(admin, host.host_id, cron_expr="*/10 * * * *", paths=["/srv"])
    disabled = create_schedule(admin, host.host_id, cron_expr="*/10 * * * *", enabled=False)
    check = create_schedule(admin, host.host_id, kind="check", cron_expr="*/10 * * * *", paths=[])
    fresh = create_schedule(admin, host.host_id, cron_expr="*/10 * * * *", paths=["/opt"])
    # Two hours of runs (twelve each) were expected and none started; the default threshold is 60 min.
    since = sqlite_time(utcnow() - datetime.timedelta(hours=2))
    for schedule in (first, second, disabled, check):
        assert db_execute(server, "UPDATE schedules SET created_at = ?, runs_expected_since = ? WHERE id = ?",
                          (since, since, schedule["id"])) == 1

    def missed():
        return {a["schedule_id"]: a for a in find_alerts(admin, "backup_missed", host.host_id)}

    alerts = wait_for(lambda: (found if len(found := missed()) >= 2 else None), timeout=15, interval=0.1,
                      message="two backup_missed alerts")
    assert set(alerts) == {first["id"], second["id"]}, alerts
    for schedule_id, alert in alerts.items():
        assert_alert(alert, "backup_missed", host.host_id, schedule_id=schedule_id, host_name="late-host")
    # Twelve missed runs are one alert per schedule, over several evaluations; a disabled
    # schedule, a check schedule and a schedule created just now have none.
    ids = {alert["id"] for alert in alerts.values()}
    assert_stays(lambda: {a["id"] for a in find_alerts(admin, "backup_missed", host.host_id, state=None)} == ids,
                 seconds=3, message="exactly the two alerts")
    assert fresh["id"] not in missed()
    assert open_alert_count(admin, host.host_id) == 2

    # Run now of the first schedule: a job of that schedule starts, its alert resolves.
    agent = Agent(server, host.agent_token)
    dispatch_and_start(admin, agent, host.host_id, schedule_id=first["id"])
    assert_alert(wait_resolved(admin, alerts[first["id"]]["id"]), "backup_missed", host.host_id, state="resolved",
                 schedule_id=first["id"])
    assert get_alert(admin, alerts[second["id"]]["id"])["state"] == "open"
    assert open_alert_count(admin, host.host_id) == 1


def test_backup_stale_counts_from_enrollment_and_only_a_succeeded_backup_resolves_it(server, admin):
    host = enroll_host(admin, "stale-host")
    idle = enroll_host(admin, "no-schedule-host")  # no backup schedule: never stale
    create_schedule(admin, host.host_id)
    agent = Agent(server, host.agent_token)
    two_days_ago = sqlite_time(utcnow() - datetime.timedelta(days=2))  # default threshold: 26 h
    assert db_execute(server, "UPDATE hosts SET enrolled_at = ? WHERE id IN (?, ?)",
                      (two_days_ago, host.host_id, idle.host_id)) == 2

    alert = wait_alert(admin, "backup_stale", host.host_id)
    assert_alert(alert, "backup_stale", host.host_id, host_name="stale-host")

    # A failed backup does not resolve it (job_failed opening shows the rules ran after it).
    failed = run_to_end(admin, agent, host.host_id, status="failed")
    wait_alert(admin, "job_failed", host.host_id, job_id=failed)
    assert get_alert(admin, alert["id"])["state"] == "open"
    assert find_alerts(admin, "backup_stale", idle.host_id, state=None) == []

    run_to_end(admin, agent, host.host_id)
    assert_alert(wait_resolved(admin, alert["id"]), "backup_stale", host.host_id, state="resolved")


def test_job_failed_per_schedule_stays_one_alert_until_that_schedule_succeeds(server, admin):
    host = enroll_host(admin, "failing-host")
    agent = Agent(server, host.agent_token)
    nightly = create_schedule(admin, host.host_id)
    weekly = create_schedule(admin, host.host_id, cron_expr="0 4 * * 0", paths=["/srv"])

    first = run_to_end(admin, agent, host.host_id, schedule_id=nightly["id"], status="failed", error="disk full")
    alert = wait_alert(admin, "job_failed", host.host_id, schedule_id=nightly["id"])
    assert_alert(alert, "job_failed", host.host_id, schedule_id=nightly["id"], job_id=first, host_name="failing-host")

    # Another failure of the same schedule is the same alert; the other schedule gets its own.
    second = run_to_end(admin, agent, host.host_id, schedule_id=nightly["id"], status="failed")
    weekly_failure = run_to_end(admin, agent, host.host_id, schedule_id=weekly["id"], status="failed")
    weekly_alert = wait_alert(admin, "job_failed", host.host_id, schedule_id=weekly["id"])
    assert weekly_alert["job_id"] == weekly_failure
    assert [a["id"] for a in find_alerts(admin, "job_failed", host.host_id, schedule_id=nightly["id"])] == \
        [alert["id"]]
    assert open_alert_count(admin, host.host_id) == 2

    # A success of the other schedule resolves only the other schedule's alert.
    run_to_end(admin, agent, host.host_id, schedule_id=weekly["id"])
    wait_resolved(admin, weekly_alert["id"])
    assert get_alert(admin, alert["id"])["state"] == "open"

    run_to_end(admin, agent, host.host_id, schedule_id=nightly["id"])
    resolved = wait_resolved(admin, alert["id"])
    assert resolved["job_id"] in (first, second), resolved  # the failure it was opened for, or the latest one
    assert_alert(resolved, "job_failed", host.host_id, state="resolved", schedule_id=nightly["id"],
                 job_id=resolved["job_id"])
    assert open_alert_count(admin, host.host_id) == 0

    # Failing again is a new alert with a new id.
    again = run_to_end(admin, agent, host.host_id, schedule_id=nightly["id"], status="failed")
    reopened = wait_alert(admin, "job_failed", host.host_id, schedule_id=nightly["id"])
    assert reopened["id"] != alert["id"] and reopened["job_id"] == again


def test_job_failed_per_kind_without_a_schedule_and_the_hosts_open_alerts(server, admin):
    host = enroll_host(admin, "adhoc-host")
    agent = Agent(server, host.agent_token)

    backup = run_to_end(admin, agent, host.host_id, status="failed")
    prune = run_to_end(admin, agent, host.host_id, kind="prune", status="failed")
    # A job the agent refuses fails too.
    response = admin.post(f"/api/v1/hosts/{host.host_id}/jobs", json={"kind": "unlock"})
    assert response.status_code == 201, response.text
    unlock = response.json()["id"]
    assert agent.expect("command.run")["payload"]["job_id"] == unlock
    agent.send_acked("command.result", {"job_id": unlock, "accepted": False, "error": "restic not found"})

    by_job = {}
    for job_id in (backup, prune, unlock):
        by_job[job_id] = wait_alert(admin, "job_failed", host.host_id, job_id=job_id)
        assert_alert(by_job[job_id], "job_failed", host.host_id, job_id=job_id, host_name="adhoc-host")
    assert open_alert_count(admin, host.host_id) == 3

    # A cancelled backup is an operator's decision, a failed check is check_failed's: no job_failed for either.
    cancelled = dispatch_and_start(admin, agent, host.host_id)
    finish(agent, cancelled, "cancelled")
    check = run_to_end(admin, agent, host.host_id, kind="check", status="failed")
    wait_alert(admin, "check_failed", host.host_id, job_id=check)
    assert {a["id"] for a in find_alerts(admin, "job_failed", host.host_id, state=None)} == \
        {a["id"] for a in by_job.values()}
    assert get_alert(admin, by_job[backup]["id"])["state"] == "open"  # the cancel resolved nothing
    assert open_alert_count(admin, host.host_id) == 4

    # The next succeeded job of a kind resolves that kind's alert only.
    run_to_end(admin, agent, host.host_id)
    wait_resolved(admin, by_job[backup]["id"])
    assert get_alert(admin, by_job[prune]["id"])["state"] == "open"
    assert open_alert_count(admin, host.host_id) == 3
    run_to_end(admin, agent, host.host_id, kind="prune")
    wait_resolved(admin, by_job[prune]["id"])
    assert get_alert(admin, by_job[unlock]["id"])["state"] == "open"
    assert open_alert_count(admin, host.host_id) == 2


def test_host_offline_opens_after_the_threshold_and_reconnecting_resolves_it(server, admin):
    host = enroll_host(admin, "flaky-host")
    agent = Agent(server, host.agent_token)
    wait_for(lambda: admin.get(f"/api/v1/hosts/{host.host_id}").json()["status"] == "online", message="online")
    set_rule(admin, "host_offline", threshold_minutes=0.02)
    assert find_alerts(admin, "host_offline", host.host_id, state=None) == []

    closed = utcnow()
    repo_stats(agent)  # the last word from the host, just before it goes
    agent.close()
    alert = wait_alert(admin, "host_offline", host.host_id)
    assert_alert(alert, "host_offline", host.host_id, host_name="flaky-host")
    assert parse_time(alert["opened_at"]) >= closed + datetime.timedelta(seconds=1.2) - CLOCK_SLACK, alert
    assert open_alert_count(admin, host.host_id) == 1

    Agent(server, host.agent_token)
    assert_alert(wait_resolved(admin, alert["id"]), "host_offline", host.host_id, state="resolved")
    assert open_alert_count(admin, host.host_id) == 0


def test_check_failed_follows_the_newest_check_outcome_of_jobs_and_reports(server, admin):
    host = enroll_host(admin, "checked-host")
    agent = Agent(server, host.agent_token)

    # A failed check job opens it (and is not job_failed); a succeeded one resolves it.
    failed = run_to_end(admin, agent, host.host_id, kind="check", status="failed", error="pack 3f2a is damaged")
    by_job = wait_alert(admin, "check_failed", host.host_id)
    assert_alert(by_job, "check_failed", host.host_id, job_id=failed, host_name="checked-host")
    assert find_alerts(admin, "job_failed", host.host_id, state=None) == []
    run_to_end(admin, agent, host.host_id, kind="check")
    wait_resolved(admin, by_job["id"])

    # A repository report that says the last check failed opens it; a newer "ok" report resolves it.
    repo_stats(agent, last_check_status="failed")
    by_report = wait_alert(admin, "check_failed", host.host_id, exclude={by_job["id"]})
    assert_alert(by_report, "check_failed", host.host_id, host_name="checked-host")
    repo_stats(agent, last_check_status="ok")
    wait_resolved(admin, by_report["id"])

    # And a check job that succeeds after a failed report resolves that one too.
    repo_stats(agent, last_check_status="failed")
    third = wait_alert(admin, "check_failed", host.host_id, exclude={by_job["id"], by_report["id"]})
    run_to_end(admin, agent, host.host_id, kind="check")
    wait_resolved(admin, third["id"])
    assert open_alert_count(admin, host.host_id) == 0


def test_schedule_pending_opens_while_the_agent_does_not_ack_and_its_ack_resolves_it(server, admin):
    host = enroll_host(admin, "pending-host")
    agent = Agent(server, host.agent_token)
    agent.send_acked("schedule.ack", {"version": agent.schedules["payload"]["version"], "applied_at": now_rfc3339()})
    set_rule(admin, "schedule_pending", threshold_minutes=0.02)

    create_schedule(admin, host.host_id)
    pushed = agent.expect("schedule.set")["payload"]["version"]
    alert = wait_alert(admin, "schedule_pending", host.host_id)
    assert_alert(alert, "schedule_pending", host.host_id, host_name="pending-host")
    assert admin.get(f"/api/v1/hosts/{host.host_id}").json()["schedule_sync"] == "pending"

    agent.send_acked("schedule.ack", {"version": pushed, "applied_at": now_rfc3339()})
    assert_alert(wait_resolved(admin, alert["id"]), "schedule_pending", host.host_id, state="resolved")
    assert admin.get(f"/api/v1/hosts/{host.host_id}").json()["schedule_sync"] == "in_sync"


def test_repo_locked_waits_until_no_job_runs_and_only_an_unlocked_report_resolves_it(server, admin):
    host = enroll_host(admin, "locked-host")
    agent = Agent(server, host.agent_token)
    set_rule(admin, "repo_locked", threshold_minutes=0.02)

    # While a job runs, the lock is that job's own: no alert however long it is reported.
    running = dispatch_and_start(admin, agent, host.host_id)
    repo_stats(agent, lock_state="locked")
    assert_stays(lambda: find_alerts(admin, "repo_locked", host.host_id, state=None) == [], seconds=3,
                 message="no repo_locked alert while a job runs", agent=agent)

    finish(agent, running)
    alert = wait_alert(admin, "repo_locked", host.host_id)
    assert_alert(alert, "repo_locked", host.host_id, host_name="locked-host")

    # Once open, a running job and its end do not resolve it; only an unlocked report does.
    second = dispatch_and_start(admin, agent, host.host_id)
    finish(agent, second)
    assert_stays(lambda: get_alert(admin, alert["id"])["state"] == "open", seconds=2.5,
                 message="repo_locked stays open without an unlocked report", agent=agent)
    repo_stats(agent, lock_state="unlocked")
    assert_alert(wait_resolved(admin, alert["id"]), "repo_locked", host.host_id, state="resolved")


def test_deleting_a_host_resolves_its_alerts(server, admin):
    doomed = enroll_host(admin, "doomed-host")
    kept = enroll_host(admin, "kept-host")
    doomed_agent, kept_agent = Agent(server, doomed.agent_token), Agent(server, kept.agent_token)
    run_to_end(admin, doomed_agent, doomed.host_id, status="failed")
    run_to_end(admin, doomed_agent, doomed.host_id, kind="check", status="failed")
    run_to_end(admin, kept_agent, kept.host_id, status="failed")
    doomed_alerts = [wait_alert(admin, "job_failed", doomed.host_id), wait_alert(admin, "check_failed", doomed.host_id)]
    kept_alert = wait_alert(admin, "job_failed", kept.host_id)

    assert admin.delete(f"/api/v1/hosts/{doomed.host_id}").status_code == 204
    for alert in doomed_alerts:
        resolved = wait_resolved(admin, alert["id"])
        assert resolved["host_name"] == "doomed-host"  # the history keeps who it was about
    assert get_alert(admin, kept_alert["id"])["state"] == "open"
    open_ids = {a["id"] for a in admin.get("/api/v1/alerts", params={"state": "open"}).json()["items"]}
    assert open_ids == {kept_alert["id"]}


def test_disabling_a_rule_resolves_its_alerts_with_alert_resolved_and_enabling_it_reopens(server, admin, receiver):
    webhook(admin, receiver.url("/hook"))
    host = enroll_host(admin, "rule-host")
    agent = Agent(server, host.agent_token)
    run_to_end(admin, agent, host.host_id, status="failed")
    run_to_end(admin, agent, host.host_id, kind="check", status="failed")
    alert = wait_alert(admin, "job_failed", host.host_id)
    check_alert = wait_alert(admin, "check_failed", host.host_id)
    receiver.wait_event("alert.opened", alert["id"])

    rule = set_rule(admin, "job_failed", enabled=False)
    assert rule["enabled"] is False
    resolved = wait_resolved(admin, alert["id"])
    assert_alert(resolved, "job_failed", host.host_id, state="resolved", job_id=alert["job_id"])
    event = receiver.wait_event("alert.resolved", alert["id"])
    assert event.json()["alert"]["state"] == "resolved"
    assert get_alert(admin, check_alert["id"])["state"] == "open"  # other rules are untouched

    # The last backup still failed: enabling the rule again opens a new alert.
    set_rule(admin, "job_failed", enabled=True)
    reopened = wait_alert(admin, "job_failed", host.host_id)
    assert reopened["id"] != alert["id"]
    assert open_alert_count(admin, host.host_id) == 2
