"""Webhook channels end to end (SPEC §9.3, docs/alerts.md "Webhook payload and signature" and "Delivery").

A real HTTP(S) receiver on 127.0.0.1 gets what the server sends: the JSON
body, `X-RM-Event`, `X-RM-Delivery` and `X-RM-Signature` (checked here with
HMAC-SHA256 over the raw body), the channel's custom headers. Also: the
`test` event (`202`, `"alert": null`), the deliveries list, retries of a
receiver answering 503 under the same delivery id, the events filter,
disabled channels, redirects not followed, kept and cleared secrets,
`repeat_minutes` (stopped by an acknowledgement), and HTTPS verified
against `--notify-ca-file`.
"""
import datetime
import subprocess
import uuid

from api_support import assert_same_resource, db_execute, parse_time
from conftest import Agent, Client, enroll_host, server_command, wait_for
from notify_support import (WEBHOOK_BODY_KEYS, Receiver, assert_stays, deliveries, get_alert, run_to_end, send_test,
                            set_rule, signature_ok, sqlite_time, start_alert_server, utcnow, wait_alert,
                            wait_attempted, wait_delivered, webhook)
from notify_support import receiver, server, tls_files  # noqa: F401 (fixtures)


def test_alert_events_are_posted_as_signed_json_with_the_custom_headers(server, admin, receiver):
    secret = f"whsec-{uuid.uuid4().hex}"
    channel = webhook(admin, receiver.url("/hooks/rm?source=restic-manager"), secret=secret,
                      headers={"X-Team": "ops", "Authorization": "Bearer team-token"})
    host = enroll_host(admin, "hooked-host")
    agent = Agent(server, host.agent_token)
    run_to_end(admin, agent, host.host_id, status="failed")
    alert = wait_alert(admin, "job_failed", host.host_id)

    opened = receiver.wait_event("alert.opened", alert["id"])
    assert opened.method == "POST"
    assert (opened.path, opened.query) == ("/hooks/rm", {"source": ["restic-manager"]})
    assert opened.header("Content-Type").split(";")[0].strip() == "application/json"
    body = opened.json()
    assert set(body) == WEBHOOK_BODY_KEYS, body
    assert body["event"] == opened.event == "alert.opened"
    assert body["delivery_id"] == opened.delivery_id and body["delivery_id"]
    parse_time(body["sent_at"])
    assert_same_resource(body["alert"], alert)
    assert signature_ok(secret, opened), opened.header("X-RM-Signature")
    assert not signature_ok(secret + "x", opened)
    assert opened.header("X-Team") == "ops" and opened.header("Authorization") == "Bearer team-token"

    sent = wait_delivered(admin, channel["id"], body["delivery_id"])
    assert (sent["event"], sent["alert_id"], sent["attempts"], sent["last_error"]) == \
        ("alert.opened", alert["id"], 1, None)
    assert parse_time(sent["created_at"]) <= parse_time(sent["delivered_at"])

    run_to_end(admin, agent, host.host_id)
    resolved = receiver.wait_event("alert.resolved", alert["id"])
    body = resolved.json()
    assert set(body) == WEBHOOK_BODY_KEYS and body["event"] == resolved.event == "alert.resolved"
    assert body["delivery_id"] == resolved.delivery_id != opened.delivery_id
    assert signature_ok(secret, resolved)
    assert_same_resource(body["alert"], get_alert(admin, alert["id"]))
    assert body["alert"]["state"] == "resolved"
    wait_delivered(admin, channel["id"], body["delivery_id"])

    # Each event once per channel; the list is newest first.
    assert len(receiver.received(lambda r: r.event == "alert.opened")) == 1
    assert [(d["event"], d["id"]) for d in deliveries(admin, channel["id"])] == \
        [("alert.resolved", resolved.delivery_id), ("alert.opened", opened.delivery_id)]


def test_the_test_event_is_202_and_arrives_with_a_null_alert(server, admin, receiver):
    channel = webhook(admin, receiver.url("/test-hook"))
    delivery_id = send_test(admin, channel["id"])
    got = receiver.wait(lambda r: r.delivery_id == delivery_id, message="the test event")[0]
    body = got.json()
    assert set(body) == WEBHOOK_BODY_KEYS
    assert (body["event"], got.event, body["delivery_id"], body["alert"]) == ("test", "test", delivery_id, None)
    assert got.header("X-RM-Signature") is None  # no secret, no signature

    sent = wait_delivered(admin, channel["id"], delivery_id)
    assert (sent["event"], sent["alert_id"], sent["attempts"], sent["last_error"]) == ("test", None, 1, None)
    again = send_test(admin, channel["id"])
    assert again != delivery_id
    wait_delivered(admin, channel["id"], again)
    assert [d["id"] for d in deliveries(admin, channel["id"])] == [again, delivery_id]
    assert len(receiver.received()) == 2


def test_a_failing_receiver_is_retried_with_the_same_delivery_id(server, admin, receiver):
    receiver.status = 503
    channel = webhook(admin, receiver.url("/flaky"), secret="retry-secret")
    delivery_id = send_test(admin, channel["id"])
    first = receiver.wait(lambda r: r.delivery_id == delivery_id, message="the first attempt")[0]
    failed = wait_attempted(admin, channel["id"], delivery_id)
    assert (failed["status"], failed["attempts"], failed["delivered_at"]) == ("pending", 1, None), failed
    assert "503" in failed["last_error"], failed
    backoff = (parse_time(failed["next_attempt_at"]) - first.wall).total_seconds()
    assert 9 <= backoff <= 11.5, failed  # the first back-off is 10 s after the attempt

    receiver.status = 200
    attempts = receiver.wait(lambda r: r.delivery_id == delivery_id, count=2, timeout=25, message="the retry")
    second = attempts[1]
    assert second.at - first.at >= 9.5
    assert first.json()["delivery_id"] == second.json()["delivery_id"] == delivery_id
    assert signature_ok("retry-secret", first) and signature_ok("retry-secret", second)
    sent = wait_delivered(admin, channel["id"], delivery_id)
    assert sent["attempts"] == 2 and sent["delivered_at"] is not None
    assert len(receiver.received(lambda r: r.delivery_id == delivery_id)) == 2


def test_only_subscribed_events_reach_a_channel_and_a_disabled_channel_gets_nothing(server, admin, receiver):
    everything = webhook(admin, receiver.url("/all"))
    resolved_only = webhook(admin, receiver.url("/resolved"), events=["alert.resolved"])
    disabled = webhook(admin, receiver.url("/disabled"), enabled=False)
    assert resolved_only["events"] == ["alert.resolved"] and disabled["enabled"] is False
    host = enroll_host(admin, "filtered-host")
    agent = Agent(server, host.agent_token)

    run_to_end(admin, agent, host.host_id, status="failed")
    alert = wait_alert(admin, "job_failed", host.host_id)
    receiver.wait_event("alert.opened", alert["id"], path="/all")
    assert deliveries(admin, resolved_only["id"]) == [] and deliveries(admin, disabled["id"]) == []

    run_to_end(admin, agent, host.host_id)
    receiver.wait_event("alert.resolved", alert["id"], path="/all")
    receiver.wait_event("alert.resolved", alert["id"], path="/resolved")
    assert [d["event"] for d in deliveries(admin, everything["id"])] == ["alert.resolved", "alert.opened"]
    assert [d["event"] for d in deliveries(admin, resolved_only["id"])] == ["alert.resolved"]
    assert deliveries(admin, disabled["id"]) == []
    assert receiver.received(lambda r: r.path == "/disabled") == []
    assert receiver.received(lambda r: r.path == "/resolved" and r.event != "alert.resolved") == []


def test_redirects_are_not_followed_and_any_2xx_is_delivered(server, admin, receiver):
    receiver.respond("/moved", 302, {"Location": receiver.url("/elsewhere")})
    receiver.respond("/accepted", 202)
    receiver.respond("/empty", 204)
    for path in ("/accepted", "/empty"):
        channel = webhook(admin, receiver.url(path))
        wait_delivered(admin, channel["id"], send_test(admin, channel["id"]))

    moved = webhook(admin, receiver.url("/moved"))
    delivery_id = send_test(admin, moved["id"])
    attempt = wait_attempted(admin, moved["id"], delivery_id)
    assert attempt["status"] == "pending" and "302" in attempt["last_error"], attempt
    assert len(receiver.received(lambda r: r.path == "/moved")) == 1
    assert receiver.received(lambda r: r.path == "/elsewhere") == []


def test_a_kept_secret_still_signs_a_new_one_replaces_it_and_a_cleared_one_stops_signing(server, admin, receiver):
    channel = webhook(admin, receiver.url("/signed"), name="signed", secret="first-secret",
                      headers={"X-Token": "t1"})
    url = f"/api/v1/notification-channels/{channel['id']}"

    def put_and_test(config):
        response = admin.put(url, json={"name": "signed", "kind": "webhook",
                                        "config": {"url": receiver.url("/signed"), **config}})
        assert response.status_code == 200, response.text
        delivery_id = send_test(admin, channel["id"])
        return receiver.wait(lambda r: r.delivery_id == delivery_id)[0]

    kept = put_and_test({})
    assert signature_ok("first-secret", kept) and kept.header("X-Token") == "t1"
    kept = put_and_test({"secret": None, "headers": None})
    assert signature_ok("first-secret", kept) and kept.header("X-Token") == "t1"
    replaced = put_and_test({"secret": "second-secret", "headers": {"X-Token": "t2"}})
    assert signature_ok("second-secret", replaced) and replaced.header("X-Token") == "t2"
    cleared = put_and_test({"secret": ""})
    assert cleared.header("X-RM-Signature") is None and cleared.header("X-Token") == "t2"
    assert admin.get(url).json()["config"] == {"url": receiver.url("/signed"), "secret_set": False,
                                               "headers_set": True}


def test_repeat_minutes_resends_alert_opened_until_the_alert_is_acknowledged(server, admin, operator, receiver):
    webhook(admin, receiver.url("/repeat"))
    set_rule(admin, "job_failed", repeat_minutes=1)
    host = enroll_host(admin, "repeat-host")
    agent = Agent(server, host.agent_token)
    run_to_end(admin, agent, host.host_id, status="failed")
    alert = wait_alert(admin, "job_failed", host.host_id)
    receiver.wait_event("alert.opened", alert["id"])

    def opened():
        return receiver.received(lambda r: r.event == "alert.opened" and r.json()["alert"]["id"] == alert["id"])

    def a_minute_passes():
        """Written into the store rather than waited for: the alert and its last notification are 2 min old."""
        past = sqlite_time(utcnow() - datetime.timedelta(minutes=2))
        db_execute(server, "UPDATE alerts SET opened_at = ?, last_notified_at = ? WHERE id = ?",
                   (past, past, alert["id"]))
        db_execute(server, "UPDATE notifications SET created_at = ? WHERE alert_id = ?", (past, alert["id"]))

    assert_stays(lambda: len(opened()) == 1, seconds=2, message="no repeat before a minute", agent=agent)
    a_minute_passes()
    repeats = wait_for(lambda: (found if len(found := opened()) >= 2 else None), timeout=15,
                       message="a repeated alert.opened")
    assert repeats[1].delivery_id != repeats[0].delivery_id  # a new notification, not a retry of the first
    assert repeats[1].json()["alert"]["state"] == "open"

    response = operator.post(f"/api/v1/alerts/{alert['id']}/acknowledge")
    assert response.status_code == 200, response.text
    count = len(opened())
    a_minute_passes()
    assert_stays(lambda: len(opened()) == count, seconds=3, message="no repeat after the acknowledgement",
                 agent=agent)


def test_https_receivers_are_verified_against_the_notify_ca_file(tmp_path, tls_files):
    secure = Receiver(tls_files)
    servers = []
    try:
        (tmp_path / "trusting").mkdir()
        (tmp_path / "default").mkdir()
        trusting = start_alert_server(tmp_path / "trusting", "--notify-ca-file", str(tls_files.cert))
        servers.append(trusting)
        admin = Client(trusting, "admin", trusting.admin_password)
        channel = webhook(admin, secure.url("/secure"))
        delivery_id = send_test(admin, channel["id"])
        wait_delivered(admin, channel["id"], delivery_id)
        assert secure.received(lambda r: r.delivery_id == delivery_id)

        # A server that was not given the CA does not trust the certificate, and sends nothing.
        default = start_alert_server(tmp_path / "default")
        servers.append(default)
        admin = Client(default, "admin", default.admin_password)
        channel = webhook(admin, secure.url("/secure"))
        refused = send_test(admin, channel["id"])
        attempt = wait_attempted(admin, channel["id"], refused)
        assert attempt["status"] != "delivered" and attempt["delivered_at"] is None, attempt
        assert secure.received(lambda r: r.delivery_id == refused) == []
    finally:
        for srv in servers:
            srv.stop()
        secure.stop()


def test_bad_notification_flags_are_refused_at_start(tmp_path):
    for flags, named in ((["--notify-ca-file", str(tmp_path / "missing.pem")], "notify-ca-file"),
                         (["--alert-interval-seconds", "0"], "alert-interval-seconds")):
        argv, env = server_command("serve", "--data-dir", str(tmp_path / "data"), "--listen", "127.0.0.1:0", *flags)
        result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=10)
        assert result.returncode != 0, result
        assert named in result.stderr + result.stdout, result
