"""The alerts API (SPEC §9.2, docs/alerts.md "API" and "Channels").

`GET /api/v1/alerts` with its filters, order and pagination, `GET …/{id}`,
acknowledging (operators; a resolved alert is 409), the rules
(`GET/PUT /api/v1/alert-rules…`: defaults, validation, admin only),
notification channel CRUD (admin only, write-only secrets), the audit
entries all of these leave, and hostile channel input: malformed, oversized,
wrong types, NUL/CR/LF meant to smuggle headers or SMTP commands, unknown
kinds and keys, non-JSON bodies. Each is refused with a clear
`{"error": {"code", "message"}}` and nothing is stored.
"""
import json
import uuid

import pytest
import requests

from api_support import Anonymous, assert_error, assert_list, create_api_token, parse_time, walk_pages
from conftest import Agent, Client, enroll_host, wait_for
from notify_support import (BOTH_EVENTS, DEFAULT_THRESHOLD, RULE_KEYS, RULES, SEVERITY, all_alerts, assert_alert,
                            create_channel, db_query, deliveries, get_alert, rules_by_name, run_to_end, set_rule,
                            start_alert_server, utcnow, wait_alert, wait_resolved)
from notify_support import server  # noqa: F401 (fixture)

CHANNELS = "/api/v1/notification-channels"


def audit_entries(admin) -> tuple[list[dict], str]:
    pages = walk_pages(admin, "/api/v1/audit", limit=500)
    entries = [entry for page in pages for entry in page]
    return entries, json.dumps(entries)


def test_alert_list_filters_order_and_pagination(server, admin, viewer):
    web, db = enroll_host(admin, "web-1"), enroll_host(admin, "db-1")
    web_agent, db_agent = Agent(server, web.agent_token), Agent(server, db.agent_token)
    run_to_end(admin, web_agent, web.host_id, status="failed")
    web_backup = wait_alert(admin, "job_failed", web.host_id)
    for kind in ("prune", "unlock"):
        run_to_end(admin, web_agent, web.host_id, kind=kind, status="failed")
    run_to_end(admin, web_agent, web.host_id, kind="check", status="failed")
    for kind in ("backup", "prune"):
        run_to_end(admin, db_agent, db.host_id, kind=kind, status="failed")
    wait_for(lambda: len([a for a in all_alerts(admin) if a["state"] == "open"]) == 6, timeout=15, interval=0.1, message="six open alerts")
    run_to_end(admin, web_agent, web.host_id)  # resolves web's backup alert
    wait_resolved(admin, web_backup["id"])

    everything = all_alerts(viewer)
    assert len(everything) == 6, everything
    for alert in everything:
        assert_alert(alert, alert["rule"], alert["host_id"], state=alert["state"], schedule_id=alert["schedule_id"],
                     job_id=alert["job_id"])
    # Open first, then resolved; newest first within each.
    states = [alert["state"] for alert in everything]
    assert states == ["open"] * 5 + ["resolved"], states
    opened = [parse_time(alert["opened_at"]) for alert in everything[:5]]
    assert opened == sorted(opened, reverse=True)

    def ids(**params):
        return [alert["id"] for alert in assert_list(viewer.get("/api/v1/alerts", params=params))["items"]]

    def expected(predicate):
        return [alert["id"] for alert in everything if predicate(alert)]

    assert ids(state="open") == expected(lambda a: a["state"] == "open")
    assert ids(state="resolved") == [web_backup["id"]]
    assert ids(host_id=web.host_id) == expected(lambda a: a["host_id"] == web.host_id)
    assert len(ids(host_id=web.host_id)) == 4
    assert ids(rule="check_failed") == expected(lambda a: a["rule"] == "check_failed")
    assert len(ids(rule="check_failed")) == 1
    assert ids(host_id=db.host_id, rule="job_failed", state="open") == expected(lambda a: a["host_id"] == db.host_id)
    assert ids(host_id=db.host_id, state="resolved") == []
    assert ids(host_id=str(uuid.uuid4())) == []

    # Pages of any size walk the same list, each alert once.
    for limit in (1, 2, 4):
        walked = [alert["id"] for page in walk_pages(viewer, "/api/v1/alerts", limit=limit) for alert in page]
        assert walked == [alert["id"] for alert in everything], limit
    walked_open = [a["id"] for page in walk_pages(viewer, "/api/v1/alerts", limit=2, params={"state": "open"})
                   for a in page]
    assert walked_open == ids(state="open")

    assert_error(viewer.get("/api/v1/alerts", params={"state": "closed"}), 400, "validation_failed", "state")
    assert_error(viewer.get("/api/v1/alerts", params={"rule": "disk_full"}), 400, "validation_failed", "rule")
    assert_error(viewer.get("/api/v1/alerts", params={"limit": "0"}), 400, "validation_failed", "limit")
    assert_error(viewer.get("/api/v1/alerts", params={"cursor": "bm9wZQ=="}), 400, "validation_failed", "cursor")
    assert_error(Anonymous(server).get("/api/v1/alerts"), 401, "unauthenticated")


def test_one_alert_by_id_and_unknown_ids_are_404(server, admin, viewer):
    host = enroll_host(admin, "single-host")
    agent = Agent(server, host.agent_token)
    job_id = run_to_end(admin, agent, host.host_id, status="failed")
    alert = wait_alert(admin, "job_failed", host.host_id)
    assert get_alert(viewer, alert["id"]) == alert
    assert_alert(alert, "job_failed", host.host_id, job_id=job_id, host_name="single-host")
    for unknown in (str(uuid.uuid4()), "nope", "%00", "a" * 300):
        assert_error(viewer.get(f"/api/v1/alerts/{unknown}"), 404, "not_found")
        assert_error(admin.post(f"/api/v1/alerts/{unknown}/acknowledge"), 404, "not_found")
    assert_error(Anonymous(server).get(f"/api/v1/alerts/{alert['id']}"), 401, "unauthenticated")


def test_acknowledge_records_who_and_when_keeps_the_alert_open_and_a_resolved_one_is_409(server, admin, operator,
                                                                                        viewer):
    host = enroll_host(admin, "ack-host")
    agent = Agent(server, host.agent_token)
    run_to_end(admin, agent, host.host_id, status="failed")
    alert = wait_alert(admin, "job_failed", host.host_id)

    assert_error(viewer.post(f"/api/v1/alerts/{alert['id']}/acknowledge"), 403, "forbidden")
    assert_error(create_api_token(viewer).post(f"/api/v1/alerts/{alert['id']}/acknowledge"), 403, "forbidden")
    assert_error(Anonymous(server).post(f"/api/v1/alerts/{alert['id']}/acknowledge"), 401, "unauthenticated")
    assert get_alert(admin, alert["id"])["acknowledged_at"] is None

    before = utcnow()
    response = operator.post(f"/api/v1/alerts/{alert['id']}/acknowledge")
    after = utcnow()
    assert response.status_code == 200, response.text
    acknowledged = response.json()
    assert_alert(acknowledged, "job_failed", host.host_id, job_id=alert["job_id"])
    assert acknowledged["state"] == "open"  # acknowledging does not resolve
    # Who: the operator's name, or their audit actor ("user:<name>"); both name the person.
    assert acknowledged["acknowledged_by"] in (operator.user["username"], f"user:{operator.user['username']}")
    assert before.replace(microsecond=before.microsecond // 1000 * 1000) <= parse_time(
        acknowledged["acknowledged_at"]) <= after
    assert get_alert(viewer, alert["id"]) == acknowledged

    run_to_end(admin, agent, host.host_id)
    resolved = wait_resolved(admin, alert["id"])
    assert (resolved["acknowledged_by"], resolved["acknowledged_at"]) == \
        (acknowledged["acknowledged_by"], acknowledged["acknowledged_at"])
    assert_error(operator.post(f"/api/v1/alerts/{alert['id']}/acknowledge"), 409, "conflict")
    assert get_alert(admin, alert["id"]) == resolved

    entries, text = audit_entries(admin)
    acks = [e for e in entries if e["target_id"] == alert["id"] and "ack" in e["action"]]
    assert len(acks) == 1, acks
    assert acks[0]["actor"] == f"user:{operator.user['username']}" and acks[0]["ip"] == "127.0.0.1", acks


def test_rules_defaults_changes_and_validation(server, admin, operator, viewer):
    rules = rules_by_name(viewer)
    assert set(rules) == set(RULES)
    for name, rule in rules.items():
        assert set(rule) == RULE_KEYS, rule
        assert rule["enabled"] is True and rule["repeat_minutes"] is None, rule
        assert rule["severity"] == SEVERITY[name], rule
        assert rule["threshold_minutes"] == rule["default_threshold_minutes"] == DEFAULT_THRESHOLD[name], rule

    changed = set_rule(admin, "host_offline", threshold_minutes=0.5)
    assert set(changed) == RULE_KEYS
    assert (changed["threshold_minutes"], changed["default_threshold_minutes"]) == (0.5, 15)
    assert rules_by_name(viewer)["host_offline"] == changed
    changed = set_rule(admin, "host_offline", enabled=False)
    assert (changed["enabled"], changed["threshold_minutes"]) == (False, 0.5)  # what is not sent is kept
    assert set_rule(admin, "host_offline", repeat_minutes=30)["repeat_minutes"] == 30
    assert set_rule(admin, "host_offline", repeat_minutes=None)["repeat_minutes"] is None
    # Fractional minutes are fine, like thresholds (docs/alerts.md).
    assert set_rule(admin, "host_offline", repeat_minutes=0.5)["repeat_minutes"] == 0.5
    assert set_rule(admin, "host_offline", repeat_minutes=None)["repeat_minutes"] is None
    assert set_rule(admin, "backup_missed", threshold_minutes=525600)["threshold_minutes"] == 525600
    assert set_rule(admin, "repo_locked", enabled=True, threshold_minutes=1, repeat_minutes=1) == \
        dict(rules["repo_locked"], threshold_minutes=1, repeat_minutes=1)

    url = "/api/v1/alert-rules/host_offline"
    before = rules_by_name(admin)
    accepted = []
    for body, field in [({"threshold_minutes": 0}, "threshold_minutes"), ({"threshold_minutes": -1}, "threshold_minutes"),
                        ({"threshold_minutes": 525600.5}, "threshold_minutes"),
                        ({"threshold_minutes": "5"}, "threshold_minutes"),
                        ({"threshold_minutes": True}, "threshold_minutes"),
                        ({"repeat_minutes": 0}, "repeat_minutes"), ({"repeat_minutes": 525600.5}, "repeat_minutes"),
                        ({"repeat_minutes": -5}, "repeat_minutes"), ({"repeat_minutes": "often"}, "repeat_minutes"),
                        ({"enabled": "yes"}, "enabled"), ({"enabled": 1}, "enabled")]:
        response = admin.put(url, json=body)
        if response.status_code != 400:
            accepted.append((body, response.status_code, response.text))
            continue
        assert_error(response, 400, "validation_failed", field)
    if accepted:  # undo, so that the rest of the test still checks what it should; reported at the end
        set_rule(admin, "host_offline", repeat_minutes=None)
    assert_error(admin.put(url, json=[]), 400, "validation_failed")
    assert_error(admin.put(url, data="{", headers={"Content-Type": "application/json"}), 400, "validation_failed")
    assert_error(admin.put(url, data='{"enabled": false}', headers={"Content-Type": "text/plain"}), 415,
                 "unsupported_media_type")
    assert_error(admin.put("/api/v1/alert-rules/disk_full", json={"enabled": False}), 404, "not_found")
    for client in (operator, viewer, create_api_token(operator)):
        assert_error(client.put(url, json={"enabled": True}), 403, "forbidden")
    assert_error(Anonymous(server).put(url, json={"enabled": True}), 401, "unauthenticated")
    assert_error(Anonymous(server).get("/api/v1/alert-rules"), 401, "unauthenticated")
    assert rules_by_name(admin) == before

    entries, _ = audit_entries(admin)
    changes = [e for e in entries if "rule" in e["action"]]
    about = {rule for rule in RULES if any(rule in (e["target_id"], json.dumps(e["details"])) for e in changes)}
    assert about == {"host_offline", "backup_missed", "repo_locked"}, changes
    refused_but_stored = 2 * len(accepted)  # each wrongly accepted change and its undo
    assert len([e for e in changes if "host_offline" in (e["target_id"], json.dumps(e["details"]))]) == \
        6 + refused_but_stored
    assert all(e["actor"] == "user:admin" for e in changes), changes
    assert accepted == [], f"invalid rule changes were accepted: {accepted}"


def test_channel_crud_write_only_secrets_and_audit(server, admin):
    secret = server.remember_secret(f"whsec-{uuid.uuid4().hex}")
    header_value = server.remember_secret(f"Bearer hdr-{uuid.uuid4().hex}")
    password = server.remember_secret(f"smtp-{uuid.uuid4().hex}")
    responses = []

    hook = create_channel(admin, name="ops hook", kind="webhook",
                          config={"url": "https://hooks.example.test/rm?team=ops", "secret": secret,
                                  "headers": {"Authorization": header_value}})
    assert hook["name"] == "ops hook" and hook["kind"] == "webhook" and hook["enabled"] is True
    assert hook["events"] == BOTH_EVENTS
    assert hook["config"] == {"url": "https://hooks.example.test/rm?team=ops", "secret_set": True,
                              "headers_set": True}
    parse_time(hook["created_at"])
    parse_time(hook["updated_at"])

    mail = create_channel(admin, name="ops mail", kind="email", enabled=False, events=["alert.opened"],
                          config={"host": "smtp.example.test", "port": 587, "security": "starttls",
                                  "username": "rm", "password": password, "from": "rm@example.test",
                                  "to": ["ops@example.test", "oncall@example.test"]})
    assert (mail["enabled"], mail["events"]) == (False, ["alert.opened"])
    assert mail["config"] == {"host": "smtp.example.test", "port": 587, "security": "starttls", "username": "rm",
                              "password_set": True, "from": "rm@example.test",
                              "to": ["ops@example.test", "oncall@example.test"]}

    listed = assert_list(admin.get(CHANNELS))
    responses.append(admin.get(CHANNELS).text)
    assert {c["id"]: c for c in listed["items"]} == {hook["id"]: hook, mail["id"]: mail}
    assert admin.get(f"{CHANNELS}/{hook['id']}").json() == hook

    # PUT takes the same body; an absent secret is kept, "" clears it.
    response = admin.put(f"{CHANNELS}/{hook['id']}", json={
        "name": "ops hook 2", "kind": "webhook", "events": ["alert.resolved"],
        "config": {"url": "https://hooks.example.test/rm2"}})
    assert response.status_code == 200, response.text
    responses.append(response.text)
    updated = response.json()
    assert updated["name"] == "ops hook 2" and updated["events"] == ["alert.resolved"]
    assert updated["config"] == {"url": "https://hooks.example.test/rm2", "secret_set": True, "headers_set": True}
    assert updated["created_at"] == hook["created_at"]
    assert parse_time(updated["updated_at"]) >= parse_time(hook["updated_at"])
    response = admin.put(f"{CHANNELS}/{hook['id']}", json={
        "name": "ops hook 2", "kind": "webhook", "config": {"url": "https://hooks.example.test/rm2", "secret": ""}})
    assert response.status_code == 200, response.text
    assert response.json()["config"] == {"url": "https://hooks.example.test/rm2", "secret_set": False,
                                         "headers_set": True}
    response = admin.put(f"{CHANNELS}/{mail['id']}", json={
        "name": "ops mail", "kind": "email", "enabled": True,
        "config": {"host": "smtp.example.test", "port": 465, "security": "tls", "username": "rm", "password": None,
                   "from": "rm@example.test", "to": ["ops@example.test"]}})
    assert response.status_code == 200, response.text
    assert response.json()["config"]["password_set"] is True and response.json()["config"]["port"] == 465
    assert response.json()["enabled"] is True

    # Nothing a client gets back, nothing in the table outside the sealed column, holds a secret.
    for text in responses + [admin.get(CHANNELS).text, admin.get(f"{CHANNELS}/{mail['id']}").text]:
        for value in (secret, header_value, password):
            assert value not in text
    for row in db_query(server, "SELECT name, kind, events, config FROM notification_channels"):
        for value in (secret, header_value, password):
            assert value not in json.dumps(row)

    assert admin.delete(f"{CHANNELS}/{hook['id']}").status_code == 204
    assert_error(admin.get(f"{CHANNELS}/{hook['id']}"), 404, "not_found")
    assert_error(admin.delete(f"{CHANNELS}/{hook['id']}"), 404, "not_found")
    assert_error(admin.put(f"{CHANNELS}/{hook['id']}", json={"name": "x", "kind": "webhook",
                                                             "config": {"url": "https://x.example.test/"}}),
                 404, "not_found")
    assert_error(admin.post(f"{CHANNELS}/{hook['id']}/test"), 404, "not_found")
    assert_error(admin.get(f"{CHANNELS}/{hook['id']}/deliveries"), 404, "not_found")
    assert [c["id"] for c in admin.get(CHANNELS).json()["items"]] == [mail["id"]]

    entries, text = audit_entries(admin)
    for value in (secret, header_value, password):
        assert value not in text, "a channel secret is in the audit log"
    about_hook = {e["action"] for e in entries if e["target_id"] == hook["id"]}
    about_mail = {e["action"] for e in entries if e["target_id"] == mail["id"]}
    assert any(a.endswith("create") for a in about_hook) and any(a.endswith("update") for a in about_hook) \
        and any(a.endswith("delete") for a in about_hook), about_hook
    assert any(a.endswith("create") for a in about_mail) and any(a.endswith("update") for a in about_mail), about_mail
    assert len([e for e in entries if e["target_id"] == hook["id"] and e["action"].endswith("update")]) == 2
    assert all(e["actor"] == "user:admin" for e in entries if e["target_id"] in (hook["id"], mail["id"]))


def test_channels_are_admin_only(server, admin, operator, viewer):
    channel = create_channel(admin, name="ops", kind="webhook", config={"url": "http://127.0.0.1:9/hook"})
    body = {"name": "x", "kind": "webhook", "config": {"url": "http://127.0.0.1:9/other"}}
    routes = [("GET", CHANNELS, None), ("POST", CHANNELS, body), ("GET", f"{CHANNELS}/{channel['id']}", None),
              ("PUT", f"{CHANNELS}/{channel['id']}", body), ("DELETE", f"{CHANNELS}/{channel['id']}", None),
              ("POST", f"{CHANNELS}/{channel['id']}/test", None),
              ("GET", f"{CHANNELS}/{channel['id']}/deliveries", None)]
    for client in (operator, viewer, create_api_token(operator), create_api_token(viewer)):
        for method, path, json_body in routes:
            assert_error(client.request(method, path, json=json_body), 403, "forbidden")
    for method, path, json_body in routes:
        assert_error(Anonymous(server).request(method, path, json=json_body), 401, "unauthenticated")
    assert admin.get(CHANNELS).json()["items"] == [channel]
    assert deliveries(admin, channel["id"]) == []


# ---------------------------------------------------------------------------
# Hostile channel input: one server for all the cases.
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    srv = start_alert_server(tmp_path_factory.mktemp("hostile"))
    yield Client(srv, "admin", srv.admin_password)
    srv.stop()


WEBHOOK = {"url": "http://127.0.0.1:9/hook"}
EMAIL = {"host": "smtp.example.test", "port": 587, "security": "starttls", "from": "rm@example.test",
         "to": ["ops@example.test"]}
MISSING = object()


def hook_body(**changes):
    return _body("webhook", WEBHOOK, changes)


def mail_body(**changes):
    return _body("email", EMAIL, changes)


def _body(kind, config, changes):
    body = {"name": "ops", "kind": kind, "config": dict(config)}
    for key, value in changes.items():
        target, key = (body["config"], key[7:]) if key.startswith("config_") else (body, key)
        if value is MISSING:
            target.pop(key, None)
        else:
            target[key] = value
    return body


SMUGGLED = "ops@example.test\r\nRCPT TO:<evil@example.test>"
HOSTILE = [
    # (case, body, a word the message and `fields` must name)
    ("name-empty", hook_body(name=""), "name"),
    ("name-101-chars", hook_body(name="x" * 101), "name"),
    ("name-not-a-string", hook_body(name=5), "name"),
    ("name-missing", hook_body(name=MISSING), "name"),
    ("name-nul", hook_body(name="ops\x00"), "name"),
    ("name-crlf", hook_body(name="ops\r\nX-Evil: 1"), "name"),
    ("kind-unknown", hook_body(kind="sms"), "kind"),
    ("kind-missing", hook_body(kind=MISSING), "kind"),
    ("kind-not-a-string", hook_body(kind=["webhook"]), "kind"),
    ("enabled-string", hook_body(enabled="yes"), "enabled"),
    ("events-unknown", hook_body(events=["alert.opened", "alert.exploded"]), "events"),
    ("events-not-a-list", hook_body(events="alert.opened"), "events"),
    ("events-not-strings", hook_body(events=[1]), "events"),
    ("config-missing", hook_body(config=MISSING), "config"),
    ("config-string", hook_body(config="http://127.0.0.1:9/hook"), "config"),
    ("config-list", hook_body(config=[]), "config"),
    ("url-missing", hook_body(config_url=MISSING), "url"),
    ("url-empty", hook_body(config_url=""), "url"),
    ("url-ftp", hook_body(config_url="ftp://127.0.0.1/hook"), "url"),
    ("url-javascript", hook_body(config_url="javascript:alert(1)"), "url"),
    ("url-file", hook_body(config_url="file:///etc/passwd"), "url"),
    ("url-no-host", hook_body(config_url="http://"), "url"),
    ("url-relative", hook_body(config_url="/hook"), "url"),
    ("url-credentials", hook_body(config_url="https://user:pass@hooks.example.test/x"), "url"),
    ("url-10kB", hook_body(config_url="https://hooks.example.test/" + "a" * 10240), "url"),
    ("url-2049-chars", hook_body(config_url="https://hooks.example.test/" + "a" * (2049 - 27)), "url"),
    ("url-crlf", hook_body(config_url="http://127.0.0.1:9/hook\r\nX-Evil: 1"), "url"),
    ("url-lf", hook_body(config_url="http://127.0.0.1:9/hook\nHost: evil.example.test"), "url"),
    ("url-nul", hook_body(config_url="http://127.0.0.1:9/hook\x00evil"), "url"),
    ("url-space", hook_body(config_url="http://127.0.0.1:9/a b"), "url"),
    ("url-not-a-string", hook_body(config_url=42), "url"),
    ("secret-not-a-string", hook_body(config_secret=42), "secret"),
    ("headers-not-an-object", hook_body(config_headers="X-A: 1"), "headers"),
    ("headers-value-not-a-string", hook_body(config_headers={"X-A": 1}), "headers"),
    ("headers-name-with-space", hook_body(config_headers={"Bad Name": "v"}), "headers"),
    ("headers-name-crlf", hook_body(config_headers={"X-A\r\nX-B": "v"}), "headers"),
    ("headers-name-colon", hook_body(config_headers={"X-A:": "v"}), "headers"),
    ("headers-name-empty", hook_body(config_headers={"": "v"}), "headers"),
    ("headers-value-crlf", hook_body(config_headers={"X-A": "v\r\nX-Evil: 1"}), "headers"),
    ("headers-value-lf", hook_body(config_headers={"X-A": "v\nX-Evil: 1"}), "headers"),
    ("headers-value-cr", hook_body(config_headers={"X-A": "v\rX-Evil: 1"}), "headers"),
    ("headers-value-nul", hook_body(config_headers={"X-A": "v\x00"}), "headers"),
    ("headers-content-type", hook_body(config_headers={"Content-Type": "text/plain"}), "headers"),
    ("headers-host", hook_body(config_headers={"host": "evil.example.test"}), "headers"),
    ("headers-content-length", hook_body(config_headers={"Content-Length": "0"}), "headers"),
    ("headers-x-rm-signature", hook_body(config_headers={"X-RM-Signature": "sha256=00"}), "headers"),
    ("headers-x-rm-lowercase", hook_body(config_headers={"x-rm-delivery": "1"}), "headers"),
    ("headers-21", hook_body(config_headers={f"X-H{i}": "v" for i in range(21)}), "headers"),
    ("webhook-unknown-key", hook_body(config_bogus=1), "bogus"),
    ("webhook-email-key", hook_body(config_to=["ops@example.test"]), "to"),
    ("host-missing", mail_body(config_host=MISSING), "host"),
    ("host-empty", mail_body(config_host=""), "host"),
    ("host-crlf", mail_body(config_host="smtp.example.test\r\nMAIL FROM:<x@example.test>"), "host"),
    ("host-not-a-string", mail_body(config_host=25), "host"),
    ("port-0", mail_body(config_port=0), "port"),
    ("port-65536", mail_body(config_port=65536), "port"),
    ("port-string", mail_body(config_port="587"), "port"),
    ("port-fraction", mail_body(config_port=25.5), "port"),
    ("port-missing", mail_body(config_port=MISSING), "port"),
    ("security-ssl", mail_body(config_security="ssl"), "security"),
    ("security-missing", mail_body(config_security=MISSING), "security"),
    ("from-missing", mail_body(config_from=MISSING), "from"),
    ("from-not-an-address", mail_body(config_from="not-an-address"), "from"),
    ("from-space", mail_body(config_from="r m@example.test"), "from"),
    ("from-angle-brackets", mail_body(config_from="<rm@example.test>"), "from"),
    ("from-display-name", mail_body(config_from="RM <rm@example.test>"), "from"),
    ("from-smuggled-rcpt", mail_body(config_from="rm@example.test\r\nRCPT TO:<evil@example.test>"), "from"),
    ("from-nul", mail_body(config_from="rm@example.test\x00"), "from"),
    ("from-two", mail_body(config_from="a@example.test,b@example.test"), "from"),
    ("from-list", mail_body(config_from=["rm@example.test"]), "from"),
    ("to-empty", mail_body(config_to=[]), "to"),
    ("to-string", mail_body(config_to="ops@example.test"), "to"),
    ("to-21", mail_body(config_to=[f"ops{i}@example.test" for i in range(21)]), "to"),
    ("to-smuggled-rcpt", mail_body(config_to=[SMUGGLED]), "to"),
    ("to-smuggled-data", mail_body(config_to=["ops@example.test\nDATA"]), "to"),
    ("to-cr", mail_body(config_to=["ops@example.test\rRSET"]), "to"),
    ("to-nul", mail_body(config_to=["ops@example.test\x00"]), "to"),
    ("to-angle-brackets", mail_body(config_to=["<ops@example.test>"]), "to"),
    ("to-space", mail_body(config_to=["ops @example.test"]), "to"),
    ("to-no-domain", mail_body(config_to=["ops@"]), "to"),
    ("to-no-local-part", mail_body(config_to=["@example.test"]), "to"),
    ("to-not-strings", mail_body(config_to=[1]), "to"),
    ("to-second-bad", mail_body(config_to=["ops@example.test", "not an address"]), "to"),
    ("password-not-a-string", mail_body(config_password=5), "password"),
    ("email-unknown-key", mail_body(config_cc=["x@example.test"]), "cc"),
    ("email-webhook-key", mail_body(config_url="http://127.0.0.1:9/hook"), "url"),
]


def assert_refused(response: requests.Response, word: str) -> dict:
    error = assert_error(response, 400, "validation_failed")
    assert word.lower() in error["message"].lower(), f"the message does not name {word!r}: {error}"
    assert any(word in key for key in (error.get("fields") or {})), f"fields do not name {word!r}: {error}"
    for control in ("\r", "\n", "\x00"):
        assert control not in error["message"], f"the message echoes a control character: {error}"
    return error


@pytest.mark.parametrize("body,word", [case[1:] for case in HOSTILE], ids=[case[0] for case in HOSTILE])
def test_hostile_channel_input_is_refused_and_nothing_is_stored(hostile, body, word):
    assert_refused(hostile.post(CHANNELS, json=body), word)
    assert hostile.get(CHANNELS).json()["items"] == []


def test_hostile_updates_are_refused_and_change_nothing(hostile):
    hook = create_channel(hostile, **hook_body(name="hostile-put-hook"))
    mail = create_channel(hostile, **mail_body(name="hostile-put-mail"))
    try:
        for case, body, word in HOSTILE:
            if body.get("kind") == "webhook" and case.startswith(("url", "headers", "name", "events", "webhook")):
                assert_refused(hostile.put(f"{CHANNELS}/{hook['id']}", json=body), word)
            elif body.get("kind") == "email" and case.startswith(("to", "from", "host", "port")):
                assert_refused(hostile.put(f"{CHANNELS}/{mail['id']}", json=body), word)
        assert hostile.get(f"{CHANNELS}/{hook['id']}").json() == hook
        assert hostile.get(f"{CHANNELS}/{mail['id']}").json() == mail
    finally:
        assert hostile.delete(f"{CHANNELS}/{hook['id']}").status_code == 204
        assert hostile.delete(f"{CHANNELS}/{mail['id']}").status_code == 204


def test_channel_bodies_that_are_not_json_objects_are_refused(hostile):
    json_type = {"Content-Type": "application/json"}
    for data in ("{", "", "null", "[]", '"webhook"', "42", '{"name": "ops", "kind": "webhook", "config": {"url": '):
        assert_error(hostile.post(CHANNELS, data=data, headers=json_type), 400, "validation_failed")
    valid = json.dumps(hook_body())
    for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = {"Content-Type": content_type} if content_type else {}
        assert_error(hostile.post(CHANNELS, data=valid, headers=headers), 415, "unsupported_media_type")
    big = '{"name": "ops", "kind": "webhook", "config": {"url": "http://127.0.0.1:9/' + "a" * (2 << 20) + '"}}'
    assert_error(hostile.post(CHANNELS, data=big, headers=json_type), 413, "too_large")
    nested = '{"name": "ops", "kind": "webhook", "config": {"url": "http://127.0.0.1:9/", "headers": ' + \
        "[" * 200_000 + "]" * 200_000 + "}}"
    assert_error(hostile.post(CHANNELS, data=nested, headers=json_type), 400, "validation_failed")
    assert hostile.get(CHANNELS).json()["items"] == []
    # Still the same server, still answering.
    assert hostile.get("/healthz").status_code == 200


def test_the_limits_themselves_are_accepted(hostile):
    """Right at each limit of docs/alerts.md: 100-char name, 2048-char URL, 20 headers, 20 recipients, ports 1 and 65535."""
    created = [
        create_channel(hostile, **hook_body(name="n" * 100,
                                            config_url="https://hooks.example.test/" + "a" * (2048 - 27),
                                            config_headers={f"X-H{i}": f"value {i}; a=b" for i in range(20)})),
        create_channel(hostile, **mail_body(config_port=1, config_to=[f"first.last+{i}@sub.example.test"
                                                                      for i in range(20)])),
        create_channel(hostile, **mail_body(config_port=65535, config_security="none", config_from="a@b.example")),
    ]
    assert len(created[0]["config"]["url"]) == 2048 and created[0]["name"] == "n" * 100
    assert len(created[1]["config"]["to"]) == 20
    for channel in created:
        assert hostile.delete(f"{CHANNELS}/{channel['id']}").status_code == 204
