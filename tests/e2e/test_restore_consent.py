"""The host's consent against a hostile server (SPEC §10.3): the real agent
talks to a protocol peer that skips every check the real server makes, and
still restores only into its `--restore-to` folders and runs no hook with
`--no-hooks`. Also the server side of a browse the agent never answers."""
import json
import subprocess
import threading
import urllib.parse
import uuid

import pytest

from agent_harness import enroll_agent, restic, restic_env, start_agent
from conftest import Agent, Client, enroll_host, hello_payload, start_server
from hostile_server import HostileServer
from restore_support import make_restore_tree, restored_at, tree_digest


@pytest.fixture
def repository(tmp_path):
    """A real repository with one snapshot of the sample tree, made with restic itself."""
    sample = make_restore_tree(tmp_path / "sample")
    repo, password = str(tmp_path / "repo"), f"pw-{uuid.uuid4().hex}"
    assert restic(repo, password, "init").returncode == 0
    assert restic(repo, password, "backup", "-q", str(sample)).returncode == 0
    snapshot = subprocess.run(["restic", "snapshots", "--json", "-q"], env=restic_env(repo, password),
                              capture_output=True, text=True, check=True).stdout
    return sample, repo, password, json.loads(snapshot)[0]["id"]


def hostile_agent(server, admin, tmp_path, *agent_args):
    """An agent enrolled with the real server, then pointed (by taking the
    server's port) at a hostile one."""
    enrolled = enroll_agent(admin, tmp_path)
    port = urllib.parse.urlparse(server.base_url).port
    server.stop()
    hostile = HostileServer(port)
    agent = start_agent(enrolled.state_dir, *agent_args)
    return hostile, agent


def restore_command(hostile, snapshot_id, target, **restore):
    job_id = str(uuid.uuid4())
    payload = {"job_id": job_id, "kind": "restore"}
    if target is not None:
        payload["restore"] = {"snapshot_id": snapshot_id, "target": str(target), **restore}
    hostile.send("command.run", payload)
    return hostile.expect("command.result", where=lambda result: result["job_id"] == job_id)


def test_the_agent_restores_only_where_its_host_allows(server, admin, tmp_path, repository):
    sample, repo, password, snapshot_id = repository
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (allowed / "escape").symlink_to(outside)
    (allowed / "dangling").symlink_to(tmp_path / "nowhere")
    (allowed / "full").mkdir()
    (allowed / "full" / "keep.txt").write_text("mine\n")
    (allowed / "a-file").write_text("x")
    hostile, agent = hostile_agent(server, admin, tmp_path, "--restore-to", str(allowed))
    try:
        hello = hostile.wait_connected()
        assert hello["restore_targets"] == [str(allowed.resolve())] and hello["hooks_allowed"] is True
        hostile.send("config.update", {"repo_url": repo, "repo_password": password})
        hostile.send("schedule.set", {"version": 1, "schedules": []})
        before = (tree_digest(outside), tree_digest(allowed), tree_digest(tmp_path / "sample"))

        refusals = {
            str(outside / "t"): "outside the folders",
            str(allowed) + "/../outside/t": "outside the folders",
            str(allowed / "escape" / "t"): "resolves to",
            str(allowed / "dangling" / "t"): "points nowhere",
            str(allowed / "new" / ".." / ".." / "outside"): "\"..\" below a folder that does not exist",
            str(allowed / "full"): "not empty",
            str(allowed / "a-file"): "not a folder",
            "relative/t": "absolute",
            "/": "outside the folders",
        }
        for target, reason in refusals.items():
            result = restore_command(hostile, snapshot_id, target)
            assert result["accepted"] is False and reason in result["error"], (target, result)
        missing = restore_command(hostile, snapshot_id, None)
        assert missing["accepted"] is False and "snapshot_id" in missing["error"]
        bad_id = restore_command(hostile, "--help", str(allowed / "t"))
        assert bad_id["accepted"] is False and "snapshot" in bad_id["error"]
        assert (tree_digest(outside), tree_digest(allowed), tree_digest(tmp_path / "sample")) == before

        # The same agent does restore where it was allowed to.
        result = restore_command(hostile, snapshot_id, allowed / "ok")
        assert result["accepted"] is True, result
        finished = hostile.expect("job.finished", timeout=60)
        assert finished["status"] == "succeeded", finished
        assert tree_digest(restored_at(allowed / "ok", sample)) == tree_digest(sample)
    finally:
        agent.stop()
        hostile.close()


def test_an_agent_without_restore_to_refuses_and_no_hooks_runs_no_hook(server, admin, tmp_path, repository):
    sample, repo, password, snapshot_id = repository
    marker = tmp_path / "pwned"
    hostile, agent = hostile_agent(server, admin, tmp_path, "--no-hooks")
    try:
        hello = hostile.wait_connected()
        assert hello["restore_targets"] == [] and hello["hooks_allowed"] is False
        hostile.send("config.update", {"repo_url": repo, "repo_password": password})
        schedule_id = str(uuid.uuid4())
        hostile.send("schedule.set", {"version": 1, "schedules": [{
            "id": schedule_id, "kind": "backup", "cron_expr": "0 0 1 1 *", "paths": [str(sample)],
            "pre_hook": f"touch {marker}", "post_hook": f"touch {marker}", "enabled": True}]})
        hostile.expect("schedule.ack")
        for target in (tmp_path / "t", "/tmp/anything"):
            result = restore_command(hostile, snapshot_id, target)
            assert result["accepted"] is False
            assert result["error"] == "restore is not allowed on this host; start the agent with --restore-to DIR"
        job_id = str(uuid.uuid4())
        hostile.send("command.run", {"job_id": job_id, "kind": "backup", "schedule_id": schedule_id})
        finished = hostile.expect("job.finished", timeout=60, where=lambda payload: payload["job_id"] == job_id)
        assert finished["status"] == "failed"
        assert finished["error"] == "hooks are not allowed on this host (agent started with --no-hooks)"
        assert not marker.exists()
        assert not (tmp_path / "t").exists()
    finally:
        agent.stop()
        hostile.close()


def test_a_browse_the_agent_never_answers_times_out(tmp_path):
    server = start_server(tmp_path, "--browse-timeout-seconds", "2")
    try:
        admin = Client(server, "admin", server.admin_password)
        host = enroll_host(admin)
        agent = Agent(server, host.agent_token)
        snapshot_id = "ab" * 32
        report = agent.send("snapshots.report", {"snapshots": [{
            "id": snapshot_id, "time": "2026-01-01T00:00:00Z", "hostname": "host-1", "paths": ["/srv"]}]})
        agent.wait_acked([report])
        # An answer nobody asked for is ignored, and does not count as one.
        agent.send("snapshot.ls.result", {"request_id": str(uuid.uuid4()), "path": "/", "nodes": [], "truncated": False})
        response = admin.get(f"/api/v1/hosts/{host.host_id}/snapshots/{snapshot_id}/ls", params={"path": "/srv"})
        assert response.status_code == 504 and response.json()["error"]["code"] == "agent_timeout", response.text
        asked = agent.expect("snapshot.ls")["payload"]
        assert asked["snapshot_id"] == snapshot_id and asked["path"] == "/srv" and "source" not in asked

        # A late answer is dropped; an answer in time is the listing.
        agent.send("snapshot.ls.result", {"request_id": asked["request_id"], "path": "/srv", "nodes": [], "truncated": False})
        answered = {}
        thread = threading.Thread(target=lambda: answered.setdefault("response", admin.get(
            f"/api/v1/hosts/{host.host_id}/snapshots/{snapshot_id[:8]}/ls", params={"path": "/srv/a b"})))
        thread.start()
        second = agent.expect("snapshot.ls")["payload"]
        assert second["path"] == "/srv/a b"
        agent.send("snapshot.ls.result", {"request_id": second["request_id"], "path": "/srv/a b", "truncated": True,
                                          "nodes": [{"name": "f", "type": "file", "path": "/srv/a b/f", "size": 3,
                                                     "mtime": "2026-01-01T00:00:00Z", "mode": 420}]})
        thread.join(timeout=10)
        listing = answered["response"]
        assert listing.status_code == 200, listing.text
        assert listing.json() == {"path": "/srv/a b", "truncated": True, "nodes": [
            {"name": "f", "type": "file", "path": "/srv/a b/f", "size": 3, "mtime": "2026-01-01T00:00:00Z", "mode": 420}]}

        # The agent's own errors come back as they are meant.
        thread = threading.Thread(target=lambda: answered.__setitem__("response", admin.get(
            f"/api/v1/hosts/{host.host_id}/snapshots/{snapshot_id}/ls", params={"path": "/srv/x"})))
        thread.start()
        third = agent.expect("snapshot.ls")["payload"]
        agent.send("snapshot.ls.result", {"request_id": third["request_id"], "path": "/srv/x", "nodes": [],
                                          "truncated": False, "error": "restic: wrong repository password",
                                          "error_code": "failed"})
        thread.join(timeout=10)
        assert answered["response"].status_code == 502
        assert "wrong repository password" in answered["response"].json()["error"]["message"]
        agent.close()
    finally:
        server.stop()


def test_the_api_refuses_hooks_for_a_host_that_runs_none(server, admin):
    host = enroll_host(admin)
    agent = Agent(server, host.agent_token, hello=False)
    agent.send("hello", hello_payload(hooks_allowed=False, restore_targets=["/srv/restore"]))
    agent.expect("schedule.set")
    shown = admin.get(f"/api/v1/hosts/{host.host_id}").json()
    assert shown["hooks_allowed"] is False and shown["restore_targets"] == ["/srv/restore"]
    schedule = {"kind": "backup", "cron_expr": "0 3 * * *", "paths": ["/srv"]}
    for hook in ("pre_hook", "post_hook"):
        refused = admin.post(f"/api/v1/hosts/{host.host_id}/schedules", json={**schedule, hook: "echo hi"})
        assert refused.status_code == 409 and "--no-hooks" in refused.json()["error"]["message"], refused.text
    created = admin.post(f"/api/v1/hosts/{host.host_id}/schedules", json=schedule)
    assert created.status_code == 201, created.text
    changed = admin.put(f"/api/v1/schedules/{created.json()['id']}", json={**schedule, "pre_hook": "echo hi"})
    assert changed.status_code == 409
    assert admin.get(f"/api/v1/schedules/{created.json()['id']}").json()["pre_hook"] == ""
    agent.close()
