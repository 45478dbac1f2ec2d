"""Hosts, their repository config, snapshots and repository stats (SPEC §7, §7.1)."""
import pytest
from websockets.exceptions import ConnectionClosed

from api_support import (Anonymous, agent_finish_job, agent_start_job, assert_api_shape, assert_error, assert_list,
                         assert_socket_refused, create_api_token, enroll_bare_host, host_status,
                         parse_time, run_job, walk_pages)
from conftest import Agent, enroll_host, wait_for

HOST_KEYS = {"id", "name", "hostname", "os", "arch", "agent_version", "restic_version", "status", "last_seen_at",
             "last_backup", "schedule_sync", "desired_schedule_version", "acked_schedule_version", "open_alerts",
             "update_available"}
CONFIG_KEYS = {"repo_url", "repo_username", "repo_password_set", "repo_credential_set", "hook_shell"}


def test_host_list_shape_for_a_fresh_host(server, admin, viewer):
    host = enroll_bare_host(admin, "fresh")
    body = assert_list(viewer.get("/api/v1/hosts"))
    assert body["next_cursor"] is None and len(body["items"]) == 1
    item = body["items"][0]
    assert HOST_KEYS <= set(item)
    assert item["id"] == host.host_id
    assert (item["name"], item["hostname"], item["os"], item["arch"]) == ("fresh", "fresh", "linux", "amd64")
    assert item["status"] == "offline"
    assert item["last_seen_at"] is None and item["last_backup"] is None
    assert item["schedule_sync"] == "pending"
    assert item["desired_schedule_version"] > item["acked_schedule_version"] == 0
    assert item["open_alerts"] == 0
    assert item["update_available"] is False
    assert viewer.get(f"/api/v1/hosts/{host.host_id}").json() == item
    assert_api_shape(item)
    assert_error(viewer.get("/api/v1/hosts/no-such-host"), 404, "not_found")
    assert_error(Anonymous(server).get("/api/v1/hosts"), 401, "unauthenticated")
    assert_error(Anonymous(server).get(f"/api/v1/hosts/{host.host_id}"), 401, "unauthenticated")


def test_status_follows_the_agent_socket(server, admin):
    host = enroll_host(admin)
    agent = Agent(server, host.agent_token)
    wait_for(lambda: host_status(admin, host.host_id) == "online", message="host online")
    item = admin.get(f"/api/v1/hosts/{host.host_id}").json()
    assert item["agent_version"] == "test" and item["restic_version"] == "0.14.0"
    parse_time(item["last_seen_at"])
    agent.close()
    wait_for(lambda: host_status(admin, host.host_id) == "offline", message="host offline after close")


def test_schedule_sync_turns_in_sync_after_ack(server, admin):
    host = enroll_host(admin)
    agent = Agent(server, host.agent_token)
    version = agent.schedules["payload"]["version"]
    assert admin.get(f"/api/v1/hosts/{host.host_id}").json()["schedule_sync"] == "pending"
    # An ack for a version the server never sent changes nothing.
    agent.wait_acked([agent.send("schedule.ack", {"version": version + 5, "applied_at": "2026-01-01T00:00:00Z"})])
    assert admin.get(f"/api/v1/hosts/{host.host_id}").json()["schedule_sync"] == "pending"
    agent.wait_acked([agent.send("schedule.ack", {"version": version, "applied_at": "2026-01-01T00:00:00Z"})])
    item = admin.get(f"/api/v1/hosts/{host.host_id}").json()
    assert item["schedule_sync"] == "in_sync"
    assert item["acked_schedule_version"] == item["desired_schedule_version"] == version


def test_last_backup_after_job_finished(server, admin):
    host = enroll_host(admin)
    agent = Agent(server, host.agent_token)
    job = run_job(admin, host.host_id)
    agent.expect("command.run")
    agent_start_job(agent, job["id"])
    assert admin.get(f"/api/v1/hosts/{host.host_id}").json()["last_backup"] is None
    agent_finish_job(agent, job["id"], status="failed", exit_code=1, error="repository does not exist")
    last = admin.get(f"/api/v1/hosts/{host.host_id}").json()["last_backup"]
    assert last == {"job_id": job["id"], "status": "failed", "finished_at": "2026-01-02T03:05:00Z"}

    second = run_job(admin, host.host_id)
    agent.expect("command.run")
    agent_start_job(agent, second["id"], started_at="2026-01-03T00:00:00Z")
    agent_finish_job(agent, second["id"], finished_at="2026-01-03T00:10:00Z", stats={"files_new": 3})
    last = admin.get("/api/v1/hosts").json()["items"][0]["last_backup"]
    assert last == {"job_id": second["id"], "status": "succeeded", "finished_at": "2026-01-03T00:10:00Z"}
    assert_api_shape(admin.get(f"/api/v1/hosts/{host.host_id}").json())


def test_patch_host_name_and_notes(server, admin, operator, viewer):
    host = enroll_bare_host(admin, "box")
    updated = operator.patch(f"/api/v1/hosts/{host.host_id}", json={"name": "Box in rack 2", "notes": "fragile"})
    assert updated.status_code == 200, updated.text
    assert updated.json()["name"] == "Box in rack 2" and updated.json()["hostname"] == "box"
    assert HOST_KEYS <= set(updated.json())
    assert viewer.get(f"/api/v1/hosts/{host.host_id}").json()["name"] == "Box in rack 2"
    assert_error(viewer.patch(f"/api/v1/hosts/{host.host_id}", json={"name": "x"}), 403, "forbidden")
    assert_error(Anonymous(server).patch(f"/api/v1/hosts/{host.host_id}", json={"name": "x"}), 401)
    patch = lambda body: operator.patch(f"/api/v1/hosts/{host.host_id}", json=body)  # noqa: E731
    assert_error(patch({"name": ""}), 400, "validation_failed", "name")
    assert_error(patch({"name": "n" * 10_000}), 400, "validation_failed", "name")
    assert_error(patch({"name": "tab\tname"}), 400, "validation_failed", "name")
    assert_error(patch({"name": 3}), 400, "validation_failed", "name")
    assert_error(patch({"notes": "x" * 5000}), 400, "validation_failed", "notes")
    assert_error(operator.patch(f"/api/v1/hosts/{host.host_id}", data="[",
                                headers={"Content-Type": "application/json"}),
                 400, "validation_failed", "body")
    assert_error(operator.patch("/api/v1/hosts/nope", json={"name": "x"}), 404, "not_found")
    assert admin.get(f"/api/v1/hosts/{host.host_id}").json()["name"] == "Box in rack 2"


def test_delete_host_revokes_its_agent(server, admin, operator):
    host = enroll_host(admin)
    agent = Agent(server, host.agent_token)
    wait_for(lambda: host_status(admin, host.host_id) == "online", message="online")
    assert_error(operator.delete(f"/api/v1/hosts/{host.host_id}"), 403, "forbidden")
    assert admin.delete(f"/api/v1/hosts/{host.host_id}").status_code == 204

    with pytest.raises(ConnectionClosed) as closed:
        agent.expect("never", timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4001
    assert_socket_refused(server, host.agent_token)
    assert admin.get("/api/v1/hosts").json()["items"] == []
    assert_error(admin.get(f"/api/v1/hosts/{host.host_id}"), 404, "not_found")
    assert_error(admin.delete(f"/api/v1/hosts/{host.host_id}"), 404, "not_found")
    assert_error(admin.post(f"/api/v1/hosts/{host.host_id}/jobs", json={"kind": "check"}), 404, "not_found")
    assert_error(admin.get(f"/api/v1/hosts/{host.host_id}/config"), 404, "not_found")


def test_host_pagination(server, admin):
    ids = [enroll_bare_host(admin, f"h{i}").host_id for i in range(5)]
    pages = walk_pages(admin, "/api/v1/hosts", limit=2)
    assert [len(page) for page in pages] == [2, 2, 1]
    assert [h["id"] for page in pages for h in page] == list(reversed(ids))
    assert_error(admin.get("/api/v1/hosts", params={"cursor": "%%%"}), 400, "validation_failed", "cursor")
    assert_error(admin.get("/api/v1/hosts", params={"limit": -1}), 400, "validation_failed", "limit")


# --- config -----------------------------------------------------------------


def test_config_secrets_are_write_only(server, admin):
    host = enroll_bare_host(admin)
    initial = admin.get(f"/api/v1/hosts/{host.host_id}/config")
    assert initial.status_code == 200
    assert initial.json() == {"repo_url": "", "repo_username": "", "repo_password_set": False,
                              "repo_credential_set": False, "hook_shell": ""}
    password = server.remember_secret("correct horse battery staple 1")
    credential = server.remember_secret("rest-server-credential-42")
    put = admin.put(f"/api/v1/hosts/{host.host_id}/config", json={
        "repo_url": "rest:https://backup.example.com:8000/box", "repo_username": "box",
        "repo_password": password, "repo_credential": credential, "hook_shell": "/bin/bash -c"})
    assert put.status_code == 200, put.text
    expected = {"repo_url": "rest:https://backup.example.com:8000/box", "repo_username": "box",
                "repo_password_set": True, "repo_credential_set": True, "hook_shell": "/bin/bash -c"}
    assert put.json() == expected
    got = admin.get(f"/api/v1/hosts/{host.host_id}/config")
    assert got.json() == expected
    for response in (put, got):
        assert password not in response.text and credential not in response.text
        assert set(response.json()) == CONFIG_KEYS
    # Absent keys leave everything as is, the secrets included.
    kept = admin.put(f"/api/v1/hosts/{host.host_id}/config", json={"hook_shell": "/bin/sh -c"})
    assert kept.json() == {**expected, "hook_shell": "/bin/sh -c"}
    # An empty string clears a secret.
    cleared = admin.put(f"/api/v1/hosts/{host.host_id}/config", json={"repo_password": ""})
    assert cleared.json()["repo_password_set"] is False and cleared.json()["repo_credential_set"] is True
    assert admin.get(f"/api/v1/hosts/{host.host_id}/config").json()["repo_password_set"] is False


def test_connected_agent_receives_config_update(server, admin):
    host = enroll_host(admin)
    agent = Agent(server, host.agent_token)
    password = server.remember_secret("a-new-repository-password")
    assert admin.put(f"/api/v1/hosts/{host.host_id}/config",
                     json={"repo_url": "s3:https://s3.example.com/bucket",
                           "repo_password": password}).status_code == 200
    update = agent.expect("config.update")["payload"]
    assert update["repo_url"] == "s3:https://s3.example.com/bucket"
    # The secret travels only inside the agent's socket.
    assert update["repo_password"] == password


def test_config_validation(server, admin):
    host = enroll_bare_host(admin)
    url = f"/api/v1/hosts/{host.host_id}/config"
    secret = server.remember_secret("s3cr3t-in-url")
    assert_error(admin.put(url, json={"repo_url": "ftp://example.com/repo"}), 400, "validation_failed", "repo_url")
    bad = admin.put(url, json={"repo_url": f"rest:https://user:{secret}@example.com/"})
    assert_error(bad, 400, "validation_failed", "repo_url")
    assert secret not in bad.text
    assert_error(admin.put(url, json={"repo_url": "/srv/repo\n--insecure"}), 400, "validation_failed", "repo_url")
    assert_error(admin.put(url, json={"repo_url": "-o=evil"}), 400, "validation_failed", "repo_url")
    assert_error(admin.put(url, json={"repo_url": "/" + "a" * 10_000}), 400, "validation_failed", "repo_url")
    assert_error(admin.put(url, json={"repo_password": 1234}), 400, "validation_failed", "repo_password")
    long_secret = "p" * 5000
    too_long = admin.put(url, json={"repo_password": long_secret})
    assert_error(too_long, 400, "validation_failed", "repo_password")
    assert long_secret not in too_long.text
    assert_error(admin.put(url, json={"repo_username": "u" * 10_000}), 400, "validation_failed", "repo_username")
    assert_error(admin.put(url, data="{", headers={"Content-Type": "application/json"}), 400, "validation_failed",
                 "body")
    assert_error(admin.put(url, data=b'{"repo_url":"' + b"a" * (2 << 20) + b'"}'), 413, "too_large")
    assert_error(admin.put("/api/v1/hosts/nope/config", json={"repo_url": "/srv"}), 404, "not_found")
    assert admin.get(url).json()["repo_url"] == ""
    # Accepted forms: absolute paths, known schemes, Windows drive paths.
    for good in ("/srv/restic", "sftp:backup@example.com:/srv/repo", "b2:bucket:path", "C:\\backups\\repo"):
        assert admin.put(url, json={"repo_url": good}).json()["repo_url"] == good


def test_config_is_admin_only(server, admin, operator, viewer):
    host = enroll_bare_host(admin)
    url = f"/api/v1/hosts/{host.host_id}/config"
    for client in (operator, viewer, create_api_token(operator)):
        assert_error(client.get(url), 403, "forbidden")
        assert_error(client.put(url, json={"repo_url": "/tmp/evil"}), 403, "forbidden")
    assert_error(Anonymous(server).get(url), 401, "unauthenticated")
    assert_error(Anonymous(server).put(url, json={"repo_url": "/tmp/evil"}), 401, "unauthenticated")
    assert admin.get(url).json()["repo_url"] == ""


# --- snapshots and stats ----------------------------------------------------


def test_snapshots_and_stats_reported_by_the_agent(server, admin, viewer):
    host = enroll_host(admin)
    agent = Agent(server, host.agent_token)
    snapshots = [
        {"id": f"{i:08x}" * 8, "time": f"2026-01-0{i}T10:00:00+02:00", "hostname": "host-1", "paths": ["/etc"],
         "tags": ["nightly"] if i % 2 else [], "size_bytes": 1000 * i, "file_count": 10 * i}
        for i in range(1, 6)
    ]
    agent.wait_acked([
        agent.send("snapshots.report", {"snapshots": snapshots}),
        agent.send("repo.stats", {"size_bytes": 4096, "snapshot_count": 5, "dedup_ratio": 1.5,
                                  "lock_state": "unlocked"}),
        agent.send("repo.stats", {"size_bytes": 8192, "snapshot_count": 5, "dedup_ratio": 2.0,
                                  "last_check_at": "2026-01-05T00:00:00Z", "last_check_status": "ok",
                                  "lock_state": "locked"}),
    ])
    listed = assert_list(viewer.get(f"/api/v1/hosts/{host.host_id}/snapshots"))
    assert [s["id"] for s in listed["items"]] == [s["id"] for s in reversed(snapshots)]
    newest = listed["items"][0]
    assert newest["time"] == "2026-01-05T08:00:00Z"
    assert (newest["paths"], newest["tags"], newest["size_bytes"], newest["file_count"]) == (["/etc"], ["nightly"],
                                                                                             5000, 50)
    pages = walk_pages(viewer, f"/api/v1/hosts/{host.host_id}/snapshots", limit=2)
    assert [s["id"] for page in pages for s in page] == [s["id"] for s in listed["items"]]

    stats = assert_list(viewer.get(f"/api/v1/hosts/{host.host_id}/stats"))["items"]
    assert [s["size_bytes"] for s in stats] == [8192, 4096]
    assert stats[0]["lock_state"] == "locked" and stats[0]["last_check_status"] == "ok"
    assert stats[0]["last_check_at"] == "2026-01-05T00:00:00Z"
    assert stats[1]["last_check_at"] is None and stats[1]["dedup_ratio"] == 1.5
    parse_time(stats[0]["reported_at"])
    assert admin.get(f"/api/v1/hosts/{host.host_id}").json()["repo_size_bytes"] == 8192

    # A new report replaces the set.
    agent.wait_acked([agent.send("snapshots.report", {"snapshots": snapshots[:1]})])
    assert len(viewer.get(f"/api/v1/hosts/{host.host_id}/snapshots").json()["items"]) == 1
    assert_error(viewer.get("/api/v1/hosts/nope/snapshots"), 404, "not_found")
    assert_error(viewer.get("/api/v1/hosts/nope/stats"), 404, "not_found")
    assert_error(Anonymous(server).get(f"/api/v1/hosts/{host.host_id}/snapshots"), 401)
    assert_error(Anonymous(server).get(f"/api/v1/hosts/{host.host_id}/stats"), 401)
    assert_api_shape(stats)


def test_repository_urls_with_embedded_passwords_are_refused_for_every_backend(server, admin):
    """A password in the URL would be stored in clear and shown on the host
    page (issue #14, item 5): `repo_username` / `repo_credential` carry it."""
    host = enroll_host(admin, hostname="urls")
    before = admin.get(f"/api/v1/hosts/{host.host_id}/config").json()
    for url in ["s3:https://AKIAKEY:s3-secret-value@s3.example.com/bucket",
                "s3:http://KEY:SECRET@127.0.0.1:9000/bucket",
                "sftp:backup:sftp-secret-value@host.example:/srv/repo",
                "sftp://backup:sftp-secret-value@host.example//srv/repo",
                "swift:https://user:pw@example/container",
                "rest:https://user:pw@rest.example/"]:
        response = admin.put(f"/api/v1/hosts/{host.host_id}/config", json={"repo_url": url})
        assert_error(response, 400, "validation_failed", "repo_url")
        assert "repo_credential" in response.json()["error"]["message"]
        assert "secret" not in response.text and "pw@" not in response.text
    assert admin.get(f"/api/v1/hosts/{host.host_id}/config").json() == before
    for url in ["sftp:backup@host.example:/srv/repo", "s3:https://s3.example.com/bucket", "b2:bucket:path/to/repo",
                "azure:container:/repo", "gs:bucket:/repo", "rclone:remote:path", "/srv/local-repo"]:
        response = admin.put(f"/api/v1/hosts/{host.host_id}/config", json={"repo_url": url})
        assert response.status_code == 200, (url, response.text)
