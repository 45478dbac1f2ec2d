"""Hostile, malformed and oversized form bodies on page routes: refused with
a readable HTML page and the right status, and nothing is changed."""
import pytest

from api_support import create_api_token, enroll_bare_host
from web_support import assert_error_page, assert_form_refused, location_path
from web_support import admin_browser, api_admin, web_server  # noqa: F401 (module-scoped fixtures)

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture(scope="module")
def host(api_admin):
    return enroll_bare_host(api_admin, "forms-host").host_id


@pytest.fixture(scope="module")
def reader(api_admin):
    return create_api_token(api_admin, "forms-reader")


def host_fields(reader, host_id):
    host = reader.get(f"/api/v1/hosts/{host_id}").json()
    return host["name"], host["notes"]


def raw_post(browser, path, body, content_type="application/x-www-form-urlencoded"):
    return browser.post(path, data=body, headers={"Content-Type": content_type})


def test_body_over_256_kib_is_413(admin_browser, host, reader):
    before = host_fields(reader, host)
    csrf = admin_browser.csrf_token
    path = f"/hosts/{host}/rename"
    body = f"csrf_token={csrf}&name=big&notes=" + "x" * (256 * 1024)
    assert_error_page(raw_post(admin_browser, path, body), 413, "256 KiB")
    # Much larger, and without a token: the size is refused before anything is read.
    response = raw_post(admin_browser, path, "notes=" + "y" * (4 * 1024 * 1024))
    assert_error_page(response, 413)
    assert host_fields(reader, host) == before
    # Just under the limit is read (and then refused by validation, naming the field).
    body = f"csrf_token={csrf}&name=big&notes=" + "x" * (200 * 1024)
    assert_error_page(raw_post(admin_browser, path, body), 400, "notes")
    assert host_fields(reader, host) == before


@pytest.mark.parametrize("content_type", ["application/json", "multipart/form-data; boundary=xyz", "text/plain", ""])
def test_other_content_types_are_415(admin_browser, host, reader, content_type):
    before = host_fields(reader, host)
    csrf = admin_browser.csrf_token
    if content_type.startswith("application/json"):
        body = f'{{"csrf_token": "{csrf}", "name": "by-json"}}'
    elif content_type.startswith("multipart"):
        body = (f'--xyz\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{csrf}\r\n'
                '--xyz\r\nContent-Disposition: form-data; name="name"\r\n\r\nby-multipart\r\n--xyz--\r\n')
    else:
        body = f"csrf_token={csrf}&name=by-text"
    response = admin_browser.post(f"/hosts/{host}/rename", data=body,
                                  headers={"Content-Type": content_type} if content_type else {})
    assert_error_page(response, 415, "application/x-www-form-urlencoded")
    assert host_fields(reader, host) == before


def test_multipart_built_by_requests_is_415(admin_browser, host, reader):
    before = host_fields(reader, host)
    response = admin_browser.post(f"/hosts/{host}/rename",
                                  files={"csrf_token": (None, admin_browser.csrf_token), "name": (None, "multi")})
    assert response.headers["Content-Type"].startswith("text/html")
    assert_error_page(response, 415)
    assert host_fields(reader, host) == before


def test_content_type_with_charset_is_a_form(admin_browser, host, reader):
    response = raw_post(admin_browser, f"/hosts/{host}/rename", f"csrf_token={admin_browser.csrf_token}&name=charset-ok",
                        "application/x-www-form-urlencoded; charset=UTF-8")
    assert response.status_code == 303, response.text
    assert host_fields(reader, host)[0] == "charset-ok"


@pytest.mark.parametrize("tail", ["name=%zz", "name=abc%", "name=%4", "name=x&name=y"])
def test_malformed_encoding_is_a_readable_400(admin_browser, host, reader, tail):
    before = host_fields(reader, host)
    response = raw_post(admin_browser, f"/hosts/{host}/rename", f"csrf_token={admin_browser.csrf_token}&{tail}")
    message = assert_error_page(response, 400, "form")
    assert "could not be read" in message and "submit" in message
    assert "Fatal" not in response.text and "error(" not in response.text
    assert host_fields(reader, host) == before


def test_raw_nul_is_400(admin_browser, host, reader):
    before = host_fields(reader, host)
    body = f"csrf_token={admin_browser.csrf_token}&name=nul&notes=a\x00b"
    assert_error_page(raw_post(admin_browser, f"/hosts/{host}/rename", body), 400, "NUL")
    assert host_fields(reader, host) == before


def test_percent_encoded_nul_in_a_name_is_400(admin_browser, host, reader):
    before = host_fields(reader, host)
    body = f"csrf_token={admin_browser.csrf_token}&name=a%00b"
    assert_error_page(raw_post(admin_browser, f"/hosts/{host}/rename", body), 400, "name")
    assert host_fields(reader, host) == before


def test_percent_encoded_nul_in_free_text_is_refused_not_truncated(admin_browser, host, reader):
    """A browser sends a NUL typed into a field as %00, never as a raw byte."""
    before = host_fields(reader, host)
    body = f"csrf_token={admin_browser.csrf_token}&name=nul-notes&notes=keep%00dropped"
    response = raw_post(admin_browser, f"/hosts/{host}/rename", body)
    after = host_fields(reader, host)
    assert response.status_code == 400, \
        f"got {response.status_code}; notes stored as {after[1]!r} (NUL accepted, text after it lost)"
    assert after == before


def test_very_long_field_is_400_naming_the_field(admin_browser, host, reader):
    before = host_fields(reader, host)
    response = admin_browser.submit(f"/hosts/{host}/rename", {"name": "h" * 10 * 1024})
    message = assert_error_page(response, 400, "name", "128")
    assert message.startswith("name:")
    # The page does not echo the 10 KiB back.
    assert "h" * 1024 not in response.text
    response = admin_browser.submit(f"/hosts/{host}/rename", {"name": "ok", "notes": "n" * 5000})
    assert_error_page(response, 400, "notes", "4096")
    response = admin_browser.submit("/tokens", {"name": "t" * 10 * 1024})
    assert_form_refused(response, 400, "token-form", "name")
    response = admin_browser.submit("/enrollment", {"note": "e" * 10 * 1024})
    assert_form_refused(response, 400, "enroll-form", "note")
    assert host_fields(reader, host) == before


def test_unknown_extra_fields_are_ignored(admin_browser, host, reader):
    response = admin_browser.submit(f"/hosts/{host}/rename", {
        "name": "extra-ok", "notes": "with extras", "role": "admin", "id": "other-host", "host_id": "x",
        "unknown": "y" * 1000, "zz": ""})
    assert response.status_code == 303, response.text
    assert location_path(response) == f"/hosts/{host}"
    assert host_fields(reader, host) == ("extra-ok", "with extras")
    # And a flash message tells the user it worked.
    page = admin_browser.page(location_path(response))
    assert page.by_id("flash") is not None and "saved" in page.by_id("flash").text.lower()
    # The flash is shown once.
    assert admin_browser.page(location_path(response)).by_id("flash") is None


def test_unknown_host_is_a_404_page(admin_browser):
    assert_error_page(admin_browser.get("/hosts/no-such-host"), 404, "host")
    assert_error_page(admin_browser.submit("/hosts/no-such-host/rename", {"name": "x"}), 404, "host")


def test_unknown_page_path_is_an_html_404(admin_browser):
    """A mistyped page address gets a page a browser can show, not API JSON."""
    for path in ("/no/such/page", "/tokenz"):
        response = admin_browser.get(path)
        assert_error_page(response, 404, "no page")
        assert response.headers.get("X-Content-Type-Options") == "nosniff"
    # Unknown API paths keep their JSON answer.
    response = admin_browser.get("/api/v1/no-such-thing")
    assert response.status_code == 404 and response.headers["Content-Type"].startswith("application/json")


@pytest.mark.parametrize("path", ["/hosts", "/hosts/{host}/typo", "/jobs/some-job/typo", "/tokens/some-token",
                                  "/audit/older"])
def test_unknown_path_below_a_page_route_is_an_html_404(admin_browser, host, path):
    """Also where the address starts like a real page (a trailing typo, /hosts without an id)."""
    response = admin_browser.get(path.format(host=host))
    assert response.status_code == 404
    assert_error_page(response, 404, "no page")
