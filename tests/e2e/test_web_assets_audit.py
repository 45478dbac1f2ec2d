"""The stylesheet and script (served from the binary with a validator), and
the audit page's keyset pagination followed through its `a#next-page` link."""
import pytest

from api_support import walk_pages
from web_support import Browser, assert_error_page, doc
from web_support import admin_browser, api_admin, web_server  # noqa: F401 (module-scoped fixtures)


@pytest.mark.parametrize("name,content_type,marker", [("app.css", "text/css", "{"),
                                                      ("app.js", "text/javascript", "cron-preview")])
def test_assets_are_served_with_an_etag(web_server, name, content_type, marker):
    # Assets need no session: the login page uses them.
    browser = Browser(web_server)
    response = browser.get(f"/assets/{name}")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith(content_type)
    assert marker in response.text
    etag = response.headers.get("ETag")
    assert etag and etag.startswith('"') and etag.endswith('"')
    assert response.headers.get("X-Content-Type-Options") == "nosniff"
    assert response.headers.get("Cache-Control") == "no-cache"

    again = browser.get(f"/assets/{name}", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers.get("ETag") == etag

    stale = browser.get(f"/assets/{name}", headers={"If-None-Match": '"not-the-etag"'})
    assert stale.status_code == 200 and stale.content == response.content


def test_the_two_assets_have_different_etags(web_server):
    browser = Browser(web_server)
    css, js = browser.get("/assets/app.css"), browser.get("/assets/app.js")
    assert css.headers["ETag"] != js.headers["ETag"]
    # The layout links exactly these.
    page = doc(browser.get("/login"))
    assert page.find("link", rel="stylesheet").get("href") == "/assets/app.css"
    assert page.find("script").get("src") == "/assets/app.js"


@pytest.mark.parametrize("path", ["/assets/nope", "/assets/app.css.map", "/assets/..%2Fapp.css", "/assets/APP.CSS"])
def test_unknown_assets_are_404(web_server, path):
    response = Browser(web_server).get(path)
    assert response.status_code == 404
    assert "ETag" not in response.headers


def test_audit_pages_walk_every_entry_once(web_server, api_admin, admin_browser):
    # Well over two pages of entries: 120 API tokens created and revoked.
    for index in range(60):
        created = api_admin.post("/api/v1/api-tokens", json={"name": f"audit-{index:03d}"})
        assert created.status_code == 201, created.text
        web_server.remember_secret(created.json()["token"])
        assert api_admin.delete(f"/api/v1/api-tokens/{created.json()['id']}").status_code == 204
    expected = [entry for page in walk_pages(api_admin, "/api/v1/audit", limit=500) for entry in page]
    assert len(expected) > 120

    seen = []
    path = "/audit"
    pages = 0
    while path:
        page = admin_browser.page(path)
        pages += 1
        rows = page.by_id("audit").find("tbody").find_all("tr")
        assert 0 < len(rows) <= 50
        for row in rows:
            cells = row.find_all("td")
            target = cells[3].find(title=True)
            seen.append((cells[0].find("time").get("datetime"), cells[2].text, target.get("title") if target else ""))
        link = page.by_id("next-page")
        if link is not None:
            assert len(rows) == 50, "a page before the last must be full"
            assert page.find("a", href="/audit") is not None or pages == 1
            path = link.get("href")
            assert path.startswith("/audit?cursor=")
        else:
            path = None
        assert pages < 50, "the next-page links do not end"
    assert pages >= 3
    # Every entry exactly once, newest first, the same as the API's walk.
    assert len(seen) == len(set(seen)), "a row is repeated across pages"
    # Page views are not audited, so the page walk and the API walk agree entry for entry.
    assert len(seen) == len(expected)
    assert [action for _, action, _ in seen] == [entry["action"] for entry in expected]
    assert [target for _, _, target in seen] == [entry["target_id"] for entry in expected]
    created = {target for _, action, target in seen if action == "api_token.create"}
    assert len(created) >= 60


def test_audit_page_rejects_a_forged_cursor(admin_browser):
    assert_error_page(admin_browser.get("/audit", params={"cursor": "not-a-cursor"}), 400, "cursor")
    assert_error_page(admin_browser.get("/audit", params={"limit": "0"}), 400, "limit")
