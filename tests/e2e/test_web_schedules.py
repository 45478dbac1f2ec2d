"""The schedule editor: a refused form comes back with what was typed and the
message at its field; a good one is saved through the API's own operation;
edit and delete; and the cron preview API the editor calls."""
import datetime
import urllib.parse

import pytest

from conftest import Client
from api_support import Anonymous, assert_error, create_api_token, enroll_bare_host, parse_time
from web_support import assert_error_page, create_login, doc, form_values, location_path
from web_support import admin_browser, api_admin, web_server  # noqa: F401 (module-scoped fixtures)


@pytest.fixture(scope="module")
def host(api_admin):
    return enroll_bare_host(api_admin, "schedule-host").host_id


@pytest.fixture(scope="module")
def reader(api_admin):
    return create_api_token(api_admin, "schedules-reader")


def schedules(reader, host):
    response = reader.get(f"/api/v1/hosts/{host}/schedules")
    assert response.status_code == 200, response.text
    return response.json()["items"]


def new_form(browser, host) -> dict:
    page = browser.page(f"/hosts/{host}/schedules/new")
    form = page.by_id("schedule-form")
    assert form.get("action") == f"/hosts/{host}/schedules" and form.get("method") == "post"
    return form_values(form)


def test_new_form_shows_defaults_and_a_server_side_preview(admin_browser, host):
    page = admin_browser.page(f"/hosts/{host}/schedules/new")
    fields = form_values(page.by_id("schedule-form"))
    assert fields["kind"] == "backup" and fields["cron_expr"] == "0 2 * * *" and fields["enabled"] == "on"
    for name in ("paths", "excludes", "tags", "keep_last", "keep_daily", "keep_yearly", "keep_within", "options",
                 "pre_hook", "post_hook", "csrf_token"):
        assert name in fields, name
    cron = page.by_id("cron_expr")
    assert cron.get("data-preview-url") == f"/api/v1/hosts/{host}/schedules/preview"
    assert len(page.by_id("cron-preview").find_all("li")) == 5
    assert page.by_id("cron_expr-error").has("hidden")
    assert page.by_id("form-error") is None


def test_bad_cron_comes_back_with_the_message_and_the_typed_values(admin_browser, host, reader):
    before = schedules(reader, host)
    fields = new_form(admin_browser, host)
    typed = {"cron_expr": "61 * * * *", "paths": "/etc\r\n/home/user", "excludes": "*.tmp", "tags": "nightly, db",
             "keep_daily": "7", "keep_within": "30d", "options": '{"one_file_system": true}',
             "pre_hook": "echo before"}
    fields.update(typed)
    response = admin_browser.post(f"/hosts/{host}/schedules", data=fields)
    assert response.status_code == 400, response.text[:500]
    page = doc(response)
    error = page.by_id("cron_expr-error")
    assert error is not None and not error.has("hidden")
    assert "minute" in error.text.lower()
    assert page.by_id("cron_expr").get("aria-invalid") == "true"
    assert "not saved" in page.by_id("form-error").text and "cron_expr" in page.by_id("form-error").text
    assert page.by_id("cron-preview").find_all("li") == []
    again = form_values(page.by_id("schedule-form"))
    for name, value in typed.items():
        assert again[name].replace("\r\n", "\n") == value.replace("\r\n", "\n"), name
    assert again["kind"] == "backup" and again["enabled"] == "on"
    # The form still posts to the same place, with a working token.
    assert page.by_id("schedule-form").get("action") == f"/hosts/{host}/schedules"
    assert again["csrf_token"] == fields["csrf_token"]
    assert schedules(reader, host) == before


@pytest.mark.parametrize("change,field,words", [
    ({"keep_daily": "seven"}, "keep_daily", ["whole number"]),
    ({"options": "not json"}, "options", ["JSON object"]),
    ({"options": "[1, 2]"}, "options", ["JSON object"]),
    ({"paths": "/etc\n--password-command=id"}, "paths", ["paths[1]"]),
    ({"paths": ""}, "paths", []),
    ({"kind": "restore"}, "kind", []),
])
def test_other_field_errors_land_next_to_their_field(admin_browser, host, reader, change, field, words):
    before = schedules(reader, host)
    fields = new_form(admin_browser, host)
    fields.update(paths="/etc")
    fields.update(change)
    response = admin_browser.post(f"/hosts/{host}/schedules", data=fields)
    assert response.status_code == 400, response.text[:500]
    page = doc(response)
    error = page.by_id(f"{field}-error")
    assert error is not None and error.text, f"no #{field}-error"
    for word in words:
        assert word in error.text, (word, error.text)
    assert page.by_id("form-error") is not None
    assert schedules(reader, host) == before


def test_good_form_creates_the_schedule(admin_browser, host, reader):
    fields = new_form(admin_browser, host)
    fields.update(cron_expr="30 2 * * *", paths="/etc\r\n\r\n  /home/user  \r\n/var/lib/db\r\n",
                  excludes="*.tmp\n/home/*/.cache", tags="nightly, db ,, good-form", keep_daily="7",
                  keep_weekly="4", keep_within="30d", keep_tags="keep, forever", prune="on",
                  options='{"one_file_system": true, "compression": "max"}', pre_hook="echo before\r\necho again",
                  post_hook="")
    response = admin_browser.post(f"/hosts/{host}/schedules", data=fields)
    assert response.status_code == 303, response.text[:800]
    assert location_path(response) == f"/hosts/{host}#schedules"
    [schedule] = [s for s in schedules(reader, host) if "good-form" in s["tags"]]
    assert schedule["kind"] == "backup" and schedule["cron_expr"] == "30 2 * * *" and schedule["enabled"] is True
    assert schedule["paths"] == ["/etc", "/home/user", "/var/lib/db"]
    assert schedule["excludes"] == ["*.tmp", "/home/*/.cache"]
    assert schedule["tags"] == ["nightly", "db", "good-form"]
    policy = schedule["retention_policy"]
    assert policy["keep_daily"] == 7 and policy["keep_weekly"] == 4 and policy["keep_within"] == "30d"
    assert policy["keep_tags"] == ["keep", "forever"] and policy["prune"] is True
    assert "keep_last" not in policy
    assert schedule["options"] == {"one_file_system": True, "compression": "max"}
    assert schedule["pre_hook"] == "echo before\necho again" and schedule["post_hook"] == ""
    runs = [parse_time(run) for run in schedule["next_runs"]]
    assert len(runs) == 5 and all((r.hour, r.minute) == (2, 30) for r in runs)
    # The host page lists it with its own run-now and edit link, and says so once.
    page = admin_browser.page(f"/hosts/{host}")
    row = page.find("tr", data_schedule_id=schedule["id"])
    assert row is not None and "30 2 * * *" in row.text and "/etc, /home/user, /var/lib/db" in row.text
    assert row.find("a", href=f"/schedules/{schedule['id']}/edit") is not None
    assert "created" in page.by_id("flash").text.lower()


def test_edit_changes_and_delete_removes(admin_browser, host, reader):
    fields = new_form(admin_browser, host)
    fields.update(cron_expr="0 5 * * 1", paths="/srv", tags="edit-me", keep_last="3")
    assert admin_browser.post(f"/hosts/{host}/schedules", data=fields).status_code == 303
    [schedule] = [s for s in schedules(reader, host) if s["tags"] == ["edit-me"]]

    page = admin_browser.page(f"/schedules/{schedule['id']}/edit")
    form = page.by_id("schedule-form")
    assert form.get("action") == f"/schedules/{schedule['id']}"
    values = form_values(form)
    assert (values["cron_expr"], values["paths"], values["tags"], values["keep_last"]) == \
        ("0 5 * * 1", "/srv", "edit-me", "3")
    # Change it and switch it off (an unchecked box is not sent).
    values.update(cron_expr="@hourly", paths="/srv\n/opt", keep_last="", keep_monthly="12")
    del values["enabled"]
    response = admin_browser.post(form.get("action"), data=values)
    assert response.status_code == 303, response.text[:800]
    assert location_path(response) == f"/hosts/{host}#schedules"
    changed = reader.get(f"/api/v1/schedules/{schedule['id']}").json()
    assert changed["cron_expr"] == "@hourly" and changed["paths"] == ["/srv", "/opt"]
    assert changed["enabled"] is False and changed["next_runs"] == []
    assert changed["retention_policy"] == {"keep_monthly": 12}
    # A bad edit changes nothing and shows the edit form again.
    values["cron_expr"] = "0 25 * * *"
    response = admin_browser.post(form.get("action"), data=values)
    assert response.status_code == 400
    assert "hour" in doc(response).by_id("cron_expr-error").text.lower()
    assert doc(response).by_id("delete-schedule-form") is not None
    assert reader.get(f"/api/v1/schedules/{schedule['id']}").json()["cron_expr"] == "@hourly"

    delete = page.by_id("delete-schedule-form")
    assert delete.get("action") == f"/schedules/{schedule['id']}/delete"
    response = admin_browser.post(delete.get("action"), data=form_values(delete))
    assert response.status_code == 303 and location_path(response) == f"/hosts/{host}#schedules"
    assert reader.get(f"/api/v1/schedules/{schedule['id']}").status_code == 404
    assert schedule["id"] not in [s["id"] for s in schedules(reader, host)]
    # Its edit page and a second delete are 404 pages.
    assert_error_page(admin_browser.get(f"/schedules/{schedule['id']}/edit"), 404)
    assert_error_page(admin_browser.submit(f"/schedules/{schedule['id']}/delete"), 404)


# --- The cron preview API -----------------------------------------------------

def preview(client, host, expr):
    # Encoded like app.js does it (encodeURIComponent: a space is %20, not +).
    return client.get(f"/api/v1/hosts/{host}/schedules/preview?cron_expr=" + urllib.parse.quote(expr, safe=""))


def test_preview_gives_five_next_runs(web_server, api_admin, admin_browser, host):
    viewer = create_api_token(Client(web_server, *create_login(api_admin, "viewer")), "viewer-preview")
    for client in (admin_browser, viewer):
        response = preview(client, host, "30 2 * * *")
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"next_runs"}
        runs = [parse_time(run) for run in body["next_runs"]]
        assert len(runs) == 5
        now = datetime.datetime.now(datetime.timezone.utc)
        assert now < runs[0] <= now + datetime.timedelta(days=1)
        assert all(later - earlier == datetime.timedelta(days=1) for earlier, later in zip(runs, runs[1:]))
    hourly = [parse_time(r) for r in preview(admin_browser, host, "@hourly").json()["next_runs"]]
    assert all(later - earlier == datetime.timedelta(hours=1) for earlier, later in zip(hourly, hourly[1:]))


@pytest.mark.parametrize("expr,reason", [("61 * * * *", "minute"), ("0 25 * * *", "hour"), ("", ""),
                                         ("* * *", ""), ("@fortnightly", "fortnightly")])
def test_preview_of_a_bad_expression_is_400(admin_browser, host, expr, reason):
    error = assert_error(preview(admin_browser, host, expr), 400, "validation_failed", "cron_expr")
    assert reason in error["message"].lower()


def test_preview_limits_and_access(web_server, admin_browser, host):
    assert_error(preview(admin_browser, host, "* " * 200), 400, "validation_failed", "cron_expr")
    error = assert_error(preview(admin_browser, host, "0" * 257), 400, "validation_failed", "cron_expr")
    assert "256" in error["message"]
    assert_error(admin_browser.get(f"/api/v1/hosts/{host}/schedules/preview"), 400, "validation_failed", "cron_expr")
    assert_error(preview(Anonymous(web_server), host, "@daily"), 401)
    assert_error(preview(admin_browser, "no-such-host", "@daily"), 404, "not_found")
