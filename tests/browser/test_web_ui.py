"""The web UI in a real browser, in the order an administrator meets it:
sign in, enroll a real agent, configure a local repository, write a
schedule (a bad cron first), run a backup and watch its log grow live, see
the snapshot, cancel a long backup, and a viewer who finds no edit controls
and whom the server refuses anyway. Every page is photographed.

The tests share one server, agent and repository (module fixtures) and run
in file order; a test whose prerequisite failed is skipped, naming it.
"""
from __future__ import annotations

import re
import urllib.parse

import pytest
import requests

from conftest import HEIGHT, SCREENSHOTS, WIDTH, Browser, harness, new_id, random_sample, wait_for

WATCHED_BACKUP_MIB = 8  # at 1 MiB/s: ~8 s, long enough to watch, short enough to wait for
SLOW_OPTIONS = '{"limit_upload_kib": 1024}'
# The backup to cancel: 100 MiB at 4 MiB/s runs ~25 s. A faster limit than the
# watched backup because restic, interrupted, still finishes the pack uploads in
# flight (up to two 16 MiB packs) through the limiter before it exits.
LONG_BACKUP_MIB = 100
LONG_OPTIONS = '{"limit_upload_kib": 4096}'
RARE_CRON = "15 4 1 1 *"  # 04:15 on 1 January: never fires during a run
TERMINAL = ("succeeded", "failed", "cancelled")


@pytest.fixture(scope="module")
def admin_browser(stack) -> Browser:
    return stack.browser("admin")


def needs(stack, *keys):
    """The shared state an earlier test built, or a skip naming what is missing."""
    missing = [key for key in keys if key not in stack.state]
    if missing:
        pytest.skip(f"an earlier test did not produce {', '.join(missing)}")
    return [stack.state[key] for key in keys] if len(keys) > 1 else stack.state[keys[0]]


def api_jobs(stack, host_id: str) -> list[dict]:
    response = stack.admin.get("/api/v1/jobs", params={"host_id": host_id, "limit": 200})
    assert response.status_code == 200, response.text
    return response.json()["items"]


def api_schedules(stack, host_id: str) -> list[dict]:
    response = stack.admin.get(f"/api/v1/hosts/{host_id}/schedules")
    assert response.status_code == 200, response.text
    return response.json()["items"]


def job_status(browser: Browser) -> str | None:
    elements = browser.find_all("#job-status")
    return elements[0].get_attribute("data-status") if elements else None


def log_line_count(browser: Browser) -> int:
    return len(browser.find_all("#log .log-line"))


def landed_job(browser: Browser, stack, host_id: str, before: set, action: str) -> str:
    """The job an action created: the job page the browser landed on, which
    must be the one new job on the server."""
    match = re.fullmatch(r"/jobs/([^/]+)", browser.path)
    assert match, f"{action} did not redirect to the new job's page (landed on {browser.path})"
    new = [job["id"] for job in api_jobs(stack, host_id) if job["id"] not in before]
    assert new == [match.group(1)], f"{action} created {new}, the page shows {match.group(1)}"
    return match.group(1)


def wait_status(browser: Browser, statuses, timeout: float) -> str:
    statuses = (statuses,) if isinstance(statuses, str) else tuple(statuses)
    return browser.wait(lambda: job_status(browser) in statuses and job_status(browser), timeout,
                        f"#job-status[data-status] to become one of {statuses}")


def watch_running_status(browser: Browser) -> None:
    """The server says running: the open job page says so too, start time
    included, without a reload."""
    browser.wait(lambda: job_status(browser) == "running", 10, "#job-status to show running")
    browser.wait(lambda: not re.search(r"Started\s+—", browser.text("#job-facts")), 10, "a start time in #job-facts")


def open_schedule_editor(browser: Browser, host_id: str) -> None:
    browser.open(f"/hosts/{host_id}")
    browser.find("a#new-schedule").click()
    browser.wait(lambda: browser.path == f"/hosts/{host_id}/schedules/new", 10, "the schedule editor")
    browser.wait_loaded()
    browser.wait_css("#schedule-form")


def run_schedule_now(browser: Browser, stack, host_id: str, schedule_id: str) -> str:
    """Clicks the schedule row's run-now button; returns the job id."""
    browser.open(f"/hosts/{host_id}")
    before = {job["id"] for job in api_jobs(stack, host_id)}
    browser.submit(f"#schedules tr[data-schedule-id='{schedule_id}'] form.run-now")
    return landed_job(browser, stack, host_id, before, "run now")


# ---------------------------------------------------------------------------


def test_sign_in_sends_back_to_the_asked_page_and_refuses_a_wrong_password(stack, admin_browser):
    browser = admin_browser
    browser.open("/audit")
    assert browser.path == "/login", f"a signed-out browser was not sent to /login but to {browser.path}"
    assert urllib.parse.parse_qs(browser.url.query).get("next") == ["/audit"], browser.driver.current_url
    assert browser.exists("[name=username]") and browser.exists("[name=password]")
    assert not browser.exists("#logout-form")
    browser.shot("login")

    browser.fill("form:has([name=password])", username="admin", password="not-the-password")
    browser.submit_login()
    assert browser.path == "/login"
    error = browser.wait_css("#login-error")
    assert error.is_displayed() and error.text.strip(), "the refused sign-in shows no message"
    assert stack.server.admin_password not in browser.driver.page_source
    browser.shot("login-error")

    assert browser.find("[name=username]").get_attribute("value") == "admin", "the refused form lost the username"
    browser.fill("form:has([name=password])", username="admin", password=stack.server.admin_password)
    browser.submit_login()
    # The refused form still carried where to go afterwards.
    assert browser.path == "/audit", f"after a refused try, signing in landed on {browser.path}, not on next=/audit"
    assert browser.exists("#logout-form"), "no #logout-form in the header once signed in"
    assert browser.session_cookie(), "no rm_session cookie after signing in"

    browser.open("/")
    assert browser.path == "/"
    assert browser.exists("#totals")
    assert browser.exists("#no-hosts"), "an empty fleet shows no #no-hosts empty state"
    assert not browser.find_all("#hosts tbody tr[data-host-id]")
    browser.shot("dashboard-empty")
    stack.state["signed_in"] = True


def test_enroll_a_real_agent_with_the_command_from_the_enrollment_page(stack, admin_browser):
    needs(stack, "signed_in")
    browser = admin_browser
    browser.open("/enrollment")
    browser.wait_css("#enroll-form")
    for name in ("note", "name"):
        if browser.find_all(f"#enroll-form [name='{name}']"):
            browser.fill("#enroll-form", **{name: "browser test"})
            break
    browser.submit("#enroll-form")
    token = browser.wait_css("#enroll-token").text.strip()
    command = browser.text("#enroll-command")
    assert token, "#enroll-token is empty"
    assert token in command, f"the shown command does not carry the token: {command!r}"
    assert stack.server.base_url in command, f"the shown command does not name this server: {command!r}"
    assert browser.exists("button.copy"), "no copy button next to the token or command"
    stack.server.remember_secret(token)
    browser.shot("enrollment")

    # The real agent binary enrolls with exactly that token.
    state_dir = stack.tmp / "agent-state"
    result = harness.run_agent_command("enroll", "--server", stack.server.base_url, "--token", token,
                                       "--state-dir", str(state_dir), "--name", "web-host")
    assert result.returncode == 0, result.stderr
    host_id = result.stdout.split("enrolled as host ", 1)[1].split(";", 1)[0].strip()
    agent = harness.start_agent(state_dir)
    stack.agents.append(agent)
    harness.wait_online(stack.admin, host_id)

    # The token is spent: the page no longer shows it after a reload.
    browser.open("/enrollment")
    assert token not in browser.driver.page_source, "the enrollment page shows the token again after a reload"

    browser.open("/")
    row = browser.wait_css(f"#hosts tbody tr[data-host-id='{host_id}']")
    assert "web-host" in row.text
    assert row.get_attribute("data-attention") is not None
    assert not browser.exists("#no-hosts")
    browser.shot("dashboard-unconfigured")
    row.find_element("css selector", "a.host-link").click()
    browser.wait(lambda: browser.path == f"/hosts/{host_id}", 10, "the host page")
    browser.wait_loaded()
    facts = browser.wait_css("#facts").text
    assert "web-host" in browser.driver.page_source
    assert facts, "#facts is empty"
    stack.state["host_id"] = host_id
    stack.state["agent"] = agent


def test_configure_a_local_repository_and_initialise_it(stack, admin_browser):
    host_id = needs(stack, "host_id")
    browser = admin_browser
    repo = str(stack.tmp / "repo")
    password = stack.server.remember_secret(f"repo-pw-{new_id()}")
    browser.open(f"/hosts/{host_id}")
    browser.wait_css("#config-form")
    browser.fill("#config-form", repo_url=repo, repo_password=password)
    browser.submit("#config-form")
    assert browser.path == f"/hosts/{host_id}", f"saving the config landed on {browser.path}"
    assert browser.field("#config-form", "repo_url").get_attribute("value") == repo, \
        "the host page does not show the configured repository"
    assert password not in browser.driver.page_source, "the repository password is echoed into the page"
    config = stack.admin.get(f"/api/v1/hosts/{host_id}/config").json()
    assert config["repo_url"] == repo, f"the API does not show the repository the page saved: {config}"

    before = {job["id"] for job in api_jobs(stack, host_id)}
    browser.submit("#init-repo")
    job_id = landed_job(browser, stack, host_id, before, "initialise repository")
    assert wait_status(browser, TERMINAL, 60) == "succeeded", browser.text("body")
    assert (stack.tmp / "repo" / "config").exists(), "restic wrote no repository"
    assert harness.job(stack.admin, job_id)["kind"] == "init"
    stack.state["repo"] = (repo, password)


def test_schedule_editor_shows_a_bad_cron_then_saves_a_good_one(stack, admin_browser):
    host_id, _ = needs(stack, "host_id", "repo")
    browser = admin_browser
    sample = random_sample(stack.tmp / "sample", megabytes=WATCHED_BACKUP_MIB)
    open_schedule_editor(browser, host_id)
    form = "#schedule-form"
    if browser.find_all(f"{form} [name=kind]"):
        browser.fill(form, kind="backup")
    browser.fill(form, cron_expr="61 * * * *", paths=str(sample), tags="web, browser", keep_last="3",
                 options=SLOW_OPTIONS)

    # The live preview flags the bad cron before anything is sent.
    browser.wait(lambda: browser.find("#cron_expr-error").is_displayed() and browser.text("#cron_expr-error"),
                 5, "the live cron error")
    # The reason alone, next to the field it belongs to.
    assert not browser.text("#cron_expr-error").startswith("cron_expr"), browser.text("#cron_expr-error")

    browser.submit(form)
    error = browser.wait_css("#cron_expr-error")
    assert error.is_displayed() and error.text.strip(), "the server's cron error is not shown next to the field"
    assert browser.field(form, "cron_expr").get_attribute("value") == "61 * * * *", "the typed cron was lost"
    assert str(sample) in browser.field(form, "paths").get_attribute("value"), "the typed paths were lost"
    assert "limit_upload_kib" in browser.field(form, "options").get_attribute("value"), "the typed options were lost"
    assert api_schedules(stack, host_id) == [], "the refused schedule was saved"
    browser.shot("schedule-editor-error")

    browser.fill(form, cron_expr=RARE_CRON)
    def previewed():
        error_gone = not browser.exists("#cron_expr-error") or not browser.find("#cron_expr-error").is_displayed() \
            or not browser.text("#cron_expr-error")
        return error_gone and len(browser.find_all("#cron-preview li")) >= 1

    browser.wait(previewed, 5, "the live cron preview")
    browser.shot("schedule-editor-preview")
    browser.submit(form)
    assert browser.path == f"/hosts/{host_id}", f"saving the schedule landed on {browser.path}: " \
                                                 f"{browser.find('body').text[:500]}"
    rows = browser.find_all("#schedules tr[data-schedule-id]")
    assert len(rows) == 1, "the host page does not list the saved schedule"
    schedule_id = rows[0].get_attribute("data-schedule-id")
    schedule = stack.admin.get(f"/api/v1/schedules/{schedule_id}").json()
    assert schedule["cron_expr"] == RARE_CRON
    assert schedule["paths"] == [str(sample)]
    assert schedule["tags"] == ["web", "browser"], schedule["tags"]
    assert schedule["options"]["limit_upload_kib"] == 1024, schedule["options"]
    assert schedule["retention_policy"]["keep_last"] == 3, schedule["retention_policy"]
    harness.wait_schedule_acked(stack.admin, host_id)
    browser.shot("host")
    stack.state["schedule_id"] = schedule_id


def test_run_a_backup_watch_the_log_grow_live_and_see_the_snapshot(stack, admin_browser):
    host_id, schedule_id, (repo, password) = needs(stack, "host_id", "schedule_id", "repo")
    browser = admin_browser
    job_id = run_schedule_now(browser, stack, host_id, schedule_id)
    browser.driver.execute_script("window.__marker = 1")
    at_load = log_line_count(browser)
    assert job_status(browser) in ("queued", "running"), job_status(browser)

    # While restic runs, the open page fills in: log lines and progress arrive live.
    browser.wait(lambda: log_line_count(browser) >= 1, 20, "a first log line")
    browser.wait_css("#progress")
    browser.wait(lambda: float(browser.find("#progress").get_attribute("value") or 0) > 0, 20,
                 "the progress bar to move")
    assert harness.job(stack.admin, job_id)["status"] == "running", "the backup finished before it was watched"
    while_running = log_line_count(browser)
    watch_running_status(browser)
    browser.shot("job-running")

    # It ends on the same page: more lines (restic's summary), the final status.
    assert wait_status(browser, TERMINAL, 60) == "succeeded", browser.text("body")[:1000]
    browser.wait(lambda: log_line_count(browser) > while_running >= at_load, 10, "more log lines by the end")
    assert browser.driver.execute_script("return window.__marker") == 1, "the job page reloaded to show progress"
    lines = [line.text for line in browser.find_all("#log .log-line")]
    assert any("restic" in line and "backup" in line for line in lines), lines[:5]
    stored = harness.job_logs(stack.admin, job_id)
    assert len(lines) == len(stored), f"the page shows {len(lines)} lines, the server stored {len(stored)}"
    summary = browser.wait_css("#summary", 10)
    assert summary.is_displayed() and summary.text.strip(), "no #summary after a finished backup"
    for progress in browser.find_all("#progress"):  # a finished job's header may show the summary alone
        assert float(progress.get_attribute("value")) == float(progress.get_attribute("max") or 1), \
            "the progress bar is not full after success"
    browser.shot("job-finished")

    # The snapshot restic really wrote shows up on the host page.
    restic_ids = harness.restic_snapshot_ids(repo, password)
    assert len(restic_ids) == 1, restic_ids

    def snapshot_rows():
        browser.open(f"/hosts/{host_id}")
        return [row.get_attribute("data-snapshot-id") for row in browser.find_all("#snapshots tr[data-snapshot-id]")]

    shown = browser.wait(snapshot_rows, 30, "the snapshot on the host page")
    assert len(shown) == 1 and (shown[0].startswith(restic_ids[0]) or restic_ids[0].startswith(shown[0])), \
        (shown, restic_ids)
    assert browser.find_all(f"#jobs tr[data-job-id='{job_id}']"), "the host page does not list the backup job"
    assert browser.exists("#repo-chart")
    browser.shot("host-with-snapshot")
    browser.open("/")
    browser.shot("dashboard")
    stack.state["backup_job"] = job_id


def test_admin_creates_a_viewer_on_the_users_page(stack, admin_browser):
    needs(stack, "signed_in")
    browser = admin_browser
    browser.open("/users")
    username = f"viewer-{new_id()}"
    password = stack.server.remember_secret(f"pw-{new_id()}-{new_id()}")
    browser.fill("#user-form", username=username, password=password, role="viewer")
    browser.submit("#user-form")
    assert browser.path == "/users", browser.path
    rows = [row for row in browser.find_all("#users tr[data-user-id]") if username in row.text]
    assert len(rows) == 1, "the new user is not listed"
    assert "viewer" in rows[0].text
    users = stack.admin.get("/api/v1/users").json()["items"]
    assert [u["role"] for u in users if u["username"] == username] == ["viewer"]
    assert password not in browser.driver.page_source
    browser.shot("users")
    stack.state["viewer"] = (username, password)


@pytest.fixture(scope="module")
def viewer_browser(stack) -> Browser:
    username, password = needs(stack, "viewer")
    browser = stack.browser("viewer")
    # `next` must be a local path: an off-site one lands on this server.
    browser.login(username, password, path="/login?next=//evil.example/steal")
    assert browser.url.netloc == urllib.parse.urlparse(stack.server.base_url).netloc, browser.driver.current_url
    assert browser.exists("#logout-form"), f"the viewer did not sign in: {browser.find('body').text[:300]}"
    stack.state["viewer_browser"] = browser
    return browser


VIEWER_HIDDEN = ("#config-form", "form.run-now", "a#new-schedule", "#cancel-form", "#init-repo", "#delete-host-form",
                 "#rename-form")


def test_viewer_finds_no_edit_controls_and_the_server_refuses_run_now(stack, admin_browser, viewer_browser):
    host_id, schedule_id = needs(stack, "host_id", "schedule_id")
    viewer = viewer_browser
    viewer.open(f"/hosts/{host_id}")
    assert viewer.find_all(f"#schedules tr[data-schedule-id='{schedule_id}']"), "the viewer cannot see the schedule"
    shown = [css for css in VIEWER_HIDDEN if viewer.exists(css)]
    assert not shown, f"a viewer sees edit controls: {shown}"
    viewer.shot("host-viewer")
    for job in api_jobs(stack, host_id):
        assert viewer.find_all(f"#jobs tr[data-job-id='{job['id']}']"), "the viewer cannot see a job"
        viewer.open(f"/jobs/{job['id']}")
        assert job_status(viewer) == job["status"]
        assert not viewer.exists("#cancel-form")
        viewer.open(f"/hosts/{host_id}")
    viewer.open("/")
    assert viewer.find_all(f"#hosts tbody tr[data-host-id='{host_id}']")
    viewer.open(f"/hosts/{host_id}")

    # The admin's run-now form, posted with the viewer's session and CSRF token.
    admin_browser.open(f"/hosts/{host_id}")
    action, fields = admin_browser.form_data(f"#schedules tr[data-schedule-id='{schedule_id}'] form.run-now")
    fields["csrf_token"] = viewer.csrf_token()
    session = stack.client_for(viewer)
    before = api_jobs(stack, host_id)
    refused = session.post(action, data=fields, allow_redirects=False, timeout=30)
    assert refused.status_code == 403, (refused.status_code, refused.text[:300])
    assert api_jobs(stack, host_id) == before, "the refused run-now created a job"

    # The same cookie and token are good for what a viewer may do: the 403 was the role.
    for path in ("/users", "/audit", "/enrollment"):
        assert session.get(stack.server.url(path), allow_redirects=False, timeout=30).status_code == 403, path
    assert session.get(stack.server.url(f"/hosts/{host_id}"), timeout=30).status_code == 200


def test_cancel_a_long_backup_from_the_job_page(stack, admin_browser):
    host_id, agent = needs(stack, "host_id", "agent")
    needs(stack, "schedule_id")
    browser = admin_browser
    big = random_sample(stack.tmp / "big", megabytes=LONG_BACKUP_MIB)
    open_schedule_editor(browser, host_id)
    if browser.find_all("#schedule-form [name=kind]"):
        browser.fill("#schedule-form", kind="backup")
    browser.fill("#schedule-form", cron_expr=RARE_CRON, paths=str(big), options=LONG_OPTIONS)
    browser.submit("#schedule-form")
    assert browser.path == f"/hosts/{host_id}", browser.find("body").text[:500]
    ids = {row.get_attribute("data-schedule-id") for row in browser.find_all("#schedules tr[data-schedule-id]")}
    (schedule_id,) = ids - {stack.state["schedule_id"]}
    harness.wait_schedule_acked(stack.admin, host_id)

    job_id = run_schedule_now(browser, stack, host_id, schedule_id)
    wait_for(lambda: harness.job(stack.admin, job_id)["status"] == "running", timeout=30, message="job running")
    restic = wait_for(lambda: harness.children_restic(agent), timeout=20, message="restic under the agent")
    watch_running_status(browser)
    # Opened again while it runs, as someone arriving from the job list would.
    browser.open(f"/jobs/{job_id}")
    browser.driver.execute_script("window.__marker = 1")
    assert job_status(browser) == "running"
    browser.wait_css("#cancel-form")
    browser.wait(lambda: log_line_count(browser) >= 1, 20, "the first log line")
    browser.wait(lambda: float(browser.find("#progress").get_attribute("value") or 0) > 0, 20,
                 "the progress bar to move")
    browser.shot("job-running-long")

    # A viewer watching the same job has no cancel button, and the server refuses the POST.
    viewer = stack.state.get("viewer_browser")
    if viewer is not None:
        viewer.open(f"/jobs/{job_id}")
        assert job_status(viewer) == "running"
        assert not viewer.exists("#cancel-form"), "a viewer sees the cancel button"
        action, fields = browser.form_data("#cancel-form")
        fields["csrf_token"] = viewer.csrf_token()
        refused = stack.client_for(viewer).post(action, data=fields, allow_redirects=False, timeout=30)
        assert refused.status_code == 403, (refused.status_code, refused.text[:300])
        assert harness.job(stack.admin, job_id)["status"] == "running"

    assert browser.driver.execute_script("return window.__marker") == 1
    browser.submit("#cancel-form", confirm=True)
    assert browser.path == f"/jobs/{job_id}", f"cancelling landed on {browser.path}"
    assert wait_status(browser, ("cancelled", "succeeded", "failed"), 60) == "cancelled"
    assert harness.job(stack.admin, job_id)["status"] == "cancelled"
    assert not browser.exists("#cancel-form"), "a cancelled job still offers cancel"
    # A cancel someone asked for is not presented as a failure, and the
    # "cancel requested" notice is gone once the job has ended.
    browser.wait_css("#job-cancelled")
    assert not browser.exists("#job-error"), browser.text("#job-error")
    assert not browser.exists("#flash"), browser.text("#flash")
    # restic's terminal escapes (ESC[2K before "signal interrupt received") never reach the page.
    assert "\x1b" not in browser.text("#log") and "[2K" not in browser.text("#log")
    for pid in restic:
        harness.wait_process_gone(pid, timeout=40)
    browser.shot("job-cancelled")


def test_own_api_token_is_shown_once_and_works(stack, admin_browser):
    needs(stack, "signed_in")
    browser = admin_browser
    browser.open("/tokens")
    browser.wait_css("#token-form")
    for name in ("name", "note", "label"):
        if browser.find_all(f"#token-form [name='{name}']"):
            browser.fill("#token-form", **{name: "browser test"})
            break
    browser.submit("#token-form")
    token = browser.wait_css("#new-token").text.strip()
    assert token, "#new-token is empty"
    stack.server.remember_secret(token)
    browser.shot("tokens")
    answer = requests.get(stack.server.url("/api/v1/hosts"), headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert answer.status_code == 200, answer.text
    browser.open("/tokens")
    assert token not in browser.driver.page_source, "the token is shown again after a reload"


def test_audit_and_job_list_pages_show_what_the_browser_did(stack, admin_browser):
    needs(stack, "signed_in")
    browser = admin_browser
    browser.open("/audit")
    rows = browser.find_all("#audit tbody tr")
    assert rows, "the audit page lists nothing"
    text = browser.find("#audit").text.lower()
    assert "user.create" in text and "auth.login" in text, text[:500]
    if "schedule_id" in stack.state:
        assert "schedule" in text, "the audit page does not mention the schedule the browser created"
    if "viewer" in stack.state:
        assert stack.state["viewer"][0] in browser.find("#audit").text or "role=viewer" in text, \
            "the audit page does not show the viewer the browser created"
    for secret in stack.server.secrets:
        assert secret not in browser.driver.page_source
    browser.shot("audit")
    browser.open("/jobs")
    if "backup_job" in stack.state:
        assert stack.state["backup_job"] in browser.driver.page_source
    browser.shot("jobs")


def test_dashboard_fits_a_phone_screen(stack, admin_browser):
    host_id = needs(stack, "host_id")
    browser = admin_browser
    browser.set_viewport(375, 812)
    try:
        browser.open("/")
        assert browser.driver.execute_script("return window.innerWidth") == 375
        assert browser.find_all(f"#hosts tbody tr[data-host-id='{host_id}']")
        overflow = browser.driver.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth")
        browser.shot("dashboard-375")
        assert overflow <= 1, f"the dashboard is {overflow}px wider than a 375px screen"
    finally:
        browser.set_viewport(WIDTH, HEIGHT)


def test_dashboard_lists_hosts_needing_attention_first(stack, admin_browser):
    host_id = needs(stack, "host_id")
    # Two more hosts enroll but never connect: offline, never backed up.
    bare = []
    for name in ("db-01", "files-02"):
        created = stack.admin.post("/api/v1/enrollment-tokens", json={"note": name})
        assert created.status_code == 201, created.text
        enrolled = requests.post(stack.server.url("/api/v1/agents/enroll"), timeout=30, json={
            "token": stack.server.remember_secret(created.json()["token"]), "hostname": name, "os": "linux",
            "arch": "arm64", "name": name})
        assert enrolled.status_code == 201, enrolled.text
        stack.server.remember_secret(enrolled.json()["agent_token"])
        bare.append(enrolled.json()["host_id"])

    browser = admin_browser
    browser.open("/")
    rows = browser.find_all("#hosts tbody tr[data-host-id]")
    order = [row.get_attribute("data-host-id") for row in rows]
    attention = [row.get_attribute("data-attention") for row in rows]
    assert order == bare + [host_id], order
    assert attention == ["true", "true", "false"], [row.text for row in rows]
    assert browser.text("#attention-count") == "2"
    for row in rows[:2]:
        assert "offline" in row.text and "never backed up" in row.text, row.text
    browser.shot("dashboard-fleet")


EXPECTED_SHOTS = ("login", "dashboard", "host", "schedule-editor-error", "job-running", "job-finished", "enrollment",
                  "users", "tokens", "audit", "dashboard-375", "host-viewer", "job-cancelled", "dashboard-fleet")


def test_every_page_was_photographed_and_no_script_failed(stack):
    missing = [name for name in EXPECTED_SHOTS
               if not (SCREENSHOTS / f"{name}.png").exists()
               or (SCREENSHOTS / f"{name}.png").read_bytes()[:8] != b"\x89PNG\r\n\x1a\n"]
    errors = [error for browser in stack.browsers for error in browser.collect_console()]
    assert not errors, f"the browser console reported errors: {errors}"
    assert not missing, f"no screenshot of {missing}"
