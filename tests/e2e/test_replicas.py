"""Two real replicas on one PostgreSQL store behave as one server (SPEC §12).

The agent's socket is on replica A while the operator talks to replica B,
for every path that crosses replicas: run-now, cancel, config and schedule
pushes, the live log stream. Sessions made on one replica work on the other;
notifications are sent once however many replicas run; the hosts of a
replica that died go offline, and come back when their agent reconnects to
the other. The key rule is checked on either engine: a server whose
secret.key is not the one its store was sealed with refuses to start.
"""
from __future__ import annotations

import json
import pathlib
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse
import uuid

import pytest

from agent_harness import (configure_repository, create_schedule, job_logs, restic_snapshot_ids, run_agent_command,
                           slow_sample, start_agent, wait_job_done, wait_online, wait_schedule_acked)
from agent_harness import run_job as run_job_id
from api_support import SSEReader, agent_log, agent_start_job
from conftest import (ON_POSTGRES, ROOT, Agent, Client, _databases, database_for, enroll_host, get_host, run_job,
                      server_command, start_server, wait_for)
from notify_support import deliveries, receiver, send_test, webhook  # noqa: F401 - receiver is a fixture

needs_postgres = pytest.mark.skipif(not ON_POSTGRES, reason="replicas share a PostgreSQL store (RM_E2E_POSTGRES)")

# One second is the promise (SPEC §12); the margin is for a loaded CI machine.
CROSS_REPLICA = 5


def replica_of(first, tmp_path: pathlib.Path, name: str, *extra: str):
    """A second replica: its own data dir with a copy of the first's secret.key, the first's database."""
    data_dir = tmp_path / name
    data_dir.mkdir(mode=0o700)
    shutil.copy2(first.data_dir / "secret.key", data_dir / "secret.key")
    _databases[data_dir.resolve()] = database_for(first.data_dir)
    return start_server(tmp_path, "--agent-offline-after", "3", *extra, data_dir=data_dir)


@pytest.fixture
def replicas(tmp_path):
    a = start_server(tmp_path, "--agent-offline-after", "3")
    b = replica_of(a, tmp_path, "data-b")
    yield a, b
    for replica in (a, b):
        replica.stop()


def sign_in(replica, password):
    return Client(replica, "admin", password)


def agent_on_a_operator_on_b(replicas):
    """A host whose agent's socket is on replica A, and an admin signed in to replica B."""
    a, b = replicas
    on_b = sign_in(b, a.admin_password)
    host = enroll_host(on_b)
    return on_b, host, Agent(a, host.agent_token)


def expect_config(agent, repo_url, timeout=CROSS_REPLICA):
    """The `config.update` with `repo_url`. Pushes signalled before the agent
    connected may still arrive, late, with what was current then."""
    deadline = time.monotonic() + timeout
    while True:
        update = agent.expect("config.update", timeout=max(deadline - time.monotonic(), 0.01))["payload"]
        if update["repo_url"] == repo_url:
            return update


def started_on_a(on_b, host, agent):
    """A job queued through B, dispatched to the agent on A, and running."""
    job = run_job(on_b, host.host_id)
    assert agent.expect("command.run", timeout=CROSS_REPLICA)["payload"]["job_id"] == job["id"]
    agent_start_job(agent, job["id"])
    return job


def test_a_server_whose_key_is_not_the_stores_refuses_to_start(tmp_path):
    first = start_server(tmp_path)
    first.stop()
    other_dir = tmp_path / "other"
    other = start_server(tmp_path, data_dir=other_dir)
    other.stop()
    # The other data dir's own key, pointed at the first store.
    if ON_POSTGRES:
        _databases[other_dir.resolve()] = database_for(first.data_dir)
    else:
        for suffix in ("", "-wal", "-shm"):
            source = first.data_dir / f"restic-manager.sqlite{suffix}"
            if source.exists():
                shutil.copy2(source, other_dir / source.name)
    argv, env = server_command("serve", "--data-dir", str(other_dir), "--listen", "127.0.0.1:0")
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "secret.key" in result.stderr and "sealed" in result.stderr, result.stderr
    assert "copy it" in result.stderr, result.stderr


@needs_postgres
def test_a_session_made_on_one_replica_works_on_the_other(replicas):
    a, b = replicas
    on_a = sign_in(a, a.admin_password)
    # The same cookie and CSRF token, sent to B.
    response = on_a.session.post(b.url("/api/v1/enrollment-tokens"), json={"note": "from B"})
    assert response.status_code == 201, response.text
    assert on_a.session.get(b.url("/api/v1/auth/me")).json()["user"]["username"] == "admin"


@needs_postgres
def test_run_now_and_cancel_on_b_reach_the_agent_on_a(replicas):
    on_b, host, agent = agent_on_a_operator_on_b(replicas)
    job = started_on_a(on_b, host, agent)
    assert on_b.post(f"/api/v1/jobs/{job['id']}/cancel").status_code == 200
    assert agent.expect("command.cancel", timeout=CROSS_REPLICA)["payload"]["job_id"] == job["id"]
    agent.close()


@needs_postgres
def test_config_and_schedule_changes_on_b_reach_the_agent_on_a(replicas):
    on_b, host, agent = agent_on_a_operator_on_b(replicas)
    password = on_b.server.remember_secret("the-new-repo-password")
    changed = on_b.put(f"/api/v1/hosts/{host.host_id}/config", json={"repo_url": "/srv/other", "repo_password": password})
    assert changed.status_code == 200, changed.text
    update = expect_config(agent, "/srv/other")
    assert update["repo_password"] == password
    created = on_b.post(f"/api/v1/hosts/{host.host_id}/schedules",
                        json={"kind": "backup", "cron_expr": "0 3 * * *", "paths": ["/etc"]})
    assert created.status_code == 201, created.text
    schedules = agent.expect("schedule.set", timeout=CROSS_REPLICA)["payload"]["schedules"]
    assert [s["id"] for s in schedules] == [created.json()["id"]]
    agent.close()


@needs_postgres
def test_a_live_log_stream_on_b_shows_what_the_agent_on_a_sends(replicas):
    on_b, host, agent = agent_on_a_operator_on_b(replicas)
    job = started_on_a(on_b, host, agent)
    stream = SSEReader(on_b, f"/api/v1/jobs/{job['id']}/logs/stream")
    try:
        assert stream.response.status_code == 200
        wait_for(lambda: stream.of("status"), message="the stream to open")
        agent_log(agent, job["id"], 1, "sent to A, streamed by B")
        line = wait_for(lambda: stream.of("log"), timeout=CROSS_REPLICA, message="the line on B's stream")[0]
        assert json.loads(line["data"])["payload"] == "sent to A, streamed by B"
    finally:
        stream.close()
        agent.close()


@needs_postgres
def test_a_notification_is_sent_once_with_two_replicas_up(replicas, receiver):
    a, b = replicas
    on_a, on_b = sign_in(a, a.admin_password), sign_in(b, a.admin_password)
    channel = webhook(on_a, receiver.url("/once"))
    # Written through both replicas; both replicas' senders look for due rows every second.
    sent = [send_test(on_a if index % 2 else on_b, channel["id"]) for index in range(20)]
    wait_for(lambda: {r.delivery_id for r in receiver.received()} >= set(sent), timeout=30,
             message="every test notification")
    wait_for(lambda: all(d["status"] == "delivered" for d in deliveries(on_a, channel["id"])), timeout=30,
             message="every delivery recorded")
    got = [r.delivery_id for r in receiver.received()]
    assert sorted(got) == sorted(sent), "a notification was sent more than once"


@needs_postgres
def test_two_replicas_starting_at_once_on_an_empty_store_both_serve(tmp_path):
    dirs = [tmp_path / "one", tmp_path / "two"]
    for data_dir in dirs:
        data_dir.mkdir(mode=0o700)
    # One key for both, made before either starts, as an operator copies it.
    key_maker = start_server(tmp_path, data_dir=tmp_path / "keys")
    key_maker.stop()
    database = f"e2e_{pathlib.Path(tmp_path).name.replace('-', '_')[:40]}_{id(dirs):x}"
    from conftest import POSTGRES
    POSTGRES.psql(POSTGRES.admin_database, f'CREATE DATABASE "{database}";\n', "-q")
    for data_dir in dirs:
        shutil.copy2(tmp_path / "keys" / "secret.key", data_dir / "secret.key")
        _databases[data_dir.resolve()] = database
    processes = []
    for data_dir in dirs:
        argv, env = server_command("serve", "--data-dir", str(data_dir), "--listen", "127.0.0.1:0",
                                   "--packages-dir", str(tmp_path / "no-packages"))
        processes.append(subprocess.Popen(argv, env=env, stdout=open(data_dir.parent / f"{data_dir.name}.out", "wb"),
                                          stderr=open(data_dir.parent / f"{data_dir.name}.err", "wb")))
    try:
        outputs = [data_dir.parent / f"{data_dir.name}.out" for data_dir in dirs]
        wait_for(lambda: all("listening" in out.read_text() for out in outputs), timeout=60,
                 message="both replicas to listen")
        assert all(process.poll() is None for process in processes)
        errors = [(data_dir.parent / f"{data_dir.name}.err").read_text() for data_dir in dirs]
        # Exactly one of them made the first admin.
        assert sum("created user admin with password" in text for text in errors) == 1, errors
        applied = POSTGRES.psql(database, "SELECT identifier FROM schema_migrations ORDER BY identifier;", "-tA")
        names = applied.split()
        assert len(names) == len(set(names)) and "v1-initial-schema" in names, names
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=15)


@needs_postgres
def test_hosts_of_a_replica_that_died_go_offline_and_return_on_the_other(replicas):
    a, b = replicas
    on_b, host, agent = agent_on_a_operator_on_b(replicas)
    wait_for(lambda: get_host(on_b, host.host_id)["status"] == "online", message="online through A")
    a.process.kill()
    a.process.wait()
    # A's lease runs out (60 s) and B's next round (every 20 s) sees it.
    wait_for(lambda: get_host(on_b, host.host_id)["status"] == "offline", timeout=100, interval=1,
             message="offline once A's lease ran out")
    agent.close()
    again = Agent(b, host.agent_token)
    wait_for(lambda: get_host(on_b, host.host_id)["status"] == "online", message="online again through B")
    again.close()



class Forwarder:
    """A load balancer's part, for the tests: a TCP forwarder on 127.0.0.1
    that sends new connections to one replica, switched by the test."""

    def __init__(self, target_url: str):
        self.target = self._address(target_url)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @staticmethod
    def _address(url: str) -> tuple[str, int]:
        host, port = url.split("://", 1)[1].rsplit(":", 1)
        return host, int(port)

    def switch(self, target_url: str) -> None:
        self.target = self._address(target_url)

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client):
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            client.close()
            return
        upstream.settimeout(None)

        def pump(source, sink):
            try:
                while data := source.recv(65536):
                    sink.sendall(data)
            except OSError:
                pass
            finally:
                for end in (source, sink):
                    try:
                        end.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass

        threading.Thread(target=pump, args=(upstream, client), daemon=True).start()
        pump(client, upstream)

    def close(self):
        self.listener.close()


@needs_postgres
def test_a_replica_killed_mid_backup_loses_and_doubles_nothing(replicas, tmp_path):
    a, b = replicas
    on_b = sign_in(b, a.admin_password)
    balancer = Forwarder(a.base_url)
    agent = None
    try:
        created = on_b.post("/api/v1/enrollment-tokens", json={"note": "behind the balancer"})
        token = b.remember_secret(created.json()["token"])
        state_dir = tmp_path / "agent-state"
        enrolled = run_agent_command("enroll", "--server", balancer.url, "--token", token, "--state-dir", str(state_dir))
        assert enrolled.returncode == 0, enrolled.stderr
        host_id = enrolled.stdout.split("enrolled as host ", 1)[1].split(";", 1)[0].strip()
        repo, password = str(tmp_path / "repo"), f"repo-pw-{uuid.uuid4().hex}"
        configure_repository(on_b, host_id, repo, password)
        agent = start_agent(state_dir)
        wait_online(on_b, host_id)
        assert wait_job_done(on_b, run_job_id(on_b, host_id, "init"))["status"] == "succeeded"

        sample = slow_sample(tmp_path / "big", megabytes=40)
        schedule = create_schedule(on_b, host_id, paths=[str(sample)], options={"limit_upload_kib": 1024})
        wait_schedule_acked(on_b, host_id)
        job_id = run_job_id(on_b, host_id, "backup", schedule_id=schedule["id"])
        wait_for(lambda: len(job_logs(on_b, job_id)) >= 3, timeout=60, message="log lines ingested through A")

        # A dies mid-ingest; the balancer sends the agent's reconnect to B.
        balancer.switch(b.base_url)
        a.process.kill()
        a.process.wait()

        done = wait_job_done(on_b, job_id, timeout=180)
        assert done["status"] == "succeeded", done
        logs = job_logs(on_b, job_id)
        assert [line["seq"] for line in logs] == list(range(1, len(logs) + 1)), "a line was lost or doubled"
        assert len(restic_snapshot_ids(repo, password)) == 1
        listed = on_b.get("/api/v1/jobs", params={"host_id": host_id, "kind": "backup"}).json()["items"]
        assert [j["id"] for j in listed] == [job_id]
    finally:
        if agent:
            agent.stop()
        balancer.close()


@needs_postgres
def test_replicas_recover_from_a_database_restart_without_losing_what_was_acked(tmp_path):
    # A database server of its own: restarting the shared one would cut every
    # other test off. Not under tmp_path: as root the cluster runs as the
    # postgres user, who cannot enter pytest's private folders.
    cluster = pathlib.Path(tempfile.mkdtemp(prefix="rm-pg-restart-"))
    url = subprocess.run([str(ROOT / "scripts" / "scratch-postgres"), "start", str(cluster)], capture_output=True,
                         text=True, check=True, timeout=120).stdout.strip()
    parts = urllib.parse.urlsplit(url)
    env = {"PGPASSWORD": urllib.parse.unquote(parts.password)}
    database = f"postgres://rm@127.0.0.1:{parts.port}/postgres?sslmode=disable"
    a = b = None
    try:
        a = start_server(tmp_path, "--agent-offline-after", "30", "--database", database, env=env)
        a.remember_secret(env["PGPASSWORD"])
        b_dir = tmp_path / "data-b"
        b_dir.mkdir(mode=0o700)
        shutil.copy2(a.data_dir / "secret.key", b_dir / "secret.key")
        b = start_server(tmp_path, "--agent-offline-after", "30", "--database", database, env=env, data_dir=b_dir)
        on_b, host, agent = agent_on_a_operator_on_b((a, b))
        job = started_on_a(on_b, host, agent)
        for seq in (1, 2, 3):
            agent_log(agent, job["id"], seq, f"acked before the restart {seq}")

        subprocess.run([str(ROOT / "scripts" / "scratch-postgres"), "restart", str(cluster)], check=True, timeout=120)

        # Each replica's pool reconnects by itself: B answers again, and its
        # session (in the database) still holds.
        wait_for(lambda: on_b.get(f"/api/v1/jobs/{job['id']}").status_code == 200, timeout=30,
                 message="B to reach the database again")
        agent.close()
        agent = Agent(a, host.agent_token, active_jobs=[job["id"]])
        for seq in (4, 5):
            agent_log(agent, job["id"], seq, f"acked after the restart {seq}")
        lines = wait_for(lambda: (lambda got: got if len(got) == 5 else None)(
            on_b.get(f"/api/v1/jobs/{job['id']}/logs").json()["lines"]), message="every acked line")
        assert [line["seq"] for line in lines] == [1, 2, 3, 4, 5]
        # A listens again: a change on B reaches the agent on A. Signals sent
        # before A listened again are lost (their effect is in the store), so
        # changes are made until one arrives.
        attempt = iter(range(1_000))

        def config_crosses():
            repo = f"/srv/after-restart-{next(attempt)}"
            assert on_b.put(f"/api/v1/hosts/{host.host_id}/config",
                            json={"repo_url": repo, "repo_password": "pw-after"}).status_code == 200
            try:
                return expect_config(agent, repo, timeout=1)
            except TimeoutError:
                return None

        wait_for(config_crosses, timeout=30, interval=0, message="A to hear B's signals again")
        assert on_b.post(f"/api/v1/jobs/{job['id']}/cancel").status_code == 200
        assert agent.expect("command.cancel", timeout=CROSS_REPLICA)["payload"]["job_id"] == job["id"]
        agent.close()
        for replica in (a, b):
            assert env["PGPASSWORD"] not in replica.log_text()
            assert env["PGPASSWORD"] not in replica.stderr_path.read_text()
    finally:
        for replica in (a, b):
            if replica:
                replica.stop()
        subprocess.run([str(ROOT / "scripts" / "scratch-postgres"), "stop", str(cluster)], timeout=120)
        shutil.rmtree(cluster, ignore_errors=True)
