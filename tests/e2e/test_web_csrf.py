"""CSRF on the page routes: every unsafe request to a page needs the form's
`csrf_token`, checked before any handler runs, so a refused POST changes
nothing (checked through the JSON API with a bearer token)."""
import pytest

from api_support import TokenClient, create_api_token, create_schedule, run_job
from conftest import enroll_host
from web_support import assert_error_page, browser_for, create_login, location_path
from web_support import admin_browser, api_admin, web_server  # noqa: F401 (module-scoped fixtures)


@pytest.fixture(scope="module")
def world(web_server, api_admin):
    """A host with a repository, a schedule, a queued job, a second user, an
    API token and an enrollment token: something for every form to change."""
    host = enroll_host(api_admin, hostname="csrf-host")
    schedule = create_schedule(api_admin, host.host_id, cron_expr="0 3 * * *", paths=["/etc"])
    job = run_job(api_admin, host.host_id)
    username, _ = create_login(api_admin, "viewer")
    user = next(u for u in api_admin.get("/api/v1/users").json()["items"] if u["username"] == username)
    token = api_admin.post("/api/v1/api-tokens", json={"name": "csrf-kept"}).json()
    web_server.remember_secret(token["token"])
    enrollment = api_admin.post("/api/v1/enrollment-tokens", json={"note": "csrf-kept"}).json()
    web_server.remember_secret(enrollment["token"])
    reader = create_api_token(api_admin, "csrf-reader")
    return {"host": host.host_id, "schedule": schedule["id"], "job": job["id"], "user": user["id"],
            "token": token["id"], "enrollment": enrollment["id"], "reader": reader}


def snapshot(reader: TokenClient, world) -> dict:
    """Everything a page form could change, read through the JSON API."""
    def get(path):
        response = reader.get(path)
        assert response.status_code == 200, f"{path}: {response.status_code} {response.text}"
        return response.json()

    host = get(f"/api/v1/hosts/{world['host']}")
    return {
        "host": (host["name"], host["notes"]),
        "hosts": sorted(h["id"] for h in get("/api/v1/hosts")["items"]),
        "config": get(f"/api/v1/hosts/{world['host']}/config"),
        "schedules": [(s["id"], s["cron_expr"], s["paths"], s["enabled"])
                      for s in get(f"/api/v1/hosts/{world['host']}/schedules")["items"]],
        "jobs": [(j["id"], j["status"]) for j in get("/api/v1/jobs?limit=500")["items"]],
        "users": sorted((u["id"], u["username"], u["role"], u["disabled"]) for u in get("/api/v1/users")["items"]),
        "tokens": sorted(t["id"] for t in get("/api/v1/api-tokens")["items"]),
        "enrollment": sorted((t["id"], t["note"]) for t in get("/api/v1/enrollment-tokens")["items"]),
    }


# (path template, form fields a real submit would carry)
UNSAFE_ROUTES = [
    ("/hosts/{host}/config", {"repo_url": "/srv/other", "repo_password": "csrf-new-password"}),
    ("/hosts/{host}/rename", {"name": "renamed-by-csrf", "notes": "csrf"}),
    ("/hosts/{host}/jobs", {"kind": "backup", "paths": "/etc"}),
    ("/hosts/{host}/init", {}),
    ("/hosts/{host}/schedules", {"kind": "backup", "cron_expr": "0 4 * * *", "paths": "/home", "enabled": "on"}),
    ("/schedules/{schedule}", {"kind": "backup", "cron_expr": "0 5 * * *", "paths": "/srv", "enabled": "on"}),
    ("/schedules/{schedule}/delete", {}),
    ("/jobs/{job}/cancel", {}),
    ("/users", {"username": "csrf-made", "password": "long-enough-password-1", "role": "admin"}),
    ("/users/{user}", {"role": "admin", "disabled": "on"}),
    ("/users/{user}/delete", {}),
    ("/tokens", {"name": "csrf-made"}),
    ("/tokens/{token}/delete", {}),
    ("/enrollment", {"note": "csrf-made"}),
    ("/enrollment/{enrollment}/delete", {}),
    ("/hosts/{host}/delete", {}),
]


@pytest.mark.parametrize("route,fields", UNSAFE_ROUTES, ids=[route for route, _ in UNSAFE_ROUTES])
def test_unsafe_page_route_without_or_with_a_wrong_token_changes_nothing(web_server, admin_browser, world, route,
                                                                       fields):
    path = route.format(**world)
    before = snapshot(world["reader"], world)
    good = admin_browser.csrf_token
    for label, csrf in [("missing", False), ("empty", ""), ("wrong", "0" * len(good)),
                        ("truncated", good[:-1]), ("longer", good + "0")]:
        response = admin_browser.submit(path, fields, csrf=csrf)
        assert_error_page(response, 403, "reload the page")
        assert "Location" not in response.headers, label
        assert snapshot(world["reader"], world) == before, f"{label} csrf_token on {path} changed something"


def test_token_in_the_query_or_a_header_is_not_the_form_token(web_server, admin_browser, world):
    path = f"/hosts/{world['host']}/rename"
    before = snapshot(world["reader"], world)
    good = admin_browser.csrf_token
    response = admin_browser.post(path, params={"csrf_token": good}, data={"name": "renamed-by-query"})
    assert response.status_code == 403
    response = admin_browser.post(path, headers={"X-CSRF-Token": good}, data={"name": "renamed-by-header"})
    assert response.status_code == 403
    assert snapshot(world["reader"], world) == before


def test_another_sessions_token_is_refused(web_server, api_admin, admin_browser, world):
    """A token is bound to its session: the operator's does not work with the admin's cookie."""
    other = browser_for(web_server, *create_login(api_admin, "admin"))
    before = snapshot(world["reader"], world)
    assert other.csrf_token != admin_browser.csrf_token
    response = admin_browser.submit(f"/hosts/{world['host']}/rename", {"name": "renamed-cross"},
                                    csrf=other.csrf_token)
    assert response.status_code == 403
    assert snapshot(world["reader"], world) == before


def test_a_bearer_token_cannot_post_page_forms(web_server, world):
    """Page forms belong to a browser session; a bearer token has no form token."""
    reader = world["reader"]
    before = snapshot(reader, world)
    response = reader.post(f"/hosts/{world['host']}/rename", data={"name": "renamed-by-bearer", "csrf_token": ""})
    assert response.status_code == 403
    assert snapshot(reader, world) == before


def test_the_right_token_is_accepted(web_server, api_admin, admin_browser, world):
    """The control: the same forms with the page's own token do their job
    (on a host of its own, so the shared one stays as it is)."""
    reader = world["reader"]
    host = enroll_host(api_admin, hostname="csrf-control").host_id
    job = run_job(api_admin, host)["id"]
    response = admin_browser.submit(f"/hosts/{host}/rename", {"name": "renamed-ok", "notes": "n"})
    assert response.status_code == 303, response.text
    assert location_path(response) == f"/hosts/{host}"
    renamed = reader.get(f"/api/v1/hosts/{host}").json()
    assert (renamed["name"], renamed["notes"]) == ("renamed-ok", "n")
    response = admin_browser.submit(f"/jobs/{job}/cancel")
    assert response.status_code == 303 and location_path(response) == f"/jobs/{job}"
    assert reader.get(f"/api/v1/jobs/{job}").json()["status"] == "cancelled"
    response = admin_browser.submit(f"/hosts/{host}/delete")
    assert response.status_code == 303 and location_path(response) == "/"
    assert reader.get(f"/api/v1/hosts/{host}").status_code == 404
