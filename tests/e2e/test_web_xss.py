"""Stored and reflected markup is escaped on every page that shows it, and
every page carries a Content-Security-Policy that would stop injected script."""
import urllib.parse

import pytest
import requests

from api_support import agent_finish_job, agent_log, agent_start_job, create_schedule, run_job
from conftest import Agent, enroll, enroll_host
from web_support import XSS_ATTR, XSS_SCRIPT, Browser, assert_no_raw_markup, doc, form_values, parse
from web_support import admin_browser, api_admin, web_server  # noqa: F401 (module-scoped fixtures)

SCRIPT_SRC = "/assets/app.js"


def assert_clean(response: requests.Response, where: str) -> None:
    """No injected markup, as text and as the parsed tree: the only script is
    the app's own, no <img>, no inline event handler attribute."""
    assert response.headers.get("Content-Type", "").startswith("text/html"), where
    text = response.text
    assert_no_raw_markup(text, where)
    tree = parse(text)
    scripts = tree.find_all("script")
    assert [s.get("src") for s in scripts] == [SCRIPT_SRC], f"{where}: unexpected <script> {scripts}"
    assert all(not s.text for s in scripts), where
    assert tree.find_all("img") == [], f"{where}: injected <img>"
    for element in tree.iter():
        handlers = [name for name in element.attrs if name.lower().startswith("on")]
        assert not handlers, f"{where}: event handler attribute {handlers} on <{element.tag}>"
    assert_security_headers(response, where)


def assert_security_headers(response: requests.Response, where: str) -> None:
    policy = response.headers.get("Content-Security-Policy", "")
    directives = {part.strip().split(" ")[0]: part.strip() for part in policy.split(";") if part.strip()}
    assert directives.get("script-src") == "script-src 'self'", f"{where}: CSP {policy!r}"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, where
    assert directives.get("default-src") == "default-src 'self'", where
    assert "frame-ancestors 'none'" in policy, where
    assert response.headers.get("X-Content-Type-Options") == "nosniff", where


@pytest.fixture(scope="module")
def hostile(web_server, api_admin):
    """A fleet full of hostile names, created through the API, the forms and an agent."""
    # A host that enrolls with a hostile hostname, another renamed through the form.
    token = api_admin.post("/api/v1/enrollment-tokens", json={"note": XSS_SCRIPT}).json()
    web_server.remember_secret(token["token"])
    enrolled = enroll(web_server, token["token"], hostname=XSS_SCRIPT)
    assert enrolled.status_code == 201, enrolled.text
    script_host = enrolled.json()["host_id"]
    host = enroll_host(api_admin, hostname="plain-host")
    browser = Browser(web_server)
    browser.login("admin", web_server.admin_password)
    renamed = browser.submit(f"/hosts/{host.host_id}/rename", {"name": XSS_ATTR, "notes": XSS_SCRIPT + XSS_ATTR})
    assert renamed.status_code == 303, renamed.text
    # Schedule fields that end up in text, attributes and a textarea.
    schedule = create_schedule(api_admin, host.host_id, paths=["/srv/" + XSS_SCRIPT, "/x</textarea>" + XSS_ATTR],
                               excludes=[XSS_ATTR], tags=["t" + XSS_ATTR.replace(",", "")],
                               options={"compression": "auto"})
    # An API token through the form, an enrollment note through the form.
    assert browser.submit("/tokens", {"name": XSS_SCRIPT}).status_code == 201
    assert browser.submit("/tokens", {"name": XSS_ATTR}).status_code == 201
    assert browser.submit("/enrollment", {"note": XSS_ATTR}).status_code == 201
    # Usernames cannot hold markup, but a failed sign-in records the typed name in the audit log.
    failed = Browser(web_server)
    fields = failed.login_form()
    fields.update(username=XSS_SCRIPT, password="wrong-password")
    assert failed.post("/login", data=fields).status_code == 401
    # An agent's log lines and error text.
    agent = Agent(web_server, host.agent_token)
    job = run_job(api_admin, host.host_id)
    agent.expect("command.run")
    agent_start_job(agent, job["id"])
    agent_log(agent, job["id"], 1, XSS_SCRIPT)
    agent_log(agent, job["id"], 2, XSS_ATTR, stream="stderr")
    agent_finish_job(agent, job["id"], status="failed", exit_code=1, error=XSS_SCRIPT + XSS_ATTR)
    agent.close()
    return {"script_host": script_host, "host": host.host_id, "schedule": schedule["id"], "job": job["id"],
            "browser": browser}


PAGES = ["/", "/hosts/{host}", "/hosts/{script_host}", "/schedules/{schedule}/edit", "/hosts/{host}/schedules/new",
         "/jobs", "/jobs/{job}", "/jobs?host_id={host}", "/tokens", "/users", "/enrollment", "/audit"]


@pytest.mark.parametrize("path", PAGES)
def test_stored_markup_is_escaped(hostile, path):
    response = hostile["browser"].get(path.format(**hostile))
    assert response.status_code == 200, response.text[:500]
    assert_clean(response, path)


def test_the_hostile_values_are_shown_escaped(hostile):
    """The negative checks above mean something: the values are on the pages, escaped."""
    browser = hostile["browser"]
    escaped_script = "&lt;script&gt;alert(1)&lt;/script&gt;"
    escaped_attr = "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"
    expectations = {
        "/": [escaped_script, escaped_attr],
        f"/hosts/{hostile['host']}": [escaped_attr, escaped_script, "/srv/" + escaped_script],
        f"/hosts/{hostile['script_host']}": [escaped_script],
        f"/schedules/{hostile['schedule']}/edit": ["/x&lt;/textarea&gt;" + escaped_attr],
        f"/jobs/{hostile['job']}": [escaped_script, escaped_attr],
        "/tokens": [escaped_script, escaped_attr],
        "/enrollment": [escaped_script, escaped_attr],
        "/audit": ["user:" + escaped_script, escaped_attr],
    }
    for path, needles in expectations.items():
        text = browser.get(path).text
        for needle in needles:
            assert needle in text, f"{needle!r} not shown on {path}"
    # Parsed back, the textarea holds exactly what was stored.
    form = doc(browser.get(f"/schedules/{hostile['schedule']}/edit")).by_id("schedule-form")
    values = form_values(form)
    assert values["paths"].splitlines() == ["/srv/" + XSS_SCRIPT, "/x</textarea>" + XSS_ATTR]
    assert values["excludes"] == XSS_ATTR


def test_reflected_values_are_escaped(web_server, hostile):
    browser = hostile["browser"]
    # A bad schedule form comes back with what was typed and the server's message.
    response = browser.submit(f"/hosts/{hostile['host']}/schedules", {
        "kind": "backup", "cron_expr": "@" + XSS_SCRIPT, "paths": XSS_ATTR, "tags": XSS_SCRIPT,
        "options": XSS_ATTR, "keep_within": XSS_ATTR, "enabled": "on"})
    assert response.status_code == 400
    assert_clean(response, "schedule form re-rendered")
    values = form_values(doc(response).by_id("schedule-form"))
    assert values["cron_expr"] == "@" + XSS_SCRIPT and values["tags"] == XSS_SCRIPT
    # The config form's error path.
    response = browser.submit(f"/hosts/{hostile['host']}/config", {"repo_url": "/srv/" + XSS_ATTR,
                                                                   "hook_shell": XSS_ATTR * 10})
    assert response.status_code == 400
    assert_clean(response, "config form re-rendered")
    values = form_values(doc(response).by_id("config-form"))
    assert (values["repo_url"], values["hook_shell"]) == ("/srv/" + XSS_ATTR, XSS_ATTR * 10)
    # The job list filter keeps the host_id it was given.
    response = browser.get("/jobs", params={"host_id": XSS_ATTR})
    assert response.status_code == 200
    assert_clean(response, "/jobs?host_id=…")
    response = browser.get("/jobs", params={"status": XSS_SCRIPT})
    assert response.status_code == 400
    assert_clean(response, "/jobs?status=…")


def test_login_page_reflections_are_escaped(web_server):
    browser = Browser(web_server)
    # `next` is a local path and so kept, and rendered into a hidden field
    # (without whitespace, which `next` may not hold at all).
    hostile_next = '/"><svg/onload=alert(1)>' 
    response = browser.get("/login?next=" + urllib.parse.quote(hostile_next, safe=""))
    assert response.status_code == 200
    assert_clean(response, "/login?next=…")
    fields = form_values(doc(response).by_id("login-form"))
    assert fields["next"] == hostile_next
    # The typed username comes back in the value attribute after a failure.
    fields.update(username=XSS_ATTR, password="wrong")
    response = browser.post("/login", data=fields)
    assert response.status_code == 401
    assert_clean(response, "failed login")
    assert form_values(doc(response).by_id("login-form"))["username"] == XSS_ATTR


def test_user_names_with_markup_are_refused(web_server, hostile):
    browser = hostile["browser"]
    for name in (XSS_SCRIPT, XSS_ATTR):
        response = browser.submit("/users", {"username": name, "password": "long-enough-password-1",
                                             "role": "viewer"})
        assert response.status_code == 400
        assert_clean(response, "refused user")
    assert_clean(browser.get("/users"), "/users")


def test_flash_cookie_markup_is_escaped(web_server, hostile):
    """The flash message travels in a cookie; whatever it holds is text."""
    browser = Browser(web_server)
    browser.login("admin", web_server.admin_password)
    browser.session.cookies.set("rm_flash", urllib.parse.quote(XSS_SCRIPT + XSS_ATTR, safe=""))
    response = browser.get("/")
    assert response.status_code == 200
    # Shown as text: the parsed page has the markup as the flash's text, not as elements.
    assert doc(response).by_id("flash").text == XSS_SCRIPT + XSS_ATTR
    assert_clean(response, "flash")


@pytest.mark.parametrize("path,status", [("/login", 200), ("/", 303), ("/tokens", 200), ("/users", 200),
                                         ("/hosts/nope", 404), ("/assets/app.css", 200),
                                         ("/assets/app.js", 200)])
def test_security_headers_on_pages_and_assets(web_server, admin_browser, path, status):
    client = admin_browser if path not in ("/", "/login") else Browser(web_server)
    response = client.get(path)
    assert response.status_code == status
    if status == 303:
        return
    assert_security_headers(response, path)
    if path.startswith("/assets/"):
        return
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers.get("X-Frame-Options") == "DENY"


def test_error_pages_carry_the_security_headers(web_server, admin_browser):
    for response in (Browser(web_server).post("/tokens", data={"a": "b"}),
                     admin_browser.submit("/tokens", {}, csrf="wrong"),
                     admin_browser.get("/hosts/nope")):
        assert response.status_code in (401, 403, 404)
        assert_security_headers(response, f"{response.status_code} page")
