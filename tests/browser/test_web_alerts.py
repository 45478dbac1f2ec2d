"""The alert pages in a real browser: an alert opened by a failed backup is
listed and acknowledged, the rules page changes a threshold, the channels
page creates a webhook whose test reaches a real local HTTP receiver, and
the schedule editor saves a ping URL it never shows again. Every page is
photographed.

The host is enrolled through the API and driven by a raw protocol agent
(the e2e `Agent`), so a failed job, and with it the alert, takes a second.
The tests share one server (module fixture) and run in file order.
"""
from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import SCREENSHOTS, Browser, e2e, wait_for



class HookReceiver:
    """A tiny HTTP server on 127.0.0.1 that answers 200 and keeps each request."""

    def __init__(self):
        self.requests: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.requests.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                                          "body": body})
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def hook():
    receiver = HookReceiver()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="module")
def admin_browser(stack) -> Browser:
    browser = stack.browser("admin")
    browser.login("admin", stack.server.admin_password)
    assert browser.exists("#logout-form"), browser.find("body").text[:300]
    return browser


@pytest.fixture(scope="module")
def world(stack):
    """A host with a raw agent connected and a backup schedule."""
    host = e2e.enroll_host(stack.admin, hostname="alerting-host")
    agent = e2e.Agent(stack.server, host.agent_token)
    schedule = stack.admin.post(f"/api/v1/hosts/{host.host_id}/schedules",
                                json={"kind": "backup", "cron_expr": "15 4 1 1 *", "paths": ["/etc"]})
    assert schedule.status_code == 201, schedule.text
    yield {"host": host.host_id, "agent": agent, "schedule": schedule.json()["id"]}
    agent.close()


def fail_a_backup(stack, world) -> None:
    """Run now, and the agent reports that restic failed."""
    agent = world["agent"]
    response = stack.admin.post(f"/api/v1/hosts/{world['host']}/jobs", json={"kind": "backup", "args": ["/etc"]})
    assert response.status_code == 201, response.text
    job_id = response.json()["id"]
    assert agent.expect("command.run")["payload"]["job_id"] == job_id
    agent.send_acked("command.result", {"job_id": job_id, "accepted": True})
    agent.send_acked("job.started", {"job_id": job_id, "kind": "backup", "started_at": e2e.now_rfc3339()})
    agent.send_acked("job.finished", {"job_id": job_id, "status": "failed", "exit_code": 1,
                                      "finished_at": e2e.now_rfc3339(), "error": "restic exited with 1"})


def open_alerts(stack, host_id: str) -> list[dict]:
    response = stack.admin.get("/api/v1/alerts", params={"state": "open", "host_id": host_id})
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_alerts_page_shows_the_alert_and_acknowledges_it(stack, admin_browser, world):
    fail_a_backup(stack, world)
    (alert,) = wait_for(lambda: open_alerts(stack, world["host"]), timeout=20, message="the job_failed alert")
    browser = admin_browser
    browser.open("/alerts")
    row_css = f"#open-alerts tr[data-alert-id='{alert['id']}']"
    row = browser.wait_css(row_css)
    assert "job_failed" in row.text and "alerting-host" in row.text and "warning" in row.text, row.text
    assert browser.text("#open-alert-count") == "1", "the nav does not count the open alert"
    browser.shot("alerts")

    browser.submit(f"{row_css} form.acknowledge")
    assert browser.path == "/alerts", browser.path
    assert "acknowledged" in browser.text("#flash").lower()
    row = browser.find(row_css)
    assert "admin" in row.text and not browser.find_all(f"{row_css} form.acknowledge"), row.text
    stored = stack.admin.get(f"/api/v1/alerts/{alert['id']}").json()
    assert stored["state"] == "open" and stored["acknowledged_by"] == "user:admin", stored
    browser.shot("alerts-acknowledged")

    # The host page lists it near the top, with a link to all of the host's alerts.
    browser.open(f"/hosts/{world['host']}")
    section = browser.wait_css("#host-alerts")
    assert alert["id"] in browser.driver.page_source and "job_failed" in section.text
    browser.find("#host-alerts a[href^='/alerts?host_id=']").click()
    browser.wait(lambda: browser.path == "/alerts", 10, "the host's alerts")
    browser.wait_loaded()
    assert browser.find("#filter-host").get_attribute("value") == world["host"]
    browser.open(f"/hosts/{world['host']}")
    browser.shot("host-alerts")
    stack.state["alert"] = alert["id"]


def test_rules_page_changes_a_threshold(stack, admin_browser):
    browser = admin_browser
    browser.open("/alerts/rules")
    rows = browser.find_all("#rules tr[data-rule]")
    assert len(rows) == 7, [row.get_attribute("data-rule") for row in rows]
    form = "#rule-form-host_offline"
    browser.fill(form, threshold_minutes="not a number")
    browser.submit(form)
    assert browser.wait_css("#host_offline-threshold_minutes-error").text.strip()
    assert browser.field(form, "threshold_minutes").get_attribute("value") == "not a number"
    browser.shot("alert-rules-error")
    browser.fill(form, threshold_minutes="20", repeat_minutes="120")
    browser.submit(form)
    assert browser.path == "/alerts/rules" and "saved" in browser.text("#flash").lower()
    rule = next(r for r in stack.admin.get("/api/v1/alert-rules").json()["items"] if r["rule"] == "host_offline")
    assert (rule["threshold_minutes"], rule["repeat_minutes"]) == (20, 120), rule
    browser.shot("alert-rules")


def test_channels_page_creates_a_webhook_and_sends_a_test(stack, admin_browser, hook):
    browser = admin_browser
    browser.open("/alerts/channels")
    assert browser.exists("#no-channels")
    secret = stack.server.remember_secret(f"hook-secret-{uuid.uuid4().hex[:8]}")
    token = stack.server.remember_secret(f"tok-{uuid.uuid4().hex[:8]}")
    browser.fill("#webhook-form", name="ops chat", url=hook.url("/hook"), secret=secret,
                 headers=f"Authorization: Bearer {token}\nX-Team: ops")
    browser.shot("channels")
    browser.submit("#webhook-form")
    assert browser.path.startswith("/alerts/channels/"), f"{browser.path}: {browser.find('body').text[:500]}"
    channel_id = browser.path.rsplit("/", 1)[1]
    assert secret not in browser.driver.page_source and token not in browser.driver.page_source
    assert "set" in browser.field("#channel-form", "secret").get_attribute("placeholder")
    channel = stack.admin.get(f"/api/v1/notification-channels/{channel_id}").json()
    assert channel["config"] == {"url": hook.url("/hook"), "secret_set": True, "headers_set": True}, channel

    browser.submit("#test-form")
    assert browser.path == f"/alerts/channels/{channel_id}"
    assert "test queued" in browser.text("#flash").lower()
    request = wait_for(lambda: next((r for r in hook.requests if r["headers"].get("x-rm-event") == "test"), None),
                       timeout=20, message="the test at the receiver")
    assert request["headers"]["authorization"] == f"Bearer {token}"
    assert request["headers"]["x-rm-signature"].startswith("sha256=")
    assert json.loads(request["body"])["alert"] is None

    def delivered():
        browser.open(f"/alerts/channels/{channel_id}")
        return browser.find_all("#deliveries tr[data-status='delivered']")

    browser.wait(delivered, 20, "a delivered row under Recent deliveries")
    assert "test" in browser.text("#deliveries")
    browser.shot("channel")
    browser.open("/alerts/channels")
    assert browser.find_all(f"#channels tr[data-channel-id='{channel_id}']")
    browser.shot("channels-list")


def test_schedule_editor_saves_a_ping_url_and_never_shows_it_again(stack, admin_browser, world):
    browser = admin_browser
    url = stack.server.remember_secret(f"https://hc-ping.example/{uuid.uuid4()}")
    browser.open(f"/schedules/{world['schedule']}/edit")
    assert "not set" in browser.field("#schedule-form", "ping_url").get_attribute("placeholder")
    browser.fill("#schedule-form", ping_url=url)
    browser.submit("#schedule-form")
    assert browser.path == f"/hosts/{world['host']}", browser.find("body").text[:500]
    assert stack.admin.get(f"/api/v1/schedules/{world['schedule']}").json()["ping_url_set"] is True
    browser.open(f"/schedules/{world['schedule']}/edit")
    field = browser.field("#schedule-form", "ping_url")
    assert field.get_attribute("value") == "" and "set" in field.get_attribute("placeholder")
    assert url not in browser.driver.page_source and url.rsplit("/", 1)[1] not in browser.driver.page_source
    assert browser.exists("#clear_ping_url")
    browser.find("#ping_url").location_once_scrolled_into_view
    browser.shot("schedule-ping-url")


def test_viewer_sees_alerts_without_controls(stack, world):
    needs_alert = stack.state.get("alert")
    if needs_alert is None:
        pytest.skip("the alert test did not run")
    username, password = f"viewer-{uuid.uuid4().hex[:6]}", stack.server.remember_secret(f"pw-{uuid.uuid4().hex}")
    created = stack.admin.post("/api/v1/users", json={"username": username, "password": password, "role": "viewer"})
    assert created.status_code == 201, created.text
    viewer = stack.browser("viewer")
    viewer.login(username, password)
    viewer.open("/alerts")
    assert viewer.find_all(f"tr[data-alert-id='{needs_alert}']")
    assert not viewer.exists("form.acknowledge") and not viewer.exists("#channels-link")
    viewer.open("/alerts/rules")
    assert not viewer.exists("form.rule-form") and len(viewer.find_all("#rules tr[data-rule]")) == 7
    viewer.shot("alert-rules-viewer")


EXPECTED_SHOTS = ("alerts", "alerts-acknowledged", "host-alerts", "alert-rules", "alert-rules-error", "channels",
                  "channel", "channels-list", "schedule-ping-url", "alert-rules-viewer")


def test_every_alert_page_was_photographed_and_no_script_failed(stack):
    missing = [name for name in EXPECTED_SHOTS
               if not (SCREENSHOTS / f"{name}.png").exists()
               or (SCREENSHOTS / f"{name}.png").read_bytes()[:8] != b"\x89PNG\r\n\x1a\n"]
    errors = [error for browser in stack.browsers for error in browser.collect_console()]
    assert not errors, f"the browser console reported errors: {errors}"
    assert not missing, f"no screenshot of {missing}"
    for secret in stack.server.secrets:
        for browser in stack.browsers:
            assert secret not in browser.driver.page_source
