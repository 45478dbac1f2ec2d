"""Web UI sessions: the signed-out redirect, the login form with its
double-submit CSRF cookie, the `next` open-redirect guard, and sign-out."""
import pytest
import requests

from web_support import Browser, assert_error_page, create_login, doc, form_values, location_path
from web_support import admin_browser, api_admin, web_server  # noqa: F401 (module-scoped fixtures)


def test_signed_out_get_redirects_to_login_with_next(web_server):
    browser = Browser(web_server)
    response = browser.get("/")
    assert response.status_code == 303
    assert location_path(response) == "/login?next=%2F"
    # The query of the page asked for travels along, encoded.
    response = browser.get("/jobs", params={"status": "failed"})
    assert response.status_code == 303
    assert location_path(response) == "/login?next=%2Fjobs%3Fstatus%3Dfailed"
    assert "rm_session" not in browser.session.cookies


def test_signed_out_post_to_a_page_route_is_a_401_page(web_server):
    browser = Browser(web_server)
    for path in ("/hosts/some-host/config", "/tokens", "/logout"):
        response = browser.post(path, data={"csrf_token": "x"})
        assert_error_page(response, 401, "sign in")
        assert response.headers["Content-Type"].startswith("text/html")
        assert doc(response).find("a", href="/login") is not None


def test_login_form_sets_a_csrf_cookie_and_signs_in_to_next(web_server):
    browser = Browser(web_server)
    response = browser.get("/login", params={"next": "/jobs"})
    assert response.status_code == 200
    cookie = next(c for c in browser.session.cookies if c.name == "rm_login_csrf")
    assert cookie.value and cookie.path == "/login"
    assert cookie.has_nonstandard_attr("HttpOnly")
    set_cookie = response.headers["Set-Cookie"]
    assert "SameSite=Strict" in set_cookie
    fields = form_values(doc(response).by_id("login-form"))
    assert fields["csrf_token"] == cookie.value
    assert fields["next"] == "/jobs"
    assert doc(response).find("input", name="username") is not None
    assert doc(response).find("input", name="password", type="password") is not None

    fields.update(username="admin", password=web_server.admin_password)
    response = browser.post("/login", data=fields)
    assert response.status_code == 303
    assert location_path(response) == "/jobs"
    session_cookie = next(c for c in browser.session.cookies if c.name == "rm_session")
    web_server.remember_secret(session_cookie.value)
    assert session_cookie.path == "/" and session_cookie.has_nonstandard_attr("HttpOnly")
    assert "rm_session=" in response.headers["Set-Cookie"] and "SameSite=Lax" in response.headers["Set-Cookie"]
    # The login cookie is spent.
    assert "rm_login_csrf" not in browser.session.cookies
    # Signed in: the page renders with the user in the header.
    page = browser.page("/jobs")
    assert page.by_id("whoami").text.startswith("admin")
    assert page.by_id("logout-form") is not None
    # The login page of a signed-in browser goes straight to `next`.
    response = browser.get("/login", params={"next": "/tokens"})
    assert response.status_code == 303 and location_path(response) == "/tokens"


def test_two_tabs_share_the_login_token(web_server):
    browser = Browser(web_server)
    first = browser.login_form()["csrf_token"]
    second = browser.login_form()["csrf_token"]
    assert first == second


def test_wrong_password_is_a_401_page_without_a_session(web_server):
    browser = Browser(web_server)
    fields = browser.login_form("/jobs")
    fields.update(username="admin", password="not-the-password")
    response = browser.post("/login", data=fields)
    assert response.status_code == 401
    page = doc(response)
    assert page.by_id("login-error") is not None
    assert "wrong username or password" in page.by_id("login-error").text.lower()
    assert "rm_session" not in browser.session.cookies
    assert "rm_session" not in response.headers.get("Set-Cookie", "")
    # The form comes back with the username typed and `next` kept, password empty.
    again = form_values(page.by_id("login-form"))
    assert again["username"] == "admin" and again["next"] == "/jobs" and again["password"] == ""
    assert "not-the-password" not in response.text
    assert browser.get("/").status_code == 303


@pytest.mark.parametrize("case", ["no-cookie", "no-field", "mismatch"])
def test_login_without_a_matching_csrf_pair_is_refused(web_server, case):
    browser = Browser(web_server)
    fields = browser.login_form()
    fields.update(username="admin", password=web_server.admin_password)
    if case == "no-cookie":
        browser.session.cookies.clear()
    elif case == "no-field":
        del fields["csrf_token"]
    else:
        fields["csrf_token"] = fields["csrf_token"][:-2] + ("AA" if not fields["csrf_token"].endswith("AA") else "BB")
    response = browser.post("/login", data=fields)
    assert_error_page(response, 403, "reload")
    assert "rm_session" not in browser.session.cookies
    assert "rm_session" not in response.headers.get("Set-Cookie", "")


def test_login_csrf_cookie_of_another_browser_does_not_help(web_server):
    """A token that is valid for one browser's cookie is no good with another's."""
    victim, attacker = Browser(web_server), Browser(web_server)
    victim_token = victim.login_form()["csrf_token"]
    attacker.login_form()
    response = attacker.post("/login", data={"username": "admin", "password": web_server.admin_password,
                                             "csrf_token": victim_token})
    assert response.status_code == 403
    assert "rm_session" not in attacker.session.cookies


@pytest.mark.parametrize("next_path", ["//evil.example", "//evil.example/path", "https://evil.example",
                                       "/\\evil.example", "http:/evil.example", "javascript:alert(1)",
                                       "evil.example", "/login?next=//evil.example", "",
                                       # Browsers drop tabs and newlines and read \ as /.
                                       "/\t/evil.example/", "/\t\\evil.example", "/\n/evil.example"])
def test_next_cannot_leave_the_site(web_server, next_path):
    browser = Browser(web_server)
    fields = browser.login_form(next_path)
    # The rendered form already holds the safe value, …
    assert fields["next"] == "/"
    # … and a hand-crafted POST is checked again.
    fields.update(username="admin", password=web_server.admin_password, next=next_path)
    response = browser.post("/login", data=fields)
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    web_server.remember_secret(browser.session.cookies["rm_session"])


def test_local_next_with_query_is_kept(web_server):
    browser = Browser(web_server)
    response = browser.login("admin", web_server.admin_password, next_path="/jobs?status=failed")
    assert response.headers["Location"] == "/jobs?status=failed"


def test_logout_ends_the_session(web_server):
    browser = Browser(web_server)
    browser.login("admin", web_server.admin_password)
    old_cookie = browser.session.cookies["rm_session"]
    page = browser.page("/")
    logout = page.by_id("logout-form")
    assert logout.get("action") == "/logout" and logout.get("method") == "post"
    fields = form_values(logout)
    assert fields["csrf_token"]

    # Without the form token the session survives.
    assert browser.post("/logout", data={"csrf_token": ""}).status_code == 403
    assert browser.get("/").status_code == 200

    response = browser.post("/logout", data=fields)
    assert response.status_code == 303 and location_path(response) == "/login"
    assert "rm_session" not in browser.session.cookies
    # The old cookie, replayed, no longer opens anything.
    replay = requests.Session()
    replay.cookies.set("rm_session", old_cookie)
    response = replay.get(web_server.url("/"), allow_redirects=False, timeout=30)
    assert response.status_code == 303 and response.headers["Location"] == "/login?next=%2F"
    response = replay.get(web_server.url("/api/v1/auth/me"), timeout=30)
    assert response.status_code == 401


def test_api_with_the_page_session_still_needs_the_csrf_header(web_server, admin_browser):
    """The JSON API accepts the page's session cookie, but unsafe calls need X-CSRF-Token."""
    me = admin_browser.get("/api/v1/auth/me")
    assert me.status_code == 200 and me.json()["user"]["username"] == "admin"
    body = {"name": "needs-header"}
    refused = admin_browser.post("/api/v1/api-tokens", json=body)
    assert refused.status_code == 403
    assert "X-CSRF-Token" in refused.json()["error"]["message"]
    # The form field is not accepted in place of the header on the API.
    refused = admin_browser.post("/api/v1/api-tokens", json=dict(body, csrf_token=admin_browser.csrf_token))
    assert refused.status_code == 403
    created = admin_browser.post("/api/v1/api-tokens", json=body,
                                 headers={"X-CSRF-Token": admin_browser.csrf_token})
    assert created.status_code == 201, created.text
    web_server.remember_secret(created.json()["token"])
    names = [token["name"] for token in admin_browser.get("/api/v1/api-tokens").json()["items"]]
    assert names.count("needs-header") == 1


@pytest.mark.parametrize("path", ["//api/v1/api-tokens", "///api/v1/api-tokens", "/api//v1/api-tokens"])
def test_extra_slashes_do_not_skip_the_api_csrf_check(web_server, admin_browser, path):
    """The router drops empty path segments; the CSRF check reads the path the same way."""
    before = len(admin_browser.get("/api/v1/api-tokens").json()["items"])
    refused = admin_browser.post(path, json={"name": "slashes"})
    assert refused.status_code == 403, refused.text
    assert len(admin_browser.get("/api/v1/api-tokens").json()["items"]) == before


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", None])
def test_api_bodies_must_be_json_so_no_cross_site_form_can_send_them(web_server, admin_browser, content_type):
    """A form on another site can post text/plain or form encodings without a preflight; the API refuses them."""
    headers = {"X-CSRF-Token": admin_browser.csrf_token}
    if content_type:
        headers["Content-Type"] = content_type
    refused = admin_browser.post("/api/v1/api-tokens", data='{"name": "plain"}', headers=headers)
    assert refused.status_code == 415, refused.text
    assert refused.json()["error"]["code"] == "unsupported_media_type"
    # Login is exempt from CSRF, so the content type is what stops a cross-site login form.
    login = requests.post(web_server.url("/api/v1/auth/login"), timeout=30,
                          data=f'{{"username": "admin", "password": "{web_server.admin_password}"}}',
                          headers={"Content-Type": content_type} if content_type else {})
    assert login.status_code == 415, login.text
    assert "rm_session" not in login.cookies


def test_a_disabled_users_page_session_ends(web_server, api_admin):
    username, password = create_login(api_admin, "operator")
    browser = Browser(web_server)
    browser.login(username, password)
    assert browser.get("/").status_code == 200
    user = next(u for u in api_admin.get("/api/v1/users").json()["items"] if u["username"] == username)
    assert api_admin.patch(f"/api/v1/users/{user['id']}", json={"disabled": True}).status_code == 200
    response = browser.get("/")
    assert response.status_code == 303 and location_path(response) == "/login?next=%2F"
    # And signing in again through the form is refused like a wrong password.
    fields = browser.login_form()
    fields.update(username=username, password=password)
    response = browser.post("/login", data=fields)
    assert response.status_code == 401 and doc(response).by_id("login-error") is not None


@pytest.mark.parametrize("proto,secure", [("https", True), (None, False), ("http", False)])
def test_session_cookie_is_secure_behind_an_https_proxy(web_server, proto, secure):
    """A TLS-terminating proxy says X-Forwarded-Proto: https; the cookies then carry Secure."""
    headers = {"X-Forwarded-Proto": proto} if proto else {}
    response = requests.post(web_server.url("/api/v1/auth/login"), timeout=30, headers=headers,
                             json={"username": "admin", "password": web_server.admin_password})
    assert response.status_code == 200, response.text
    set_cookie = response.headers["Set-Cookie"]
    web_server.remember_secret(response.cookies["rm_session"])
    assert set_cookie.startswith("rm_session=") and "HttpOnly" in set_cookie
    assert ("Secure" in set_cookie) == secure, set_cookie
    login_page = requests.get(web_server.url("/login"), headers=headers, timeout=30)
    assert ("Secure" in login_page.headers["Set-Cookie"]) == secure, login_page.headers["Set-Cookie"]
