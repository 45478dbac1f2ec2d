"""The real agent against real remote backends: restic's REST server
(pyrestserver, HTTP basic auth) and S3 (moto)."""
import subprocess
import uuid

import pytest

from agent_harness import (
    VENV_BIN, configure_repository, enroll_agent, free_port, make_sample, run_job, snapshots, start_agent,
    wait_job_done, wait_online,
)
from conftest import Client, start_server, wait_for
from restore_support import browse, make_restore_tree, request_restore, restored_at, tree_digest


def start_backend(args, port, log_path):
    process = subprocess.Popen(args, stdout=open(log_path, "wb"), stderr=subprocess.STDOUT)

    def listening():
        if process.poll() is not None:
            raise AssertionError(f"backend exited: {log_path.read_text()}")
        import socket
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", port)) == 0

    wait_for(listening, timeout=30, interval=0.1, message=f"{args[0]} to listen")
    return process


@pytest.fixture
def rest_server(tmp_path):
    binary = VENV_BIN / "pyrestserver"
    if not binary.exists():
        pytest.skip("pyrestserver is not installed (scripts/install-deps)")
    data = tmp_path / "rest-data"
    data.mkdir()
    user, password = "backup", f"rest-{uuid.uuid4().hex}"
    (data / ".htpasswd").write_text(f"{user}:{password}\n")
    port = free_port()
    process = start_backend([str(binary), "serve", "--path", str(data), "--listen", f"127.0.0.1:{port}"], port,
                            tmp_path / "rest.log")
    yield port, user, password
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def s3_server(tmp_path):
    binary = VENV_BIN / "moto_server"
    if not binary.exists():
        pytest.skip("moto is not installed (scripts/install-deps)")
    port = free_port()
    process = start_backend([str(binary), "-H", "127.0.0.1", "-p", str(port)], port, tmp_path / "moto.log")
    yield port
    process.terminate()
    process.wait(timeout=10)


def init_and_backup(admin, tmp_path, enrolled):
    agent = start_agent(enrolled.state_dir)
    try:
        wait_online(admin, enrolled.host_id)
        init = wait_job_done(admin, run_job(admin, enrolled.host_id, "init"), timeout=120)
        assert init["status"] == "succeeded", init
        sample = make_sample(tmp_path / "sample")
        backup = wait_job_done(admin, run_job(admin, enrolled.host_id, "backup", args=[str(sample)]), timeout=120)
        assert backup["status"] == "succeeded", backup
        snaps = wait_for(lambda: snapshots(admin, enrolled.host_id), timeout=60, message="snapshots reported")
        assert len(snaps) == 1
    finally:
        agent.stop()
    return agent


def test_rest_server_with_basic_auth(server, admin, tmp_path, rest_server):
    port, user, rest_password = rest_server
    enrolled = enroll_agent(admin, tmp_path)
    repo_password = f"repo-{uuid.uuid4().hex}"
    configure_repository(admin, enrolled.host_id, f"rest:http://127.0.0.1:{port}/", repo_password,
                         repo_username=user, repo_credential=rest_password)
    agent = init_and_backup(admin, tmp_path, enrolled)
    for secret in (rest_password, repo_password):
        assert secret not in agent.log_text()


def test_s3_with_moto(server, admin, tmp_path, s3_server):
    enrolled = enroll_agent(admin, tmp_path)
    repo_password = f"repo-{uuid.uuid4().hex}"
    configure_repository(admin, enrolled.host_id, f"s3:http://127.0.0.1:{s3_server}/bucket-{uuid.uuid4().hex[:8]}",
                         repo_password, repo_username="AKIAEXAMPLE", repo_credential=f"s3secret-{uuid.uuid4().hex}")
    init_and_backup(admin, tmp_path, enrolled)


def test_cross_host_browse_and_restore_from_a_rest_backend(tmp_path, rest_server):
    """Host A backs up to the REST server; host B browses nothing itself but
    restores A's snapshot, the REST credential travelling in the socket only.
    The default offline threshold: a browse needs the host connected."""
    server = start_server(tmp_path)
    admin = Client(server, "admin", server.admin_password)
    port, user, rest_password = rest_server
    source = enroll_agent(admin, tmp_path, name="rest-source")
    repo_password = f"repo-{uuid.uuid4().hex}"
    configure_repository(admin, source.host_id, f"rest:http://127.0.0.1:{port}/", repo_password,
                         repo_username=user, repo_credential=rest_password)
    sample = make_restore_tree(tmp_path / "rest-sample")
    source_agent = start_agent(source.state_dir)
    restores = tmp_path / "restores"
    restores.mkdir()
    target = enroll_agent(admin, tmp_path, name="rest-target")
    target_agent = start_agent(target.state_dir, "--restore-to", str(restores))
    try:
        wait_online(admin, source.host_id)
        assert wait_job_done(admin, run_job(admin, source.host_id, "init"), timeout=120)["status"] == "succeeded"
        backup = wait_job_done(admin, run_job(admin, source.host_id, "backup", args=[str(sample)]), timeout=120)
        assert backup["status"] == "succeeded", backup
        snapshot = wait_for(lambda: snapshots(admin, source.host_id), timeout=60, message="snapshot")[0]["id"]
        listing = browse(admin, source.host_id, snapshot, str(sample / "bin"))
        assert listing.status_code == 200, listing.text
        assert {node["name"] for node in listing.json()["nodes"]} == {"blob.bin", "link to plain"}
        wait_online(admin, target.host_id)
        response = request_restore(admin, target.host_id, snapshot, str(restores / "r"), source_host_id=source.host_id)
        assert response.status_code == 201, response.text
        done = wait_job_done(admin, response.json()["id"], timeout=120)
        assert done["status"] == "succeeded", done
        assert tree_digest(restored_at(restores / "r", sample)) == tree_digest(sample)
    finally:
        source_agent.stop()
        target_agent.stop()
        server.stop()
    for secret in (rest_password, repo_password):
        assert secret not in target_agent.log_text()
        assert secret not in source_agent.log_text()
