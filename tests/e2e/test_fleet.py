"""The fleet at scale (SPEC §12): the host list's filters and the fleet
page's counts, filters, search and pages, with hostile query strings.

One server per module: 55 bare hosts (offline, no repository, never backed
up) and one healthy host driven by a raw protocol agent.
"""
from __future__ import annotations

import datetime
import http.client
import json
from urllib.parse import urlsplit, parse_qs

import pytest

from api_support import (agent_finish_job, agent_start_job, assert_error, assert_list, create_api_token,
                         enroll_bare_host, run_job, walk_pages)
from conftest import Agent, Client, create_schedule, enroll_host, start_server, wait_for
from web_support import assert_error_page, browser_for, doc

BARE = 55


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    # The default offline limit: the raw agent sends nothing between tests.
    server = start_server(tmp_path_factory.mktemp("fleet"))
    admin = Client(server, "admin", server.admin_password)
    bare = [enroll_bare_host(admin, f"bulk-{index:02d}").host_id for index in range(BARE)]
    healthy = enroll_host(admin, hostname="healthy-web")
    agent = Agent(server, healthy.agent_token)
    create_schedule(admin, healthy.host_id, cron_expr="15 4 1 1 *", paths=["/etc"])
    version = agent.expect("schedule.set")["payload"]["version"]
    agent.wait_acked([agent.send("schedule.ack", {"version": version, "applied_at": "2026-01-01T00:00:00Z"})])
    job = run_job(admin, healthy.host_id)
    agent.expect("command.run")
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    agent_start_job(agent, job["id"], started_at=now)
    agent_finish_job(agent, job["id"], finished_at=now)
    wait_for(lambda: admin.get(f"/api/v1/hosts/{healthy.host_id}").json()["attention"] == [],
             message="the healthy host needs no attention")
    yield {"server": server, "admin": admin, "bare": bare, "healthy": healthy.host_id, "agent": agent,
           "token": create_api_token(admin, "fleet"),
           "browser": browser_for(server, "admin", server.admin_password)}
    agent.close()
    server.stop()


def listed(admin, **params) -> list[dict]:
    return [host for page in walk_pages(admin, "/api/v1/hosts", limit=20, params=params) for host in page]


def test_the_host_list_filters_by_status_attention_and_name(fleet):
    admin = fleet["admin"]
    everything = listed(admin)
    assert len(everything) == BARE + 1
    healthy = next(host for host in everything if host["id"] == fleet["healthy"])
    assert healthy["attention"] == [] and healthy["status"] == "online"
    bare = next(host for host in everything if host["id"] == fleet["bare"][0])
    assert bare["attention"] == ["offline", "no_repository", "no_schedule", "never_backed_up", "schedule_pending"]

    assert [host["id"] for host in listed(admin, status="online")] == [fleet["healthy"]]
    assert len(listed(admin, status="offline")) == BARE
    assert len(listed(admin, attention="true")) == BARE
    assert [host["id"] for host in listed(admin, attention="false")] == [fleet["healthy"]]
    assert len(listed(admin, attention="no_repository")) == BARE
    assert listed(admin, attention="last_backup_failed") == []
    assert [host["name"] for host in listed(admin, q="BULK-0")] == [f"bulk-{i:02d}" for i in reversed(range(10))]
    assert [host["id"] for host in listed(admin, q="web", status="online", attention="false")] == [fleet["healthy"]]
    assert listed(admin, q="web", status="offline") == []


@pytest.mark.parametrize("params, field", [
    ({"status": "Online"}, "status"),
    ({"status": "up"}, "status"),
    ({"attention": "1"}, "attention"),
    ({"attention": "no repository"}, "attention"),
    ({"attention": "x" * 5000}, "attention"),
    ({"q": "a" * 201}, "q"),
    ({"q": "a\x00b"}, "q"),
    ({"q": "line\nbreak"}, "q"),
])
def test_bad_filters_are_refused_with_the_parameter_named(fleet, params, field):
    assert_error(fleet["admin"].get("/api/v1/hosts", params=params), 400, "validation_failed", field)
    assert_error_page(fleet["browser"].get("/", params=params), 400, field)


@pytest.mark.parametrize("text", ["%", "_", "\\", "'", "' OR 1=1 --", "\"; DROP TABLE hosts; --", "ümlaut", "🙂",
                                  "%25", "a" * 200])
def test_hostile_search_text_matches_literally(fleet, text):
    assert assert_list(fleet["admin"].get("/api/v1/hosts", params={"q": text}))["items"] == []
    page = doc(fleet["browser"].get("/", params={"q": text}))
    assert page.by_id("no-match") is not None
    assert page.by_id("filter-q").get("value") == text
    # Nothing was dropped on the way.
    assert len(listed(fleet["admin"])) == BARE + 1


def test_the_fleet_page_counts_every_host_and_pages_the_rest(fleet):
    browser = fleet["browser"]
    first = browser.page("/")
    assert first.by_id("attention-count").text == str(BARE)
    rows = first.find_all("tr", **{"data-host-id": True})
    assert len(rows) == 50
    assert all(row.get("data-attention") == "true" for row in rows)
    assert [row.find("a", class_="host-link").text for row in rows] == [f"bulk-{i:02d}" for i in range(50)]
    assert first.by_id("showing").text == f"1–50 of {BARE + 1}"
    assert first.by_id("previous-page") is None
    next_link = first.by_id("next-page").get("href")
    assert parse_qs(urlsplit(next_link).query) == {"page": ["2"]}

    second = browser.page(next_link)
    rows = second.find_all("tr", **{"data-host-id": True})
    assert [row.get("data-host-id") for row in rows][-1] == fleet["healthy"]
    assert [row.get("data-attention") for row in rows] == ["true"] * (BARE - 50) + ["false"]
    assert second.by_id("next-page") is None
    assert second.by_id("showing").text == f"51–{BARE + 1} of {BARE + 1}"
    assert browser.page(second.by_id("previous-page").get("href")).by_id("showing").text == f"1–50 of {BARE + 1}"

    # Past the last page: no rows, a way back, the counts still there.
    beyond = browser.page("/?page=9")
    assert beyond.find_all("tr", **{"data-host-id": True}) == []
    assert beyond.by_id("no-match") is not None and beyond.by_id("attention-count").text == str(BARE)


def test_reason_counts_link_to_their_filter_and_filters_survive_paging(fleet):
    browser = fleet["browser"]
    page = browser.page("/")
    chips = {chip.get("data-reason"): chip for chip in page.by_id("reason-counts").find_all("a")}
    assert set(chips) == {"offline", "no_repository", "no_schedule", "never_backed_up", "schedule_pending"}
    assert all(chip.find("span").text == str(BARE) for chip in chips.values())
    filtered = browser.page(chips["no_repository"].get("href"))
    assert filtered.by_id("showing").text == f"1–50 of {BARE}"
    selected = [option.get("value") for option in filtered.by_id("filter-attention").find_all("option")
                if option.has("selected")]
    assert selected == ["no_repository"]
    query = parse_qs(urlsplit(filtered.by_id("next-page").get("href")).query)
    assert query == {"attention": ["no_repository"], "page": ["2"]}

    online = browser.page("/?status=online&q=HEALTHY")
    assert [row.get("data-host-id") for row in online.find_all("tr", **{"data-host-id": True})] == [fleet["healthy"]]
    assert online.by_id("showing").text == "1–1 of 1"
    assert online.by_id("clear-filters").get("href") == "/"


@pytest.mark.parametrize("page", ["0", "-1", "abc", "1.5", "100001", "9" * 40])
def test_bad_page_numbers_are_refused(fleet, page):
    assert_error_page(fleet["browser"].get("/", params={"page": page}), 400, "page")


def test_a_query_that_is_not_percent_encoding_is_refused(fleet):
    # http.client sends the target as given; requests would re-encode the `%`.
    server = urlsplit(fleet["server"].url("/"))
    for target in ("/api/v1/hosts?q=%zz", "/api/v1/hosts?q=%E2%28", "/api/v1/hosts?status=%"):
        connection = http.client.HTTPConnection(server.hostname, server.port, timeout=30)
        connection.request("GET", target, headers={"Authorization": f"Bearer {fleet['token'].token}"})
        response = connection.getresponse()
        body = json.loads(response.read())
        connection.close()
        assert response.status == 400, (target, body)
        assert body["error"]["code"] == "validation_failed" and set(body["error"]["fields"]) <= {"q", "status"}, body


def test_a_plus_in_the_query_is_a_space_as_forms_send_it(fleet):
    assert [host["id"] for host in listed(fleet["admin"], q="healthy-web")] == [fleet["healthy"]]
    assert assert_list(fleet["admin"].get("/api/v1/hosts?q=healthy+web"))["items"] == []
    assert [host["id"] for host in assert_list(fleet["admin"].get("/api/v1/hosts?q=healthy%2Dweb"))["items"]] \
        == [fleet["healthy"]]
