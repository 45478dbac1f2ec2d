"""Login, logout, `me`, the session cookie, CSRF and login throttling (SPEC §7, §7.1, §8)."""
import requests

from api_support import Anonymous, assert_error, db_execute, assert_api_shape, create_api_token, login, new_password
from conftest import Client, create_user


def test_login_returns_user_csrf_token_and_a_safe_session_cookie(server):
    response = login(server, "admin", server.admin_password)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"user", "csrf_token"}
    assert_api_shape(body)
    assert set(body["user"]) == {"id", "username", "role"}
    assert body["user"]["username"] == "admin" and body["user"]["role"] == "admin"
    assert isinstance(body["user"]["id"], str) and body["user"]["id"]
    assert isinstance(body["csrf_token"], str) and len(body["csrf_token"]) >= 32
    cookie = response.headers["Set-Cookie"]
    server.remember_secret(response.cookies["rm_session"])
    assert cookie.startswith("rm_session=rms_")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    # Plain HTTP: no Secure flag (the browser would drop the cookie).
    assert "Secure" not in cookie


def test_me_returns_the_same_object_as_login(server, admin):
    response = admin.get("/api/v1/auth/me")
    assert response.status_code == 200
    assert response.json() == {"user": admin.user, "csrf_token": admin.csrf_token}


def test_me_with_bearer_token_names_the_user(server, admin):
    token = create_api_token(admin)
    body = token.get("/api/v1/auth/me").json()
    assert body["user"] == admin.user
    assert body.get("csrf_token") is None


def test_me_and_logout_need_credentials(server):
    anonymous = Anonymous(server)
    assert_error(anonymous.get("/api/v1/auth/me"), 401, "unauthenticated")
    assert_error(anonymous.post("/api/v1/auth/logout"), 401, "unauthenticated")
    # A made-up session cookie or bearer token is no better than none.
    forged = requests.get(server.url("/api/v1/auth/me"), cookies={"rm_session": "rms_" + "A" * 43})
    assert_error(forged, 401, "unauthenticated")
    for bearer in ("rma_" + "A" * 43, "garbage", "rms_" + "A" * 43, "x" * 300):
        answer = requests.get(server.url("/api/v1/auth/me"), headers={"Authorization": f"Bearer {bearer}"})
        assert_error(answer, 401, "unauthenticated")


def test_wrong_password_and_unknown_user_get_the_same_401(server):
    wrong = login(server, "admin", "not-the-password")
    unknown = login(server, "nobody-here", "not-the-password")
    assert_error(wrong, 401, "invalid_credentials")
    assert wrong.json() == unknown.json()
    assert unknown.status_code == 401
    assert "rm_session" not in wrong.cookies and "rm_session" not in unknown.cookies


def test_login_validates_its_body(server):
    url = server.url("/api/v1/auth/login")
    assert_error(requests.post(url, data="{not json", headers={"Content-Type": "application/json"}), 400,
                 "validation_failed", "body")
    assert_error(requests.post(url, json={"username": "admin"}), 400, "validation_failed", "password")
    assert_error(requests.post(url, json={"password": "x" * 12}), 400, "validation_failed", "username")
    assert_error(requests.post(url, json={"username": 7, "password": "x" * 12}), 400, "validation_failed", "username")
    assert_error(requests.post(url, json=["admin", "pw"]), 400, "validation_failed")
    assert_error(requests.post(url, data=b"{" + b" " * (1 << 20) + b"}"), 413, "too_large")


def test_hostile_usernames_are_refused_like_any_wrong_login(server):
    for username in ("a" * 10_000, "admin\u0000", "admin\r\nX-Injected: 1", "-admin", "' OR 1=1 --"):
        assert_error(login(server, username, "whatever-password"), 401, "invalid_credentials")
    # None of them counted against the real admin.
    assert login(server, "admin", server.admin_password).status_code == 200


def test_unknown_usernames_are_throttled_too(server):
    """Throttling in depth is in test_login_throttle.py (issue #14, item 2)."""
    for _ in range(3):
        assert login(server, "ghost", "wrong-password!").status_code == 401
    assert_error(login(server, "ghost", "wrong-password!"), 429, "rate_limited")


def test_disabled_user_cannot_log_in_and_loses_their_session(server, admin):
    password = new_password()
    created = admin.post("/api/v1/users", json={"username": "carol", "password": password, "role": "operator"})
    carol = Client(server, "carol", password)
    assert carol.get("/api/v1/auth/me").status_code == 200
    assert admin.patch(f"/api/v1/users/{created.json()['id']}", json={"disabled": True}).status_code == 200
    assert_error(carol.get("/api/v1/auth/me"), 401)
    refused = login(server, "carol", password)
    assert_error(refused, 401, "invalid_credentials")
    assert refused.json() == login(server, "carol", "wrong-password!").json()
    assert admin.patch(f"/api/v1/users/{created.json()['id']}", json={"disabled": False}).status_code == 200
    assert login(server, "carol", password).status_code == 200


def test_logout_invalidates_the_session_cookie(server, admin):
    cookie = admin.session.cookies["rm_session"]
    response = admin.post("/api/v1/auth/logout")
    assert response.status_code == 204
    assert "rm_session=;" in response.headers["Set-Cookie"] and "Max-Age=0" in response.headers["Set-Cookie"]
    # Replaying the old cookie by hand does not work any more.
    replay = requests.get(server.url("/api/v1/auth/me"), cookies={"rm_session": cookie})
    assert_error(replay, 401, "unauthenticated")
    # Other sessions of the same user are untouched.
    assert Client(server, "admin", server.admin_password).get("/api/v1/auth/me").status_code == 200


def test_cookie_auth_needs_the_csrf_header_for_unsafe_methods(server, admin):
    no_header = requests.Session()
    no_header.cookies.update(admin.session.cookies)
    denied = no_header.post(server.url("/api/v1/api-tokens"), json={"name": "x"})
    assert_error(denied, 403, "forbidden")
    assert "X-CSRF-Token" in denied.json()["error"]["message"]
    wrong = no_header.post(server.url("/api/v1/api-tokens"), json={"name": "x"}, headers={"X-CSRF-Token": "0" * 64})
    assert_error(wrong, 403, "forbidden")
    # Another session's CSRF token does not fit this session.
    other = Client(server, "admin", server.admin_password)
    crossed = no_header.post(server.url("/api/v1/api-tokens"), json={"name": "x"},
                             headers={"X-CSRF-Token": other.csrf_token})
    assert_error(crossed, 403, "forbidden")
    # Safe methods need no header; nothing was created by the refused calls.
    listed = no_header.get(server.url("/api/v1/api-tokens"))
    assert listed.status_code == 200 and listed.json()["items"] == []
    assert admin.post("/api/v1/api-tokens", json={"name": "x"}).status_code == 201


def test_bearer_tokens_need_no_csrf_header(server, admin):
    token = create_api_token(admin)
    assert "X-CSRF-Token" not in token.session.headers
    assert token.post("/api/v1/api-tokens", json={"name": "from-bearer"}).status_code == 201
    assert token.post("/api/v1/enrollment-tokens", json={}).status_code == 201


def test_login_is_csrf_exempt_even_with_a_stale_cookie(server, admin):
    stale = requests.Session()
    stale.cookies.update(admin.session.cookies)
    assert stale.post(server.url("/api/v1/auth/login"),
                      json={"username": "admin", "password": server.admin_password}).status_code == 200


def test_roles_are_reported_by_me(server, admin):
    for role in ("viewer", "operator"):
        client = create_user(admin, role)
        body = client.get("/api/v1/auth/me").json()
        assert body["user"]["role"] == role
        assert_api_shape(body)


def test_expired_session_gets_401(server, admin):
    assert admin.get("/api/v1/auth/me").status_code == 200
    assert db_execute(server, "UPDATE sessions SET expires_at = '2000-01-01 00:00:00.000'") == 1
    assert_error(admin.get("/api/v1/auth/me"), 401, "unauthenticated")
    assert_error(admin.post("/api/v1/api-tokens", json={"name": "x"}), 401, "unauthenticated")
