"""The alert pages without JavaScript: the alerts list and its filters, the
host page's open alerts, acknowledging, the rules page, the channel pages and
the schedule editor's write-only ping URL. Every form goes through the same
operation as the API, so each test checks the result through the API too,
and that a role that may not gets the 403 page and changes nothing."""
import pytest

from api_support import create_schedule
from conftest import Agent, enroll_host, wait_for
from notify_support import Receiver, all_alerts, rules_by_name, run_to_end, start_alert_server, wait_alert
from web_support import assert_error_page, assert_form_refused, browser_for, create_login, doc, form_values, location_path
from web_support import admin_browser, api_admin  # noqa: F401 (module-scoped fixtures)


@pytest.fixture(scope="module")
def web_server(tmp_path_factory):
    """Rules evaluated every second, so alerts open while the test waits. The
    module's raw agent sends no heartbeats between tests: a long offline
    threshold keeps its socket, however slowly the machine runs the module."""
    server = start_alert_server(tmp_path_factory.mktemp("web-alerts"), "--agent-offline-after", "600")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def viewer(web_server, api_admin):
    return browser_for(web_server, *create_login(api_admin, "viewer"))


@pytest.fixture(scope="module")
def operator(web_server, api_admin):
    username, password = create_login(api_admin, "operator")
    browser = browser_for(web_server, username, password)
    browser.username = username
    return browser


@pytest.fixture(scope="module")
def receiver():
    hook = Receiver()
    yield hook
    hook.stop()


@pytest.fixture(scope="module")
def world(web_server, api_admin):
    """A host whose backup failed: one open job_failed alert."""
    host = enroll_host(api_admin, hostname="alert-host")
    agent = Agent(web_server, host.agent_token)
    run_to_end(api_admin, agent, host.host_id, status="failed")
    alert = wait_alert(api_admin, "job_failed", host.host_id)
    channel = api_admin.post("/api/v1/notification-channels", json={
        "name": "api-made", "kind": "webhook", "config": {"url": "http://127.0.0.1:9/unused"}, "enabled": False})
    assert channel.status_code == 201, channel.text
    schedule = create_schedule(api_admin, host.host_id, cron_expr="15 4 1 1 *", paths=["/etc"])
    yield {"host": host.host_id, "alert": alert["id"], "channel": channel.json()["id"], "schedule": schedule["id"],
           "agent": agent}
    agent.close()


def channels(api_admin) -> list[dict]:
    return api_admin.get("/api/v1/notification-channels", params={"limit": 500}).json()["items"]


def test_alerts_page_lists_the_open_alert_and_filters_it(viewer, world):
    page = viewer.page("/alerts")
    row = page.by_id("open-alerts").find("tr", data_alert_id=world["alert"])
    assert row is not None, "the open alert is not in #open-alerts"
    assert row.get("data-state") == "open" and row.get("data-rule") == "job_failed"
    assert "warning" in row.text and "alert-host" in row.text
    assert row.find("a", href=f"/hosts/{world['host']}") is not None, "no link to the host"
    assert row.find("form", class_="acknowledge") is None, "a viewer is offered acknowledge"
    assert page.by_id("open-alert-count").text == "1", "the nav does not count the open alert"
    assert page.by_id("channels-link") is None, "a viewer is offered the channels page"
    # Bookmarkable filters, parsed like the API's.
    shown = viewer.page(f"/alerts?rule=job_failed&host_id={world['host']}")
    assert shown.find("tr", data_alert_id=world["alert"]) is not None
    assert form_values(shown.by_id("alert-filters")) == {"rule": "job_failed", "host_id": world["host"]}
    other = viewer.page("/alerts?rule=backup_missed")
    assert other.find("tr", data_alert_id=world["alert"]) is None and other.by_id("no-open-alerts") is not None
    assert_error_page(viewer.get("/alerts?rule=nonsense"), 400, "rule")


def test_host_page_shows_open_alerts_and_the_operator_acknowledges(operator, viewer, world, api_admin):
    section = viewer.page(f"/hosts/{world['host']}").by_id("host-alerts")
    assert section is not None and section.find("tr", data_alert_id=world["alert"]) is not None
    assert section.find("form", class_="acknowledge") is None
    # A viewer's hand-made acknowledge is refused.
    assert_error_page(viewer.submit(f"/alerts/{world['alert']}/acknowledge", {"return_to": "/alerts"}), 403)
    assert api_admin.get(f"/api/v1/alerts/{world['alert']}").json()["acknowledged_at"] is None

    form = operator.page(f"/hosts/{world['host']}").by_id("host-alerts").find("form", class_="acknowledge")
    assert form is not None and form.get("action") == f"/alerts/{world['alert']}/acknowledge"
    response = operator.post(form.get("action"), data=form_values(form))
    assert response.status_code == 303 and location_path(response) == f"/hosts/{world['host']}"
    alert = api_admin.get(f"/api/v1/alerts/{world['alert']}").json()
    assert alert["state"] == "open" and alert["acknowledged_by"] == f"user:{operator.username}", alert
    page = operator.page(f"/hosts/{world['host']}")
    assert "acknowledged" in page.by_id("flash").text.lower()
    row = page.by_id("host-alerts").find("tr", data_alert_id=world["alert"])
    assert operator.username in row.text and row.find("form", class_="acknowledge") is None
    # An off-site return_to lands on the alerts page, not elsewhere.
    response = operator.submit(f"/alerts/{world['alert']}/acknowledge", {"return_to": "//evil.example/x"})
    assert response.status_code == 303 and location_path(response) == "/alerts"


def test_rules_page_is_read_only_for_viewers_and_operators(viewer, operator):
    for browser in (viewer, operator):
        page = browser.page("/alerts/rules")
        rows = page.by_id("rules").find_all("tr", data_rule=True)
        assert [row.get("data-rule") for row in rows] == ["backup_missed", "backup_stale", "job_failed",
                                                          "host_offline", "check_failed", "schedule_pending",
                                                          "repo_locked"]
        assert page.find_all("form", class_="rule-form") == [], "a non-admin is shown rule forms"
        assert "60 min" in page.find("tr", data_rule="backup_missed").text


@pytest.mark.parametrize("path,fields", [
    ("/alerts/rules/host_offline", {"enabled": "on", "threshold_minutes": "1"}),
    ("/alerts/channels", {"kind": "webhook", "name": "by-role", "url": "http://127.0.0.1:9/x",
                          "event_alert_opened": "on", "enabled": "on"}),
    ("/alerts/channels/{channel}", {"name": "renamed-by-role", "url": "http://127.0.0.1:9/y", "enabled": "on",
                                    "event_alert_opened": "on"}),
    ("/alerts/channels/{channel}/test", {}),
    ("/alerts/channels/{channel}/delete", {}),
])
def test_viewer_and_operator_alert_settings_posts_are_refused(viewer, operator, world, api_admin, path, fields):
    before = (rules_by_name(api_admin), channels(api_admin),
              api_admin.get(f"/api/v1/notification-channels/{world['channel']}/deliveries").json())
    for browser in (viewer, operator):
        assert_error_page(browser.submit(path.format(**world), fields), 403)
    assert (rules_by_name(api_admin), channels(api_admin),
            api_admin.get(f"/api/v1/notification-channels/{world['channel']}/deliveries").json()) == before
    for browser in (viewer, operator):
        assert_error_page(browser.get("/alerts/channels"), 403)
        assert_error_page(browser.get(f"/alerts/channels/{world['channel']}"), 403)


def test_admin_changes_a_rule_and_a_refused_form_keeps_what_was_typed(admin_browser, api_admin):
    form = admin_browser.page("/alerts/rules").by_id("rule-form-host_offline")
    values = form_values(form)
    assert values == {"csrf_token": values["csrf_token"], "enabled": "on", "threshold_minutes": "15",
                      "repeat_minutes": ""}
    response = admin_browser.post(form.get("action"), data=dict(values, threshold_minutes="0.5", repeat_minutes="30"))
    assert response.status_code == 303 and location_path(response) == "/alerts/rules#rule-host_offline"
    rule = rules_by_name(api_admin)["host_offline"]
    assert (rule["enabled"], rule["threshold_minutes"], rule["repeat_minutes"]) == (True, 0.5, 30)
    page = admin_browser.page("/alerts/rules")
    assert form_values(page.by_id("rule-form-host_offline"))["threshold_minutes"] == "0.5"
    # Empty threshold: back to the default; empty repeat: none; unchecked: disabled.
    response = admin_browser.post(form.get("action"), data={"csrf_token": values["csrf_token"], "threshold_minutes": "",
                                                             "repeat_minutes": ""})
    assert response.status_code == 303
    rule = rules_by_name(api_admin)["host_offline"]
    assert (rule["enabled"], rule["threshold_minutes"], rule["repeat_minutes"]) == (False, 15, None)
    # Refused: the page again, the typed value in place, the message next to the field.
    for typed, status in (("soon", 400), ("0", 400), ("600000", 400)):
        response = admin_browser.post(form.get("action"), data=dict(values, threshold_minutes=typed))
        assert_form_refused(response, status, "rule-form-host_offline", "threshold_minutes")
        refused = doc(response)
        assert form_values(refused.by_id("rule-form-host_offline"))["threshold_minutes"] == typed
        assert refused.by_id("host_offline-threshold_minutes-error") is not None
    # A rule without a threshold has no such input, and a hand-made one is the API's refusal.
    assert "threshold_minutes" not in form_values(admin_browser.page("/alerts/rules").by_id("rule-form-job_failed"))
    response = admin_browser.submit("/alerts/rules/job_failed", {"enabled": "on", "threshold_minutes": "5"})
    assert_form_refused(response, 400, "rule-form-job_failed", "no threshold")
    assert rules_by_name(api_admin)["job_failed"]["threshold_minutes"] is None
    assert_error_page(admin_browser.submit("/alerts/rules/no_such_rule", {"enabled": "on"}), 404)
    set_back = admin_browser.submit("/alerts/rules/host_offline", {"enabled": "on", "threshold_minutes": ""})
    assert set_back.status_code == 303


def test_admin_creates_a_webhook_with_write_only_secrets_and_sends_a_test(web_server, admin_browser, api_admin,
                                                                          receiver):
    page = admin_browser.page("/alerts/channels")
    form = page.by_id("webhook-form")
    values = form_values(form)
    assert values["kind"] == "webhook" and values["event_alert_opened"] == "on" and values["enabled"] == "on"
    secret = web_server.remember_secret("hook-signing-secret-123")
    token = web_server.remember_secret("Bearer header-token-456")
    # A malformed header line is refused; the name and URL stay, the secrets are not echoed.
    typed = dict(values, name="ops-hook", url=receiver.url("/hook"), secret=secret,
                 headers=f"Authorization: {token}\nno colon here")
    response = admin_browser.post("/alerts/channels", data=typed)
    assert_form_refused(response, 400, "webhook-form", "headers", "line 2", "enter them again")
    refused = doc(response)
    again = form_values(refused.by_id("webhook-form"))
    assert (again["name"], again["url"], again["secret"], again["headers"]) == ("ops-hook", receiver.url("/hook"), "", "")
    assert refused.by_id("headers-error") is not None
    assert secret not in response.text and "header-token-456" not in response.text
    assert all(c["name"] != "ops-hook" for c in channels(api_admin))

    response = admin_browser.post("/alerts/channels", data=dict(typed, headers=f"Authorization: {token}\nX-Team: ops"))
    assert response.status_code == 303, response.text[:800]
    channel_id = location_path(response).removeprefix("/alerts/channels/")
    channel = api_admin.get(f"/api/v1/notification-channels/{channel_id}").json()
    assert channel["config"] == {"url": receiver.url("/hook"), "secret_set": True, "headers_set": True}
    assert channel["events"] == ["alert.opened", "alert.resolved"] and channel["enabled"] is True

    page_response = admin_browser.get(f"/alerts/channels/{channel_id}")
    assert secret not in page_response.text and "header-token-456" not in page_response.text
    edit = doc(page_response).by_id("channel-form")
    assert "set" in edit.find("input", name="secret").get("placeholder")
    assert edit.find("input", name="clear_secret") is not None and edit.find("input", name="clear_headers") is not None
    listed = admin_browser.page("/alerts/channels").find("tr", data_channel_id=channel_id)
    assert listed is not None and receiver.url("/hook") in listed.text and "webhook" in listed.text

    # Send test: queued, delivered to the receiver with the stored secret and headers.
    test = admin_browser.submit(f"/alerts/channels/{channel_id}/test")
    assert test.status_code == 303 and location_path(test) == f"/alerts/channels/{channel_id}#deliveries"
    hit = receiver.wait_event("test")
    assert hit.header("Authorization") == token and hit.header("X-Team") == "ops"
    assert hit.header("X-RM-Signature").startswith("sha256=")
    page = admin_browser.page(f"/alerts/channels/{channel_id}")
    assert "test queued" in page.by_id("flash").text.lower()

    def delivered_row():
        row = admin_browser.page(f"/alerts/channels/{channel_id}").by_id("deliveries").find("tr", data_delivery_id=True)
        return row if row is not None and row.get("data-status") == "delivered" else None

    row = wait_for(delivered_row, timeout=20, message="a delivered row")
    assert "test" in row.text

    # Saving with the secret fields empty keeps them; the checkboxes clear them.
    fields = form_values(edit)
    assert fields["secret"] == "" and fields["headers"] == ""
    response = admin_browser.post(f"/alerts/channels/{channel_id}", data=dict(fields, name="ops-hook-2"))
    assert response.status_code == 303
    channel = api_admin.get(f"/api/v1/notification-channels/{channel_id}").json()
    assert channel["name"] == "ops-hook-2" and channel["config"]["secret_set"] and channel["config"]["headers_set"]
    response = admin_browser.post(f"/alerts/channels/{channel_id}",
                                  data=dict(fields, clear_secret="on", clear_headers="on", event_alert_resolved=None))
    assert response.status_code == 303
    channel = api_admin.get(f"/api/v1/notification-channels/{channel_id}").json()
    assert channel["config"] == {"url": receiver.url("/hook"), "secret_set": False, "headers_set": False}
    assert channel["events"] == ["alert.opened"]

    # Delete, behind the confirm pattern.
    page = admin_browser.page(f"/alerts/channels/{channel_id}")
    delete = page.by_id("delete-channel-form")
    assert delete.get("data-confirm")
    assert admin_browser.post(delete.get("action"), data=form_values(delete)).status_code == 303
    assert api_admin.get(f"/api/v1/notification-channels/{channel_id}").status_code == 404


def test_admin_creates_an_email_channel_with_recipients_one_per_line(web_server, admin_browser, api_admin):
    values = form_values(admin_browser.page("/alerts/channels").by_id("email-form"))
    assert values["kind"] == "email" and values["security"] == "starttls" and values["port"] == "587"
    password = web_server.remember_secret("smtp-password-789")
    typed = dict(values, name="ops-mail", host="smtp.example.test", port="2525", username="rm", password=password,
                 **{"from": "rm@example.test"}, to="ops@example.test\nbad address\n")
    response = admin_browser.post("/alerts/channels", data=typed)
    assert_form_refused(response, 400, "email-form", "to[1]", "password you typed")
    refused = doc(response)
    assert refused.by_id("to-error") is not None
    assert form_values(refused.by_id("email-form"))["to"] == "ops@example.test\nbad address\n"
    assert password not in response.text
    response = admin_browser.post("/alerts/channels", data=dict(typed, to="ops@example.test\n\noncall@example.test"))
    assert response.status_code == 303, response.text[:800]
    channel_id = location_path(response).removeprefix("/alerts/channels/")
    config = api_admin.get(f"/api/v1/notification-channels/{channel_id}").json()["config"]
    assert config == {"host": "smtp.example.test", "port": 2525, "security": "starttls", "username": "rm",
                      "from": "rm@example.test", "to": ["ops@example.test", "oncall@example.test"],
                      "password_set": True}
    edit = admin_browser.page(f"/alerts/channels/{channel_id}").by_id("channel-form")
    assert form_values(edit)["to"] == "ops@example.test\noncall@example.test"
    assert edit.find("input", name="clear_password") is not None
    response = admin_browser.post(f"/alerts/channels/{channel_id}", data=dict(form_values(edit), port="many"))
    assert_form_refused(response, 400, "channel-form", "port")
    assert doc(response).by_id("port-error") is not None


def test_schedule_ping_url_is_write_only(operator, world, api_admin, web_server):
    url = web_server.remember_secret("https://hc-ping.example/0f3c-secret-uuid")
    path = f"/schedules/{world['schedule']}/edit"
    fields = form_values(operator.page(path).by_id("schedule-form"))
    assert fields["ping_url"] == ""
    # Refused: not echoed, and the message says so.
    response = operator.post(f"/schedules/{world['schedule']}", data=dict(fields, ping_url="ftp://nope.example/x"))
    assert_form_refused(response, 400, "schedule-form", "ping_url")
    assert doc(response).by_id("ping_url-error") is not None and "ftp://nope" not in form_values(
        doc(response).by_id("schedule-form"))["ping_url"]
    response = operator.post(f"/schedules/{world['schedule']}", data=dict(fields, ping_url=url))
    assert response.status_code == 303, response.text[:500]
    assert api_admin.get(f"/api/v1/schedules/{world['schedule']}").json()["ping_url_set"] is True
    page = operator.get(path)
    assert url not in page.text and "0f3c-secret-uuid" not in page.text
    form = doc(page).by_id("schedule-form")
    assert "set" in form.find("input", name="ping_url").get("placeholder")
    # Empty keeps it; the checkbox clears it.
    assert operator.post(f"/schedules/{world['schedule']}", data=form_values(form)).status_code == 303
    assert api_admin.get(f"/api/v1/schedules/{world['schedule']}").json()["ping_url_set"] is True
    response = operator.post(f"/schedules/{world['schedule']}", data=dict(form_values(form), clear_ping_url="on"))
    assert response.status_code == 303
    assert api_admin.get(f"/api/v1/schedules/{world['schedule']}").json()["ping_url_set"] is False
    for secret in web_server.secrets:
        assert secret not in operator.get("/alerts").text


def test_resolved_alerts_are_listed_apart_and_paged(web_server, admin_browser, api_admin, world):
    run_to_end(api_admin, world["agent"], world["host"])  # the next backup succeeds: the alert resolves
    wait_for(lambda: api_admin.get(f"/api/v1/alerts/{world['alert']}").json()["state"] == "resolved", timeout=15,
             message="the alert to resolve")
    page = admin_browser.page("/alerts")
    assert page.by_id("open-alerts").find("tr", data_alert_id=world["alert"]) is None
    row = page.by_id("resolved-alerts").find("tr", data_alert_id=world["alert"])
    assert row is not None and row.get("data-state") == "resolved" and "resolved" in row.text
    assert row.find("form", class_="acknowledge") is None
    # More failures and recoveries than one page: the resolved list pages with its own cursor.
    for _ in range(3):
        run_to_end(api_admin, world["agent"], world["host"], status="failed")
        wait_alert(api_admin, "job_failed", world["host"])
        run_to_end(api_admin, world["agent"], world["host"])
        wait_for(lambda: not [a for a in all_alerts(api_admin) if a["state"] == "open" and a["rule"] == "job_failed"],
                 timeout=15, message="the alert to resolve")
    first = admin_browser.page("/alerts?limit=2")
    ids = [r.get("data-alert-id") for r in first.by_id("resolved-alerts").find_all("tr", data_alert_id=True)]
    assert len(ids) == 2
    second = admin_browser.page(first.by_id("next-page").get("href"))
    more = [r.get("data-alert-id") for r in second.by_id("resolved-alerts").find_all("tr", data_alert_id=True)]
    assert more and not set(more) & set(ids)
