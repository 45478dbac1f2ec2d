"""The API tokens and enrollment pages: a new token is shown once, works, and
never appears on a later page; revoking and deleting through the forms."""
import datetime


from api_support import TokenClient, parse_time
from conftest import Agent, enroll
from web_support import assert_error_page, assert_form_refused, browser_for, create_login, doc, form_values, location_path
from web_support import admin_browser, api_admin, web_server  # noqa: F401 (module-scoped fixtures)


def create_token(browser, name, **extra):
    form = browser.page("/tokens").by_id("token-form")
    assert form.get("action") == "/tokens" and form.get("method") == "post"
    values = form_values(form)
    values.update(name=name, **extra)
    return browser.post("/tokens", data=values)


def test_new_token_is_shown_once_and_works(web_server, admin_browser):
    response = create_token(admin_browser, "page-token")
    assert response.status_code == 201, response.text[:500]
    assert response.headers["Cache-Control"] == "no-store"
    page = doc(response)
    token = page.by_id("new-token").text
    web_server.remember_secret(token)
    assert token.startswith("rma_") and len(token) > 20
    assert "page-token" in page.by_id("created-h").text

    bearer = TokenClient(web_server, token)
    me = bearer.get("/api/v1/auth/me")
    assert me.status_code == 200 and me.json()["user"]["username"] == "admin"

    later = admin_browser.get("/tokens")
    assert later.status_code == 200
    assert token not in later.text
    page = doc(later)
    assert page.by_id("new-token") is None
    rows = [row for row in page.by_id("tokens").find_all("tr", data_token_id=True) if "page-token" in row.text]
    assert len(rows) == 1
    # Nor is it on any other page.
    for path in ("/", "/audit", "/users", "/jobs"):
        assert token not in admin_browser.get(path).text, path


def test_revoke_through_the_row_form(web_server, admin_browser):
    response = create_token(admin_browser, "to-revoke")
    token = web_server.remember_secret(doc(response).by_id("new-token").text)
    bearer = TokenClient(web_server, token)
    assert bearer.get("/api/v1/auth/me").status_code == 200
    row = next(row for row in admin_browser.page("/tokens").by_id("tokens").find_all("tr", data_token_id=True)
               if "to-revoke" in row.text)
    form = row.find("form")
    assert form.get("action") == f"/tokens/{row.get('data-token-id')}/delete"
    response = admin_browser.post(form.get("action"), data=form_values(form))
    assert response.status_code == 303 and location_path(response) == "/tokens"
    assert bearer.get("/api/v1/auth/me").status_code == 401
    page = admin_browser.page("/tokens")
    assert "revoked" in page.by_id("flash").text.lower()
    assert row.get("data-token-id") not in admin_browser.get("/tokens").text


def test_token_expiry_field(web_server, admin_browser, api_admin):
    response = create_token(admin_browser, "expiring", expires_in_days="7")
    assert response.status_code == 201
    web_server.remember_secret(doc(response).by_id("new-token").text)
    listed = next(t for t in api_admin.get("/api/v1/api-tokens").json()["items"] if t["name"] == "expiring")
    expires = parse_time(listed["expires_at"])
    now = datetime.datetime.now(datetime.timezone.utc)
    assert datetime.timedelta(days=6, hours=23) < expires - now <= datetime.timedelta(days=7)
    for bad in ("0", "-1", "3651", "seven", "1.5"):
        response = create_token(admin_browser, f"bad-expiry-{bad}", expires_in_days=bad)
        assert_form_refused(response, 400, "token-form", "expires_in_days")
        assert form_values(doc(response).by_id("token-form"))["name"] == f"bad-expiry-{bad}"
        assert doc(response).by_id("new-token") is None
    for bad_name in ("", "   "):
        assert_form_refused(create_token(admin_browser, bad_name), 400, "token-form", "name")
    names = [t["name"] for t in api_admin.get("/api/v1/api-tokens").json()["items"]]
    assert not any(name.startswith("bad-expiry") for name in names)


def test_a_viewer_makes_tokens_with_their_own_role(web_server, api_admin):
    username, password = create_login(api_admin, "viewer")
    viewer = browser_for(web_server, username, password)
    response = create_token(viewer, "viewer-token")
    assert response.status_code == 201
    token = web_server.remember_secret(doc(response).by_id("new-token").text)
    bearer = TokenClient(web_server, token)
    user = bearer.get("/api/v1/auth/me").json()["user"]
    assert (user["username"], user["role"]) == (username, "viewer")
    assert bearer.post("/api/v1/users", json={"username": "x-by-viewer", "password": "long-enough-password-1",
                                              "role": "admin"}).status_code == 403
    # The admin's page lists only the admin's own tokens.
    assert "viewer-token" not in api_admin.get("/tokens").text


def test_enrollment_token_shows_the_command_once_and_enrolls_once(web_server, admin_browser):
    form = admin_browser.page("/enrollment").by_id("enroll-form")
    assert form.get("action") == "/enrollment"
    values = form_values(form)
    assert values["expires_in_hours"].isdigit()
    values["note"] = "web enrollment"
    response = admin_browser.post("/enrollment", data=values)
    assert response.status_code == 201, response.text[:500]
    assert response.headers["Cache-Control"] == "no-store"
    page = doc(response)
    token = web_server.remember_secret(page.by_id("enroll-token").text)
    command = page.by_id("enroll-command").text
    assert token and token in command
    assert command == f"curl -fsSL '{web_server.base_url}/install.sh' | sudo sh -s -- --token {token}"

    later = admin_browser.get("/enrollment")
    assert token not in later.text
    assert doc(later).by_id("enroll-command") is None
    row = next(r for r in doc(later).by_id("enrollment-tokens").find_all("tr", data_token_id=True)
               if "web enrollment" in r.text)
    assert "open" in row.text

    first = enroll(web_server, token, hostname="web-enrolled")
    assert first.status_code == 201, first.text
    web_server.remember_secret(first.json()["agent_token"])
    again = enroll(web_server, token, hostname="web-enrolled-twice")
    assert again.status_code in (401, 403, 409), again.text
    # The host exists and its agent can connect; the row says the token was used.
    agent = Agent(web_server, first.json()["agent_token"])
    agent.close()
    page = admin_browser.page("/enrollment")
    row = next(r for r in page.by_id("enrollment-tokens").find_all("tr", data_token_id=True)
               if "web enrollment" in r.text)
    assert "used" in row.text
    assert row.find("a", href=f"/hosts/{first.json()['host_id']}") is not None
    dashboard = admin_browser.page("/")
    assert dashboard.find("tr", data_host_id=first.json()["host_id"]) is not None


def test_enrollment_delete_and_validation(web_server, admin_browser, api_admin):
    response = admin_browser.submit("/enrollment", {"note": "to delete", "expires_in_hours": "2"})
    assert response.status_code == 201
    token = web_server.remember_secret(doc(response).by_id("enroll-token").text)
    row = next(r for r in admin_browser.page("/enrollment").by_id("enrollment-tokens").find_all("tr",
                                                                                                data_token_id=True)
               if "to delete" in r.text)
    form = row.find("form")
    response = admin_browser.post(form.get("action"), data=form_values(form))
    assert response.status_code == 303 and location_path(response) == "/enrollment"
    assert enroll(web_server, token, hostname="never").status_code in (401, 403, 404)
    assert "to delete" not in admin_browser.get("/enrollment").text
    before = len(api_admin.get("/api/v1/enrollment-tokens").json()["items"])
    response = admin_browser.submit("/enrollment", {"note": "kept", "expires_in_hours": "soon"})
    assert_form_refused(response, 400, "enroll-form", "expires_in_hours")
    assert form_values(doc(response).by_id("enroll-form"))["note"] == "kept"
    assert doc(response).by_id("enroll-command") is None
    assert_form_refused(admin_browser.submit("/enrollment", {"replace_host_id": "no-such-host"}), 400, "enroll-form")
    assert len(api_admin.get("/api/v1/enrollment-tokens").json()["items"]) == before
