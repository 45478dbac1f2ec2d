"""The snapshot browser in a real browser: an operator opens last night's
snapshot from the host page, clicks down the folders by their links and
breadcrumbs, ticks one file and restores it into the folder the host
allows, watches the restore job finish, and gets the very same bytes. A
viewer can browse but is offered no restore, and a host whose agent
allows none says how to allow it. Every page is photographed.

A real agent (`--restore-to`), real restic and a real local repository;
the tests share one server (the module `stack`) and run in file order.
"""
from __future__ import annotations

import hashlib
import os
import pathlib
import uuid

import pytest

from conftest import Browser, e2e, harness, running_stack, wait_for


def sha256(path: pathlib.Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """This module's own server with the default offline threshold (90 s):
    the agent heartbeats every 30 s, and browsing needs it connected."""
    with running_stack(tmp_path_factory.mktemp("web-restore")) as built:
        yield built


@pytest.fixture(scope="module")
def backed_up(stack):
    """An agent that backed up a small tree and allows restores into `restores/`."""
    sample = stack.tmp / "restore-sample"
    (sample / "projects" / "report 2026").mkdir(parents=True)
    (sample / "projects" / "report 2026" / "final ✓.bin").write_bytes(os.urandom(2 * 2**20 + 5))
    (sample / "projects" / "notes.txt").write_text("keep me\n")
    restores = stack.tmp / "restores"
    restores.mkdir()
    enrolled = harness.enroll_agent(stack.admin, stack.tmp, name="restore-web")
    repo, password = str(stack.tmp / "restore-repo"), f"pw-{uuid.uuid4().hex}"
    harness.configure_repository(stack.admin, enrolled.host_id, repo, password)
    agent = harness.start_agent(enrolled.state_dir, "--restore-to", str(restores))
    stack.agents.append(agent)
    harness.wait_online(stack.admin, enrolled.host_id)
    assert harness.wait_job_done(stack.admin, harness.run_job(stack.admin, enrolled.host_id, "init"))["status"] == "succeeded"
    backup = harness.wait_job_done(stack.admin, harness.run_job(stack.admin, enrolled.host_id, "backup", args=[str(sample)]))
    assert backup["status"] == "succeeded", backup
    snapshot = wait_for(lambda: harness.snapshots(stack.admin, enrolled.host_id), timeout=30, message="snapshot")[0]
    return {"host_id": enrolled.host_id, "sample": sample, "restores": restores, "snapshot": snapshot["id"]}


def wait_listing(browser: Browser) -> None:
    """The page's folder listing, or a failure that shows the page's own error."""
    browser.wait(lambda: browser.exists("#nodes") or browser.exists("#browse-error"), 60, "the listing")
    assert browser.exists("#nodes"), browser.text("#browser")


def signed_in(stack, role: str) -> Browser:
    """A browser signed in as a new user with `role`."""
    username, password = f"{role}-{uuid.uuid4().hex[:6]}", stack.server.remember_secret(f"pw-{uuid.uuid4().hex}")
    created = stack.admin.post("/api/v1/users", json={"username": username, "password": password, "role": role})
    assert created.status_code == 201, created.text
    browser = stack.browser(role)
    browser.login(username, password)
    return browser


@pytest.fixture(scope="module")
def operator_browser(stack) -> Browser:
    return signed_in(stack, "operator")


def test_find_a_file_in_the_snapshot_and_restore_it(stack, backed_up, operator_browser):
    browser = operator_browser
    host_id, sample = backed_up["host_id"], backed_up["sample"]
    browser.open(f"/hosts/{host_id}")
    assert str(backed_up["restores"].resolve()) in browser.text("#restore-targets")
    browser.find(f"#snapshots tr[data-snapshot-id='{backed_up['snapshot']}'] a.browse").click()
    wait_listing(browser)
    browser.shot("snapshot-root")

    # Down the tree one folder link at a time, from the snapshot's root.
    for part in sample.parts[1:] + ("projects", "report 2026"):
        link = next(a for a in browser.find_all("#nodes a.folder") if a.text.rstrip("/") == part)
        link.click()
        browser.wait(lambda: browser.find_all("#folder-crumbs a")[-1].text == part, 60, f"the folder {part}")
    rows = browser.find_all("#nodes tr[data-path]")
    assert [row.get_attribute("data-path") for row in rows] == [str(sample / "projects" / "report 2026" / "final ✓.bin")]
    assert "MiB" in rows[0].text
    browser.shot("snapshot-folder")

    # A breadcrumb goes back up.
    next(a for a in browser.find_all("#folder-crumbs a") if a.text == "projects").click()
    browser.wait(lambda: {row.get_attribute("data-path") for row in browser.find_all("#nodes tr[data-path]")} == {
        str(sample / "projects" / "report 2026"), str(sample / "projects" / "notes.txt")}, 60, "the projects folder")
    next(a for a in browser.find_all("#nodes a.folder") if a.text.rstrip("/") == "report 2026").click()
    browser.wait_css("#nodes input[type=checkbox]", 60)

    browser.find("#nodes input[type=checkbox]").click()
    folder = "got-it-back"
    browser.fill("#restore-form", folder=folder)
    browser.submit("#restore-form")
    assert browser.path.startswith("/jobs/"), browser.path
    status = browser.wait(lambda: browser.find("#job-status").get_attribute("data-status") in ("succeeded", "failed")
                          and browser.find("#job-status").get_attribute("data-status"), 60, "the restore to finish")
    assert status == "succeeded", browser.text("body")[:1500]
    browser.wait(lambda: any("restored" in line.text for line in browser.find_all("#log .log-line")), 15,
                 "the restored files in the live log")
    browser.shot("restore-job")
    original = sample / "projects" / "report 2026" / "final ✓.bin"
    restored = backed_up["restores"] / folder / str(original).lstrip("/")
    assert sha256(restored) == sha256(original)
    assert not (backed_up["restores"] / folder / str(sample / "projects" / "notes.txt").lstrip("/")).exists()


def test_a_viewer_browses_but_is_offered_no_restore(stack, backed_up):
    browser = signed_in(stack, "viewer")
    browser.open(f"/hosts/{backed_up['host_id']}/snapshots/{backed_up['snapshot']}")
    wait_listing(browser)
    assert not browser.exists("#nodes input[type=checkbox]") and not browser.exists("#restore-to")


def test_a_host_that_allows_no_restore_says_how_to_allow_it(stack, backed_up, operator_browser):
    other = e2e.enroll_host(stack.admin, hostname="no-restore")
    agent = e2e.Agent(stack.server, other.agent_token)
    report = agent.send("snapshots.report", {"snapshots": [{
        "id": "cd" * 32, "time": "2026-01-01T00:00:00Z", "hostname": "no-restore", "paths": ["/srv"]}]})
    agent.wait_acked([report])
    agent.close()
    wait_for(lambda: e2e.get_host(stack.admin, other.host_id)["status"] == "offline", timeout=15, message="offline")
    browser = operator_browser
    browser.open(f"/hosts/{other.host_id}")
    assert "--restore-to DIR" in browser.text("#restore-targets")
    browser.open(f"/hosts/{other.host_id}/snapshots/{'cd' * 32}")
    assert "offline" in browser.text("#browse-error")
    assert "--restore-to DIR" in browser.text("#restore-help")
    assert not browser.exists("#restore-to")
    assert not browser.exists("#via-form")  # an operator cannot hand a host's secrets to another
    browser.shot("snapshot-no-restore")

    # An admin can have another host's agent list it; this host's repository
    # does not exist, so that agent's restic says so on the page.
    admin = stack.browser("admin")
    admin.login("admin", stack.server.admin_password)
    admin.open(f"/hosts/{other.host_id}/snapshots/{'cd' * 32}")
    assert [option.text for option in admin.find_all("#via-host option")] == ["restore-web"]
    admin.submit("#via-form", timeout=90)
    assert "restore-web's agent" in admin.text("#listed-via")
    assert "could not list it" in admin.text("#browse-error")
    admin.shot("snapshot-via")


def test_no_script_failed_on_the_restore_pages(stack):
    errors = [error for browser in stack.browsers for error in browser.collect_console()]
    assert not errors, f"the browser console reported errors: {errors}"
