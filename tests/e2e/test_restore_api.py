"""The restore and browse API against malformed, hostile and oversized
input, with raw protocol agents: what is refused, with which status, and
what reaches the agent's socket (and nothing else) when it is accepted."""
import json
import uuid

import pytest

from conftest import Agent, create_user, enroll_host, hello_payload, start_server

SNAPSHOT = "ab" * 32


@pytest.fixture
def server(tmp_path):
    """The default offline threshold (90 s): these raw agents send no heartbeat."""
    srv = start_server(tmp_path)
    yield srv
    srv.stop()


def restore_host(admin, server, hostname, targets=("/srv/restore",), password=None):
    """A host whose raw agent allows `targets` and reported one snapshot."""
    host = enroll_host(admin, hostname=hostname, repo_password=password)
    agent = Agent(server, host.agent_token, hello=False)
    agent.send("hello", hello_payload(hostname=hostname, restore_targets=list(targets)))
    agent.expect("schedule.set")
    report = agent.send("snapshots.report", {"snapshots": [{
        "id": SNAPSHOT, "time": "2026-01-01T00:00:00Z", "hostname": hostname, "paths": ["/srv"]}]})
    agent.wait_acked([report])
    return host, agent


def post_restore(client, host_id, restore, **body):
    return client.post(f"/api/v1/hosts/{host_id}/jobs", json={"kind": "restore", "restore": restore, **body})


def test_bad_restore_requests_are_refused_and_queue_nothing(server, admin):
    host, agent = restore_host(admin, server, "target")
    good = {"snapshot_id": SNAPSHOT, "target": "/srv/restore/a"}
    cases = [
        ({"kind": "restore"}, 400),
        ({"kind": "restore", "restore": "x"}, 400),
        ({"kind": "restore", "restore": {"target": "/srv/restore/a"}}, 400),
        ({"kind": "restore", "restore": {**good, "snapshot_id": "../../x"}}, 400),
        ({"kind": "restore", "restore": {**good, "snapshot_id": "0" * 65}}, 400),
        ({"kind": "restore", "restore": {**good, "include": ["relative"]}}, 400),
        ({"kind": "restore", "restore": {**good, "include": ["/a"] * 1001}}, 400),
        ({"kind": "restore", "restore": {**good, "include": "/a"}}, 400),
        ({"kind": "restore", "restore": {**good, "target": "/etc/cron.d"}}, 400),
        ({"kind": "restore", "restore": {**good, "target": "/srv/restore/../../etc"}}, 400),
        ({"kind": "restore", "restore": {**good, "target": "/srv/restore/x\n"}}, 400),
        ({"kind": "restore", "restore": {**good, "verify": "yes"}}, 400),
        ({"kind": "restore", "restore": good, "args": ["/srv"]}, 400),
        ({"kind": "backup", "args": ["/srv"], "restore": good}, 400),
        ({"kind": "restore", "restore": {**good, "snapshot_id": "cd" * 32}}, 404),
        ({"kind": "restore", "restore": {**good, "source_host_id": "nope"}}, 404),
    ]
    for body, status in cases:
        response = admin.post(f"/api/v1/hosts/{host.host_id}/jobs", json=body)
        assert response.status_code == status, (json.dumps(body)[:300], response.status_code)
        assert response.json()["error"]["message"], response.text
    huge = admin.post(f"/api/v1/hosts/{host.host_id}/jobs", data=json.dumps(
        {"kind": "restore", "restore": {**good, "include": ["/" + "a" * 4000] * 300}}),
        headers={"Content-Type": "application/json"})
    assert huge.status_code == 413
    assert admin.get("/api/v1/jobs", params={"host_id": host.host_id}).json()["items"] == []
    assert not [m for m in agent.idle(0.5) if m["type"] == "command.run"]
    agent.close()


def test_a_host_without_restore_folders_is_409(server, admin):
    host, agent = restore_host(admin, server, "locked", targets=())
    response = post_restore(admin, host.host_id, {"snapshot_id": SNAPSHOT, "target": "/srv/restore/a"})
    assert response.status_code == 409
    assert response.json()["error"]["message"] == (
        "restore is not allowed on this host; start the agent with --restore-to DIR")
    agent.close()


def test_what_reaches_the_agent_for_a_same_and_a_cross_host_restore(server, admin):
    source_password = f"source-pw-{uuid.uuid4().hex}"
    source, source_agent = restore_host(admin, server, "source", password=source_password)
    target, target_agent = restore_host(admin, server, "target")

    same = post_restore(create_user(admin, "operator"), target.host_id,
                        {"snapshot_id": SNAPSHOT[:8], "include": ["/srv//a/"], "target": "/srv/restore/x/"})
    assert same.status_code == 201, same.text
    assert same.json()["restore"] == {"snapshot_id": SNAPSHOT, "include": ["/srv/a"], "target": "/srv/restore/x",
                                      "source_host_id": target.host_id, "verify": False}
    run = target_agent.expect("command.run")["payload"]
    assert run == {"job_id": same.json()["id"], "kind": "restore",
                   "restore": {"snapshot_id": SNAPSHOT, "include": ["/srv/a"], "target": "/srv/restore/x"}}

    operator = create_user(admin, "operator")
    refused = post_restore(operator, target.host_id, {"snapshot_id": SNAPSHOT, "target": "/srv/restore/y",
                                                     "source_host_id": source.host_id})
    assert refused.status_code == 403

    cross = post_restore(admin, target.host_id, {"snapshot_id": SNAPSHOT, "target": "/srv/restore/y",
                                                 "source_host_id": source.host_id, "verify": True})
    assert cross.status_code == 201, cross.text
    run = target_agent.expect("command.run")["payload"]
    assert run["source"] == {"repo_url": "/srv/repo", "repo_password": source_password}
    assert run["restore"]["verify"] is True
    # The password went into that socket frame and nowhere else.
    assert source_password not in json.dumps(cross.json())
    assert source_password not in admin.get(f"/api/v1/jobs/{cross.json()['id']}").text
    assert source_password not in admin.get("/api/v1/audit", params={"limit": 500}).text
    assert not [m for m in source_agent.idle(0.3) if m["type"] == "command.run"]
    audit = admin.get("/api/v1/audit", params={"limit": 500}).json()["items"]
    created = [row for row in audit if row["action"] == "job.create" and row["target_id"] == cross.json()["id"]]
    assert created and created[0]["details"]["source_host_id"] == source.host_id
    source_agent.close()
    target_agent.close()
    server.stop()
    assert source_password not in server.log_text()
