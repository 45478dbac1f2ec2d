"""Presence without a write per heartbeat (issue #12): last-seen times live in
memory, are flushed in batches, and are exact in the database for every
host that went offline (SPEC §4: offline after the threshold, at once on close)."""
import datetime

import pytest

from conftest import Agent, Client, enroll_host, get_host, now_rfc3339, parse_time, start_server, store_query, wait_for


def stored_last_seen(server, host_id: str) -> str | None:
    """The host row's `last_seen_at` as the server stored it (UTC text, fixed width)."""
    return store_query(server.data_dir, "SELECT last_seen_at FROM hosts WHERE id = ?", (host_id,))[0][0]


def stored_time(text: str) -> datetime.datetime:
    """A row's UTC text time as an aware datetime, to compare with an API time."""
    return datetime.datetime.fromisoformat(text).replace(tzinfo=datetime.timezone.utc)


@pytest.fixture
def server(tmp_path):
    """Flushes every second, so a test sees a flush without a long wait."""
    srv = start_server(tmp_path, "--agent-offline-after", "3", "--last-seen-flush-seconds", "1")
    yield srv
    srv.stop()


@pytest.fixture
def quiet_server(tmp_path):
    """The default 30 s flush: longer than any of these tests."""
    srv = start_server(tmp_path, "--agent-offline-after", "3", data_dir=tmp_path / "quiet")
    yield srv
    srv.stop()


def test_heartbeats_reach_the_database_within_a_flush_interval(server, admin):
    host = enroll_host(admin)
    agent = Agent(server, host.agent_token)
    at_hello = stored_last_seen(server, host.host_id)
    assert at_hello is not None
    # A round trip first, so the heartbeat comes well after the hello's stored time.
    assert get_host(admin, host.host_id)["status"] == "online"
    agent.send("heartbeat", {"sent_at": now_rfc3339()})
    # Flush interval 1 s: generous for a loaded machine, far below the default 30 s.
    wait_for(lambda: stored_last_seen(server, host.host_id) > at_hello, timeout=5, message="last-seen flushed")


def test_a_heartbeat_writes_nothing_but_the_api_shows_it(quiet_server):
    admin = Client(quiet_server, "admin", quiet_server.admin_password)
    host = enroll_host(admin)
    agent = Agent(quiet_server, host.agent_token)
    at_hello = stored_last_seen(quiet_server, host.host_id)
    api_at_hello = get_host(admin, host.host_id)["last_seen_at"]
    agent.send("heartbeat", {"sent_at": now_rfc3339()})
    # The session reads in order: once this is acked, the heartbeat was handled.
    agent.send_acked("schedule.ack", {"version": 1, "applied_at": now_rfc3339()})
    # Neither the heartbeat nor the committed ack wrote the row ...
    assert stored_last_seen(quiet_server, host.host_id) == at_hello
    # ... yet the API answers with the time kept in memory.
    assert parse_time(get_host(admin, host.host_id)["last_seen_at"]) > parse_time(api_at_hello)


def test_a_closed_agent_is_offline_at_once_with_its_last_seen_written(quiet_server):
    admin = Client(quiet_server, "admin", quiet_server.admin_password)
    host = enroll_host(admin)
    agent = Agent(quiet_server, host.agent_token)
    # A round trip first, so the last message comes well after the hello.
    assert get_host(admin, host.host_id)["status"] == "online"
    agent.send("heartbeat", {"sent_at": now_rfc3339()})
    agent.send_acked("schedule.ack", {"version": 1, "applied_at": now_rfc3339()})
    last_message = get_host(admin, host.host_id)["last_seen_at"]
    agent.close()
    # Well under the 3 s threshold and the 30 s flush.
    wait_for(lambda: get_host(admin, host.host_id)["status"] == "offline", timeout=1.5, message="offline on close")
    # The disconnect wrote the last message's time, not the hello's. The row keeps
    # milliseconds (truncated) and the API prints the same instant rounded to 100 ns,
    # so the two agree to within a millisecond.
    written = stored_time(stored_last_seen(quiet_server, host.host_id))
    assert abs((written - parse_time(last_message)).total_seconds()) < 0.001
    assert get_host(admin, host.host_id)["last_seen_at"] is not None


def test_a_silent_agent_is_offline_after_the_threshold_and_last_seen_when_it_spoke(quiet_server):
    admin = Client(quiet_server, "admin", quiet_server.admin_password)
    host = enroll_host(admin)
    agent = Agent(quiet_server, host.agent_token)
    agent.send_acked("schedule.ack", {"version": 1, "applied_at": now_rfc3339()})
    last_message = parse_time(get_host(admin, host.host_id)["last_seen_at"])
    assert agent.wait_closed(timeout=10) == 4004
    offline = get_host(admin, host.host_id)
    assert offline["status"] == "offline"
    # When it last spoke (not when the watchdog noticed, 3 s or more later).
    seen = parse_time(offline["last_seen_at"])
    assert abs((seen - last_message).total_seconds()) < 1
