"""schedule.set versions and schedule.ack (SPEC §6.2)."""
from conftest import Agent, create_schedule, enroll_host, get_host, now_rfc3339


def ack(agent, version):
    return agent.send_acked("schedule.ack", {"version": version, "applied_at": now_rfc3339()})


def sync_state(admin, host_id):
    host = get_host(admin, host_id)
    return host["schedule_sync"], host["desired_schedule_version"], host["acked_schedule_version"]


def test_every_change_and_enable_toggle_bumps_the_version_and_acks_bring_it_in_sync(server, admin):
    host = enroll_host(admin)
    agent = Agent(server, host.agent_token)
    v0 = agent.schedules["payload"]["version"]
    assert sync_state(admin, host.host_id) == ("pending", v0, 0)
    ack(agent, v0)
    assert sync_state(admin, host.host_id) == ("in_sync", v0, v0)

    schedule = create_schedule(admin, host.host_id, cron_expr="15 2 * * *", paths=["/var/lib"], tags=["nightly"])
    pushed = agent.expect("schedule.set")["payload"]
    assert pushed["version"] == v0 + 1
    assert [s["id"] for s in pushed["schedules"]] == [schedule["id"]]
    sent = pushed["schedules"][0]
    assert (sent["kind"], sent["cron_expr"], sent["paths"], sent["tags"], sent["enabled"]) == (
        "backup", "15 2 * * *", ["/var/lib"], ["nightly"], True)
    assert sync_state(admin, host.host_id) == ("pending", v0 + 1, v0)
    ack(agent, v0 + 1)
    assert sync_state(admin, host.host_id) == ("in_sync", v0 + 1, v0 + 1)

    body = {"kind": "backup", "cron_expr": "15 2 * * *", "paths": ["/var/lib"], "tags": ["nightly"], "enabled": False}
    assert admin.put(f"/api/v1/schedules/{schedule['id']}", json=body).status_code == 200
    disabled = agent.expect("schedule.set")["payload"]
    assert disabled["version"] == v0 + 2 and disabled["schedules"][0]["enabled"] is False

    body["enabled"] = True
    assert admin.put(f"/api/v1/schedules/{schedule['id']}", json=body).status_code == 200
    enabled = agent.expect("schedule.set")["payload"]
    assert enabled["version"] == v0 + 3 and enabled["schedules"][0]["enabled"] is True

    assert admin.delete(f"/api/v1/schedules/{schedule['id']}").status_code == 204
    deleted = agent.expect("schedule.set")["payload"]
    assert deleted == {"version": v0 + 4, "schedules": []}
    assert sync_state(admin, host.host_id) == ("pending", v0 + 4, v0 + 1)
    ack(agent, v0 + 4)
    assert sync_state(admin, host.host_id) == ("in_sync", v0 + 4, v0 + 4)


def test_stale_and_future_acks_do_not_move_the_acked_version(server, admin):
    host = enroll_host(admin)
    agent = Agent(server, host.agent_token)
    create_schedule(admin, host.host_id)
    create_schedule(admin, host.host_id, cron_expr="@daily")
    latest = [agent.expect("schedule.set")["payload"]["version"] for _ in range(2)][-1]
    ack(agent, latest)
    assert sync_state(admin, host.host_id) == ("in_sync", latest, latest)

    ack(agent, latest - 1)  # a late ack of an older set, e.g. replayed from the outbox
    assert sync_state(admin, host.host_id) == ("in_sync", latest, latest)
    ack(agent, latest + 5)  # never sent by the server
    assert sync_state(admin, host.host_id) == ("in_sync", latest, latest)

    create_schedule(admin, host.host_id, cron_expr="@weekly")
    newer = agent.expect("schedule.set")["payload"]["version"]
    assert newer == latest + 1
    ack(agent, latest)  # the old version again: still pending
    assert sync_state(admin, host.host_id) == ("pending", newer, latest)


def test_a_reconnecting_agent_gets_the_current_set_and_version(server, admin):
    host = enroll_host(admin)
    schedule = create_schedule(admin, host.host_id, kind="check", cron_expr="0 4 * * 0", paths=[],
                               options={"read_data_subset": "5%"})
    agent = Agent(server, host.agent_token)
    payload = agent.schedules["payload"]
    assert payload["version"] == get_host(admin, host.host_id)["desired_schedule_version"]
    assert [s["id"] for s in payload["schedules"]] == [schedule["id"]]
    assert payload["schedules"][0]["options"] == {"read_data_subset": "5%"}
    ack(agent, payload["version"])
    agent.close()
    again = Agent(server, host.agent_token)
    assert again.schedules["payload"] == payload
    assert get_host(admin, host.host_id)["schedule_sync"] == "in_sync"
