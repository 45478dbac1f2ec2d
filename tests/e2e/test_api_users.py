"""User administration: `GET/POST /api/v1/users`, `PATCH/DELETE /api/v1/users/{id}` (admin only)."""
import requests

from api_support import (assert_api_shape, assert_error, assert_list, create_api_token, login, new_password, parse_time,
                         walk_pages)
from conftest import Client

USER_KEYS = {"id", "username", "role", "disabled", "created_at", "last_login_at"}


def test_create_and_list_users(server, admin):
    password = new_password()
    created = admin.post("/api/v1/users", json={"username": "dora", "password": password, "role": "operator"})
    assert created.status_code == 201, created.text
    user = created.json()
    assert set(user) == USER_KEYS
    assert_api_shape(user)
    assert user["username"] == "dora" and user["role"] == "operator" and user["disabled"] is False
    assert user["last_login_at"] is None
    parse_time(user["created_at"])
    assert password not in created.text and "password" not in user

    Client(server, "dora", password)
    listed = assert_list(admin.get("/api/v1/users"))
    by_name = {item["username"]: item for item in listed["items"]}
    assert set(by_name) == {"admin", "dora"}
    assert all(set(item) == USER_KEYS for item in listed["items"])
    parse_time(by_name["dora"]["last_login_at"])
    # Newest first.
    assert [item["username"] for item in listed["items"]] == ["dora", "admin"]
    assert "password" not in admin.get("/api/v1/users").text


def test_user_validation(server, admin):
    def create(body):
        return admin.post("/api/v1/users", json=body)

    good = {"username": "erin", "password": new_password(), "role": "viewer"}
    assert_error(create({**good, "password": "x" * 11}), 400, "validation_failed", "password")
    assert "12" in create({**good, "password": "short"}).json()["error"]["message"]
    assert_error(create({**good, "role": "root"}), 400, "validation_failed", "role")
    assert_error(create({**good, "role": 1}), 400, "validation_failed", "role")
    assert_error(create({k: v for k, v in good.items() if k != "role"}), 400, "validation_failed", "role")
    assert_error(create({**good, "username": ""}), 400, "validation_failed", "username")
    assert_error(create({**good, "username": "a" * 10_000}), 400, "validation_failed", "username")
    assert_error(create({**good, "username": "bad\u0007name"}), 400, "validation_failed", "username")
    assert_error(create({**good, "username": "two\nlines"}), 400, "validation_failed", "username")
    assert_error(create({**good, "username": "spaced name"}), 400, "validation_failed", "username")
    assert_error(create({**good, "username": "ünïcode"}), 400, "validation_failed", "username")
    assert_error(admin.post("/api/v1/users", data="{", headers={"Content-Type": "application/json"}), 400,
                 "validation_failed", "body")
    assert_error(admin.post("/api/v1/users", data=b'{"username":"' + b"a" * (1 << 20) + b'"}'), 413, "too_large")
    # Exactly 12 characters is enough.
    assert create({**good, "password": "x" * 12}).status_code == 201
    assert_error(create({**good, "password": new_password()}), 409, "conflict")
    assert [u["username"] for u in admin.get("/api/v1/users").json()["items"]] == ["erin", "admin"]


def test_patch_role_takes_effect_at_once(server, admin):
    password = new_password()
    user = admin.post("/api/v1/users", json={"username": "fred", "password": password, "role": "viewer"}).json()
    fred = Client(server, "fred", password)
    assert_error(fred.get("/api/v1/users"), 403, "forbidden")
    updated = admin.patch(f"/api/v1/users/{user['id']}", json={"role": "admin"})
    assert updated.status_code == 200 and updated.json()["role"] == "admin"
    assert set(updated.json()) == USER_KEYS
    assert fred.get("/api/v1/users").status_code == 200
    assert_error(admin.patch(f"/api/v1/users/{user['id']}", json={"role": "king"}), 400, "validation_failed", "role")
    assert_error(admin.patch(f"/api/v1/users/{user['id']}", json={"disabled": "yes"}), 400, "validation_failed",
                 "disabled")
    assert_error(admin.patch("/api/v1/users/no-such-user", json={"role": "viewer"}), 404, "not_found")


def test_patch_password_ends_sessions_like_user_passwd(server, admin):
    old_password = new_password()
    user = admin.post("/api/v1/users", json={"username": "gina", "password": old_password, "role": "viewer"}).json()
    first, second = Client(server, "gina", old_password), Client(server, "gina", old_password)
    assert_error(admin.patch(f"/api/v1/users/{user['id']}", json={"password": "too-short"}), 400,
                 "validation_failed", "password")
    assert first.get("/api/v1/auth/me").status_code == 200

    new = server.remember_secret(new_password())
    changed = admin.patch(f"/api/v1/users/{user['id']}", json={"password": new})
    assert changed.status_code == 200 and new not in changed.text
    assert_error(first.get("/api/v1/auth/me"), 401)
    assert_error(second.get("/api/v1/auth/me"), 401)
    assert_error(login(server, "gina", old_password), 401, "invalid_credentials")
    assert login(server, "gina", new).status_code == 200
    # The admin's own session was not touched.
    assert admin.get("/api/v1/auth/me").status_code == 200


def test_delete_user_ends_their_access(server, admin):
    password = new_password()
    user = admin.post("/api/v1/users", json={"username": "hank", "password": password, "role": "operator"}).json()
    hank = Client(server, "hank", password)
    token = create_api_token(hank)
    assert token.get("/api/v1/auth/me").status_code == 200
    assert admin.delete(f"/api/v1/users/{user['id']}").status_code == 204
    assert_error(hank.get("/api/v1/auth/me"), 401)
    assert_error(token.get("/api/v1/auth/me"), 401)
    assert_error(login(server, "hank", password), 401)
    assert_error(admin.delete(f"/api/v1/users/{user['id']}"), 404, "not_found")
    assert [u["username"] for u in admin.get("/api/v1/users").json()["items"]] == ["admin"]


def test_the_last_admin_is_protected(server, admin):
    me = admin.user["id"]
    assert_error(admin.delete(f"/api/v1/users/{me}"), 409, "conflict")
    assert_error(admin.patch(f"/api/v1/users/{me}", json={"role": "viewer"}), 409, "conflict")
    assert_error(admin.patch(f"/api/v1/users/{me}", json={"disabled": True}), 409, "conflict")
    assert admin.get("/api/v1/auth/me").json()["user"]["role"] == "admin"


def test_user_routes_are_admin_only(server, admin, operator, viewer):
    target = admin.post("/api/v1/users", json={"username": "ivy", "password": new_password(),
                                               "role": "viewer"}).json()["id"]
    for client in (operator, viewer):
        assert_error(client.get("/api/v1/users"), 403, "forbidden")
        assert_error(client.post("/api/v1/users", json={"username": "x", "password": new_password(),
                                                        "role": "admin"}), 403, "forbidden")
        assert_error(client.patch(f"/api/v1/users/{target}", json={"role": "admin"}), 403, "forbidden")
        assert_error(client.delete(f"/api/v1/users/{target}"), 403, "forbidden")
        # An operator cannot promote themself either.
        assert_error(client.patch(f"/api/v1/users/{client.user['id']}", json={"role": "admin"}), 403, "forbidden")
    anonymous = requests.get(server.url("/api/v1/users"))
    assert_error(anonymous, 401, "unauthenticated")
    names = [u["username"] for u in admin.get("/api/v1/users").json()["items"]]
    assert "x" not in names and len(names) == 4


def test_user_list_pagination(server, admin):
    for name in ("u1", "u2", "u3", "u4"):
        assert admin.post("/api/v1/users", json={"username": name, "password": "x" * 12,
                                                 "role": "viewer"}).status_code == 201
    pages = walk_pages(admin, "/api/v1/users", limit=2)
    assert [[u["username"] for u in page] for page in pages] == [["u4", "u3"], ["u2", "u1"], ["admin"]]
    assert_error(admin.get("/api/v1/users", params={"limit": 0}), 400, "validation_failed", "limit")
    assert_error(admin.get("/api/v1/users", params={"limit": "ten"}), 400, "validation_failed", "limit")
    assert_error(admin.get("/api/v1/users", params={"limit": 100_000}), 400, "validation_failed", "limit")
    assert_error(admin.get("/api/v1/users", params={"cursor": "not-a-cursor"}), 400, "validation_failed", "cursor")
    assert_error(admin.get("/api/v1/users", params={"cursor": "-1"}), 400, "validation_failed", "cursor")
