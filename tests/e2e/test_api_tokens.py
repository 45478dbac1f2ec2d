"""A user's own API tokens: `GET/POST /api/v1/api-tokens`, `DELETE /api/v1/api-tokens/{id}`."""
import datetime

from api_support import (Anonymous, TokenClient, assert_api_shape, assert_error, assert_list, db_execute, parse_time,
                         walk_pages)
from conftest import create_user


def test_token_value_is_shown_once_and_works_as_bearer(server, admin):
    created = admin.post("/api/v1/api-tokens", json={"name": "ci"})
    assert created.status_code == 201, created.text
    body = created.json()
    assert {"id", "name", "token", "created_at"} <= set(body)
    assert_api_shape(body)
    assert body["name"] == "ci"
    token = server.remember_secret(body["token"])
    assert token.startswith("rma_") and len(token) >= 40
    parse_time(body["created_at"])

    listed = admin.get("/api/v1/api-tokens")
    items = assert_list(listed)["items"]
    assert [item["id"] for item in items] == [body["id"]]
    assert "token" not in items[0] and token not in listed.text
    assert items[0]["name"] == "ci"
    assert items[0]["last_used_at"] is None

    bearer = TokenClient(server, token)
    assert bearer.get("/api/v1/auth/me").json()["user"] == admin.user
    used = admin.get("/api/v1/api-tokens").json()["items"][0]
    parse_time(used["last_used_at"])


def test_revoked_token_gets_401(server, admin):
    created = admin.post("/api/v1/api-tokens", json={"name": "short-lived"}).json()
    bearer = TokenClient(server, server.remember_secret(created["token"]))
    assert bearer.get("/api/v1/hosts").status_code == 200
    assert admin.delete(f"/api/v1/api-tokens/{created['id']}").status_code == 204
    assert_error(bearer.get("/api/v1/hosts"), 401, "unauthenticated")
    assert_error(bearer.post("/api/v1/api-tokens", json={"name": "again"}), 401, "unauthenticated")
    assert admin.get("/api/v1/api-tokens").json()["items"] == []
    assert_error(admin.delete(f"/api/v1/api-tokens/{created['id']}"), 404, "not_found")


def test_a_token_can_revoke_itself(server, admin):
    created = admin.post("/api/v1/api-tokens", json={"name": "self"}).json()
    bearer = TokenClient(server, server.remember_secret(created["token"]))
    assert bearer.delete(f"/api/v1/api-tokens/{created['id']}").status_code == 204
    assert_error(bearer.get("/api/v1/auth/me"), 401)


def test_tokens_are_private_to_their_user(server, admin, viewer):
    mine = admin.post("/api/v1/api-tokens", json={"name": "admin-token"}).json()
    server.remember_secret(mine["token"])
    theirs = viewer.post("/api/v1/api-tokens", json={"name": "viewer-token"})
    # Any signed-in user may hold tokens, viewers included.
    assert theirs.status_code == 201
    server.remember_secret(theirs.json()["token"])
    assert [t["name"] for t in viewer.get("/api/v1/api-tokens").json()["items"]] == ["viewer-token"]
    assert [t["name"] for t in admin.get("/api/v1/api-tokens").json()["items"]] == ["admin-token"]
    # Even an admin cannot revoke someone else's token through this route.
    assert_error(admin.delete(f"/api/v1/api-tokens/{theirs.json()['id']}"), 404, "not_found")
    assert_error(viewer.delete(f"/api/v1/api-tokens/{mine['id']}"), 404, "not_found")
    # A viewer's token carries the viewer's role, not more.
    viewer_bearer = TokenClient(server, theirs.json()["token"])
    assert_error(viewer_bearer.get("/api/v1/users"), 403, "forbidden")
    assert viewer_bearer.get("/api/v1/hosts").status_code == 200


def test_token_validation(server, admin):
    def create(body):
        return admin.post("/api/v1/api-tokens", json=body)

    assert_error(create({}), 400, "validation_failed", "name")
    assert_error(create({"name": ""}), 400, "validation_failed", "name")
    assert_error(create({"name": "   "}), 400, "validation_failed", "name")
    assert_error(create({"name": 12}), 400, "validation_failed", "name")
    assert_error(create({"name": "x" * 10_000}), 400, "validation_failed", "name")
    assert_error(create({"name": "bell\u0007"}), 400, "validation_failed", "name")
    assert_error(create({"name": "ok", "expires_at": "2001-01-01T00:00:00Z"}), 400, "validation_failed", "expires_at")
    assert_error(create({"name": "ok", "expires_at": "next tuesday"}), 400, "validation_failed", "expires_at")
    assert admin.get("/api/v1/api-tokens").json()["items"] == []

    future = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ")
    dated = create({"name": "dated", "expires_at": future})
    assert dated.status_code == 201, dated.text
    server.remember_secret(dated.json()["token"])
    assert parse_time(dated.json()["expires_at"]) == parse_time(future)
    assert admin.get("/api/v1/api-tokens").json()["items"][0]["expires_at"] == dated.json()["expires_at"]


def test_token_routes_need_a_user(server, admin):
    anonymous = Anonymous(server)
    assert_error(anonymous.get("/api/v1/api-tokens"), 401, "unauthenticated")
    assert_error(anonymous.post("/api/v1/api-tokens", json={"name": "x"}), 401, "unauthenticated")
    created = admin.post("/api/v1/api-tokens", json={"name": "keep"}).json()
    server.remember_secret(created["token"])
    assert_error(anonymous.delete(f"/api/v1/api-tokens/{created['id']}"), 401, "unauthenticated")
    assert len(admin.get("/api/v1/api-tokens").json()["items"]) == 1


def test_token_list_pagination(server, admin):
    for index in range(5):
        server.remember_secret(admin.post("/api/v1/api-tokens", json={"name": f"t{index}"}).json()["token"])
    pages = walk_pages(admin, "/api/v1/api-tokens", limit=2)
    assert [[t["name"] for t in page] for page in pages] == [["t4", "t3"], ["t2", "t1"], ["t0"]]


def test_operator_tokens_work_for_operator_routes(server, admin):
    operator = create_user(admin, "operator")
    created = operator.post("/api/v1/api-tokens", json={"name": "op"}).json()
    bearer = TokenClient(server, server.remember_secret(created["token"]))
    assert bearer.get("/api/v1/jobs").status_code == 200
    assert_error(bearer.get("/api/v1/audit"), 403, "forbidden")


def test_expired_token_gets_401(server, admin):
    future = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    created = admin.post("/api/v1/api-tokens", json={"name": "expiring", "expires_at": future}).json()
    bearer = TokenClient(server, server.remember_secret(created["token"]))
    assert bearer.get("/api/v1/auth/me").status_code == 200
    # Let the hour pass in the database rather than on the clock.
    assert db_execute(server, "UPDATE api_tokens SET expires_at = '2000-01-01 00:00:00.000' WHERE id = ?",
                      (created["id"],)) == 1
    assert_error(bearer.get("/api/v1/auth/me"), 401, "unauthenticated")
