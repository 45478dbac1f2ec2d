"""Durable, at-least-once delivery across a server restart (SPEC §9.3, docs/alerts.md "Delivery").

The receiver is down when an alert opens; the failed attempt is recorded;
the server is stopped (SIGTERM) and started again on the same data dir; the
receiver comes back. The notification then arrives exactly once, under the
delivery id it had before the restart: the receiver de-duplicates on
`X-RM-Delivery` and sees one id, and it counts the requests for that id,
so "once" is told apart from "twice". A second restart and a fresh test
event (delivered after it) show that nothing already delivered is sent again.
"""
from api_support import parse_time
from conftest import Agent, Client, enroll_host
from notify_support import (deliveries, run_to_end, send_test, start_alert_server, wait_alert,
                            wait_attempted, wait_delivered, webhook)
from notify_support import receiver  # noqa: F401 (fixture)


def test_a_notification_made_while_the_receiver_was_down_arrives_once_after_a_restart(tmp_path, receiver):
    receiver.stop()  # down: connections are refused
    srv = start_alert_server(tmp_path)
    data_dir, password = srv.data_dir, srv.admin_password
    try:
        admin = Client(srv, "admin", password)
        channel = webhook(admin, receiver.url("/durable"), secret="durable-secret")
        host = enroll_host(admin, "durable-host")
        agent = Agent(srv, host.agent_token)
        run_to_end(admin, agent, host.host_id, status="failed")
        alert = wait_alert(admin, "job_failed", host.host_id)

        [made] = [d for d in deliveries(admin, channel["id"]) if d["alert_id"] == alert["id"]]
        assert made["event"] == "alert.opened"
        failed = wait_attempted(admin, channel["id"], made["id"])
        assert failed["status"] == "pending" and failed["attempts"] == 1 and failed["delivered_at"] is None, failed
        assert parse_time(failed["next_attempt_at"]) > parse_time(failed["created_at"])
        agent.close()
        assert srv.stop() == 0
    finally:
        srv.stop()

    again = start_alert_server(tmp_path, data_dir=data_dir)
    try:
        receiver.start()  # back, on the same port
        admin = Client(again, "admin", password)
        got = receiver.wait(lambda r: r.delivery_id == made["id"], timeout=40, message="the delivery after restart")
        assert got[0].json()["delivery_id"] == made["id"] and got[0].json()["alert"]["id"] == alert["id"]
        sent = wait_delivered(admin, channel["id"], made["id"])
        assert sent["attempts"] >= 2, sent
        assert sent["created_at"] == made["created_at"]
        assert again.stop() == 0
    finally:
        again.stop()

    # Once more: a restart does not send what was delivered; a later test event proves the sender ran.
    third = start_alert_server(tmp_path, data_dir=data_dir)
    try:
        admin = Client(third, "admin", password)
        probe = send_test(admin, channel["id"])
        receiver.wait(lambda r: r.delivery_id == probe, message="the probe after the second restart")
        wait_delivered(admin, channel["id"], probe)
    finally:
        third.stop()

    opened = receiver.received(lambda r: r.event == "alert.opened")
    assert {r.delivery_id for r in opened} == {made["id"]}, "the alert was notified under another delivery id"
    assert len(opened) == 1, f"delivered {len(opened)} times, not once"
    assert {r.json()["alert"]["id"] for r in opened} == {alert["id"]}
