"""Browse and restore end to end (SPEC §10): the real server, real agents,
real restic and real repositories; restored bytes checked by hashing."""
import json
import os
import pathlib

import pytest

from agent_harness import job_logs, restic, run_job, slow_sample, children_restic, wait_job_done, wait_process_gone
from conftest import create_user, get_host, start_server, wait_for
from restore_support import (
    backed_up_host, browse, make_restore_tree, request_restore, restored_at, tree_digest,
)


@pytest.fixture
def server(tmp_path):
    """A server with the default offline threshold (90 s): real agents say
    something every 30 s, and a browse needs the host connected."""
    srv = start_server(tmp_path)
    yield srv
    srv.stop()


@pytest.fixture
def host(server, admin, tmp_path):
    restore_host = backed_up_host(admin, tmp_path)
    yield restore_host
    restore_host.agent.stop()


def by_name(listing):
    return {node["name"]: node for node in listing["nodes"]}


def test_host_json_shows_what_the_agent_allows(admin, host):
    shown = get_host(admin, host.host_id)
    assert shown["restore_targets"] == [str(host.restores.resolve())]
    assert shown["hooks_allowed"] is True


def test_browse_walks_folders_with_sizes_and_times(admin, host):
    root = browse(admin, host.host_id, host.snapshot_id)
    assert root.status_code == 200, root.text
    assert root.json()["path"] == "/" and root.json()["truncated"] is False
    assert [node["name"] for node in root.json()["nodes"]] == [host.sample.parts[1]]
    listing = browse(admin, host.host_id, host.snapshot_id, str(host.sample)).json()
    nodes = by_name(listing)
    assert set(nodes) == {"docs", "bin", "other", "abs-link"}
    assert nodes["docs"]["type"] == "dir" and nodes["abs-link"]["type"] == "symlink"
    assert nodes["docs"]["path"] == str(host.sample / "docs")
    bin_listing = by_name(browse(admin, host.host_id, host.snapshot_id, str(host.sample / "bin") + "/").json())
    assert bin_listing["blob.bin"]["size"] == (host.sample / "bin" / "blob.bin").stat().st_size
    assert bin_listing["blob.bin"]["mtime"].startswith("20")
    sub = by_name(browse(admin, host.host_id, host.snapshot_id, str(host.sample / "docs" / "sub dir")).json())
    assert list(sub) == ["naïve résumé [draft].txt"]
    # A short id works as well as the full one.
    assert browse(admin, host.host_id, host.snapshot_id[:8], str(host.sample)).status_code == 200


def test_browse_refusals(server, admin, host):
    viewer = create_user(admin, "viewer")
    assert browse(viewer, host.host_id, host.snapshot_id).status_code == 200
    unknown = browse(admin, host.host_id, "0123456789abcdef")
    assert unknown.status_code == 404 and unknown.json()["error"]["message"] == "snapshot not found"
    assert browse(admin, host.host_id, "../../etc").status_code == 404
    missing = browse(admin, host.host_id, host.snapshot_id, str(host.sample / "nope"))
    assert missing.status_code == 404 and "is not in snapshot" in missing.json()["error"]["message"]
    a_file = browse(admin, host.host_id, host.snapshot_id, str(host.sample / "docs" / "plain.txt"))
    assert a_file.status_code == 404 and "not a folder" in a_file.json()["error"]["message"]
    for bad in ("relative/path", "/a\nb", "/" + "x" * 5000):
        response = browse(admin, host.host_id, host.snapshot_id, bad)
        assert response.status_code == 400 and response.json()["error"]["code"] == "validation_failed", bad
    assert admin.get(f"/api/v1/hosts/nope/snapshots/{host.snapshot_id}/ls").status_code == 404
    host.agent.stop()
    wait_for(lambda: get_host(admin, host.host_id)["status"] == "offline", timeout=30, message="host offline")
    offline = browse(admin, host.host_id, host.snapshot_id)
    assert offline.status_code == 409 and "offline" in offline.json()["error"]["message"]


def test_browse_of_a_huge_folder_is_truncated(server, admin, tmp_path):
    restore_host = backed_up_host(admin, tmp_path, name="many")
    try:
        crowd = restore_host.sample / "crowd"
        crowd.mkdir()
        for index in range(6000):
            (crowd / f"f{index:05d}").write_bytes(b"")
        done = wait_job_done(admin, run_job(admin, restore_host.host_id, "backup", args=[str(restore_host.sample)]))
        assert done["status"] == "succeeded"
        newest = wait_for(lambda: [s for s in admin.get(f"/api/v1/hosts/{restore_host.host_id}/snapshots").json()["items"]
                                   if s["id"] != restore_host.snapshot_id] or None, timeout=30, message="second snapshot")
        listing = browse(admin, restore_host.host_id, newest[0]["id"], str(crowd))
        assert listing.status_code == 200, listing.text
        # At most 5,000, fewer when that many of these (long) paths would not
        # fit in one 1 MiB frame; the first ones in restic's (name) order.
        nodes = listing.json()["nodes"]
        assert listing.json()["truncated"] is True and 3000 < len(nodes) <= 5000
        assert [node["name"] for node in nodes] == [f"f{index:05d}" for index in range(len(nodes))]
    finally:
        restore_host.agent.stop()


def test_concurrent_browses_and_a_backup_all_finish(server, admin, host):
    from concurrent.futures import ThreadPoolExecutor
    job_id = run_job(admin, host.host_id, "backup", args=[str(host.sample)])
    with ThreadPoolExecutor(max_workers=3) as pool:
        answers = list(pool.map(lambda path: browse(admin, host.host_id, host.snapshot_id, path),
                                [str(host.sample), str(host.sample / "docs"), str(host.sample / "bin")]))
    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert wait_job_done(admin, job_id)["status"] == "succeeded"


def test_same_host_restore_is_byte_identical(server, admin, host):
    operator = create_user(admin, "operator")
    target = host.restores / "all"
    response = request_restore(operator, host.host_id, host.snapshot_id, str(target))
    assert response.status_code == 201, response.text
    job = response.json()
    assert job["kind"] == "restore" and job["args"] == []
    assert job["restore"] == {"snapshot_id": host.snapshot_id, "include": [], "target": str(target),
                              "source_host_id": host.host_id, "verify": False}
    done = wait_job_done(admin, job["id"])
    assert done["status"] == "succeeded", done
    assert tree_digest(restored_at(target, host.sample)) == tree_digest(host.sample)
    files = [path for path in host.sample.rglob("*") if path.is_file() and not path.is_symlink()]
    assert done["stats"]["files_restored"] == len(files) == 4
    assert done["stats"]["bytes_restored"] == sum(path.stat().st_size for path in files)
    assert done["stats"]["symlinks_restored"] == 2
    log = "\n".join(line["payload"] for line in job_logs(admin, job["id"]))
    assert f"restored {host.sample}/bin/blob.bin" in log
    assert "naïve résumé [draft].txt" in log


def test_include_restores_that_folder_only(server, admin, host):
    target = host.restores / "docs-only"
    response = request_restore(admin, host.host_id, host.snapshot_id, str(target),
                               include=[str(host.sample / "docs" / "sub dir")], verify=True)
    assert response.status_code == 201, response.text
    assert wait_job_done(admin, response.json()["id"])["status"] == "succeeded"
    restored = restored_at(target, host.sample)
    files = sorted(str(path.relative_to(restored)) for path in restored.rglob("*") if not path.is_dir())
    assert files == ["docs/sub dir/naïve résumé [draft].txt"]
    assert (restored / "docs" / "sub dir" / "naïve résumé [draft].txt").read_text(encoding="utf-8") == "ünïcødé ✓\n"


def snapshot_of(path: pathlib.Path) -> dict[str, str]:
    return tree_digest(path) if path.exists() else {}


def test_refusals_leave_the_file_system_untouched(server, admin, host, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (host.restores / "escape").symlink_to(outside)
    (host.restores / "full").mkdir()
    (host.restores / "full" / "keep.txt").write_text("mine\n")
    before = (snapshot_of(outside), snapshot_of(host.restores))

    # Refused by the server: it knows the host's folders.
    for target in (str(outside / "t"), str(host.restores / ".." / "outside"), "relative", "/"):
        response = request_restore(admin, host.host_id, host.snapshot_id, target)
        assert response.status_code == 400, (target, response.text)
    operator = create_user(admin, "operator")
    viewer = create_user(admin, "viewer")
    assert request_restore(viewer, host.host_id, host.snapshot_id, str(host.restores / "v")).status_code == 403
    cross = request_restore(operator, host.host_id, host.snapshot_id, str(host.restores / "x"),
                            source_host_id=host.host_id)
    assert cross.status_code == 201  # naming the same host is not cross-host
    wait_job_done(admin, cross.json()["id"])
    before = (snapshot_of(outside), snapshot_of(host.restores))

    # Refused by the agent: only it can see the link and the folder's contents.
    for target, reason in ((host.restores / "escape" / "t", "outside the folders"),
                           (host.restores / "full", "is not empty")):
        response = request_restore(admin, host.host_id, host.snapshot_id, str(target))
        assert response.status_code == 201, response.text
        done = wait_job_done(admin, response.json()["id"])
        assert done["status"] == "failed" and reason in done["error"], done
    assert (snapshot_of(outside), snapshot_of(host.restores)) == before


def test_an_agent_without_restore_to_allows_none(server, admin, tmp_path):
    locked = backed_up_host(admin, tmp_path, name="locked", restore_to=False)
    try:
        assert get_host(admin, locked.host_id)["restore_targets"] == []
        response = request_restore(admin, locked.host_id, locked.snapshot_id, str(locked.restores / "t"))
        assert response.status_code == 409
        assert response.json()["error"]["message"] == (
            "restore is not allowed on this host; start the agent with --restore-to DIR")
        assert list(locked.restores.iterdir()) == []
    finally:
        locked.agent.stop()


def test_cross_host_restore_is_admin_only_and_keeps_the_source_password_in_the_socket(server, admin, tmp_path):
    source = backed_up_host(admin, tmp_path, name="source", restore_to=False)
    target_host = backed_up_host(admin, tmp_path, name="target")
    try:
        operator = create_user(admin, "operator")
        target = target_host.restores / "from-source"
        # The source host is gone; an admin browses its snapshot through the target's agent.
        source.agent.stop()
        wait_for(lambda: get_host(admin, source.host_id)["status"] == "offline", timeout=30, message="source offline")
        offline = browse(admin, source.host_id, source.snapshot_id, str(source.sample))
        assert offline.status_code == 409 and "via=" in offline.json()["error"]["message"]
        via = admin.get(f"/api/v1/hosts/{source.host_id}/snapshots/{source.snapshot_id}/ls", timeout=90,
                        params={"path": str(source.sample / "bin"), "via": target_host.host_id})
        assert via.status_code == 200, via.text
        assert {node["name"] for node in via.json()["nodes"]} == {"blob.bin", "link to plain"}
        for client, via_host, status in ((operator, target_host.host_id, 403), (admin, "nope", 404),
                                         (admin, source.host_id, 409)):
            response = client.get(f"/api/v1/hosts/{source.host_id}/snapshots/{source.snapshot_id}/ls",
                                  params={"path": "/", "via": via_host})
            assert response.status_code == status, (via_host, response.text)
        refused = request_restore(operator, target_host.host_id, source.snapshot_id, str(target),
                                  source_host_id=source.host_id)
        assert refused.status_code == 403 and "admin" in refused.json()["error"]["message"]
        assert not target.exists()
        wrong = request_restore(admin, target_host.host_id, target_host.snapshot_id, str(target),
                                source_host_id=source.host_id)
        assert wrong.status_code == 404  # that snapshot is not in the source's repository
        response = request_restore(admin, target_host.host_id, source.snapshot_id, str(target),
                                   source_host_id=source.host_id, include=[str(source.sample / "bin")])
        assert response.status_code == 201, response.text
        done = wait_job_done(admin, response.json()["id"])
        assert done["status"] == "succeeded", done
        restored = restored_at(target, source.sample)
        assert tree_digest(restored / "bin") == tree_digest(source.sample / "bin")
        assert not (restored / "docs").exists()

        # The source password went to the target host inside the socket only.
        secret = source.password
        assert secret not in json.dumps(done)
        assert secret not in json.dumps(job_logs(admin, done["id"]))
        assert secret not in admin.get("/api/v1/audit", params={"limit": 500}).text
        target_host.agent.stop()
        assert secret not in target_host.agent.log_text()
        assert secret not in server.log_text()
        state = (target_host.agent.state_dir / "agent.sqlite").read_bytes()
        wal = target_host.agent.state_dir / "agent.sqlite-wal"
        assert secret.encode() not in state + (wal.read_bytes() if wal.exists() else b"")
    finally:
        source.agent.stop()
        target_host.agent.stop()


def test_a_cancelled_restore_ends_cancelled_and_restic_is_gone(server, admin, tmp_path):
    restore_host = backed_up_host(admin, tmp_path, name="big")
    try:
        big = slow_sample(restore_host.sample / "big", megabytes=300)
        done = wait_job_done(admin, run_job(admin, restore_host.host_id, "backup", args=[str(big)]), timeout=300)
        assert done["status"] == "succeeded"
        newest = wait_for(lambda: [s for s in admin.get(f"/api/v1/hosts/{restore_host.host_id}/snapshots").json()["items"]
                                   if big.as_posix() in s["paths"]] or None, timeout=30, message="big snapshot")
        target = restore_host.restores / "big"
        job_id = request_restore(admin, restore_host.host_id, newest[0]["id"], str(target)).json()["id"]
        wait_for(lambda: children_restic(restore_host.agent) or None, timeout=30, message="restic restoring")
        cancelled = admin.post(f"/api/v1/jobs/{job_id}/cancel")
        assert cancelled.status_code == 200, cancelled.text
        done = wait_job_done(admin, job_id)
        assert done["status"] == "cancelled", done
        assert children_restic(restore_host.agent) == []
    finally:
        restore_host.agent.stop()
