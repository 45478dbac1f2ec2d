"""The real agent against real remote backends: restic's REST server
(pyrestserver, HTTP basic auth) and S3 (moto)."""
import subprocess
import uuid

import pytest

from agent_harness import (
    VENV_BIN, configure_repository, enroll_agent, free_port, make_sample, run_job, snapshots, start_agent,
    wait_job_done, wait_online,
)
from conftest import wait_for


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
