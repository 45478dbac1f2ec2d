"""`migrate-to --database postgres://…` (SPEC §12): an SQLite installation
with a real agent and real backups moves to PostgreSQL with nothing lost;
`serve --database` on the same data dir (same secret.key) then serves the
same hosts, jobs, logs, snapshots, schedules and users, and the agent
reconnects and backs up with the repository password sealed under the key.
A database that holds data, a running server, a wrong password and bad
flags are refused with a message that never holds the password.

Runs only on the PostgreSQL pass (RM_E2E_POSTGRES, as `scripts/test` sets it).
"""
import hashlib
import pathlib
import os
import subprocess
import time
import uuid

import pytest

import conftest
from agent_harness import (
    configure_repository, create_schedule, enroll_agent, job_logs, make_sample, run_job, snapshots, start_agent,
    wait_job_done, wait_online, wait_schedule_acked,
)
from api_support import walk_pages
from conftest import BINARY, POSTGRES, Client, start_server, wait_for

pytestmark = pytest.mark.skipif(POSTGRES is None, reason="needs a PostgreSQL server: set RM_E2E_POSTGRES")

# "At once": a refused run ends without retrying. Generous for a debug build on a loaded machine.
PROMPTLY = 5.0


@pytest.fixture
def on_sqlite(monkeypatch):
    """Servers started meanwhile store in SQLite, whatever RM_E2E_POSTGRES says: the installation to move."""
    monkeypatch.setattr(conftest, "POSTGRES", None)


def fresh_database() -> str:
    """The URL (without its password) of a new, empty database."""
    name = f"e2e_migrate_{uuid.uuid4().hex}"
    POSTGRES.psql(POSTGRES.admin_database, f'CREATE DATABASE "{name}";\n', "-q")
    return POSTGRES.url(name)


def database_name(url: str) -> str:
    return url.rsplit("/", 1)[1].split("?", 1)[0]


def migrate(data_dir, *flags: str, password: str | None = None) -> tuple[subprocess.CompletedProcess, float]:
    """Runs `migrate-to`, with PGPASSWORD set to `password` (the server's by default)."""
    env = {k: v for k, v in os.environ.items() if k != "PGPASSWORD"}
    env["PGPASSWORD"] = POSTGRES.password if password is None else password
    started = time.monotonic()
    result = subprocess.run([str(BINARY), "migrate-to", "--data-dir", str(data_dir), *flags], capture_output=True,
                            text=True, timeout=120, env=env)
    return result, time.monotonic() - started


def table_count(url: str) -> int:
    output = POSTGRES.psql(database_name(url), "SELECT count(*) FROM pg_tables WHERE schemaname = 'public';\n", "-At")
    return int(output.strip())


def dump(url: str) -> str:
    result = subprocess.run(["pg_dump", "--no-owner", "-h", POSTGRES.host, "-p", str(POSTGRES.port), "-U", POSTGRES.user,
                             database_name(url)], capture_output=True, text=True, env=POSTGRES.env(), timeout=120)
    assert result.returncode == 0, result.stderr
    # pg_dump fences its output with a random key (\restrict, \unrestrict) each run.
    return "\n".join(line for line in result.stdout.splitlines() if not line.startswith(("\\restrict", "\\unrestrict")))


def sqlite_digest(data_dir) -> str:
    return hashlib.sha256((data_dir / "restic-manager.sqlite").read_bytes()).hexdigest()


def flat(pages: list[list[dict]]) -> list[dict]:
    return [item for page in pages for item in page]


def without(items: list[dict], *keys: str) -> list[dict]:
    return [{k: v for k, v in item.items() if k not in keys} for item in items]


def add_user(admin: Client, username: str, role: str) -> str:
    password = admin.server.remember_secret(f"pw-{uuid.uuid4().hex}")
    response = admin.post("/api/v1/users", json={"username": username, "password": password, "role": role})
    assert response.status_code == 201, response.text
    return password


# Fields a running server changes on its own (presence, logins): compared apart.
PRESENCE = ("status", "last_seen_at", "connected")


def without_presence(hosts: list[dict]) -> list[dict]:
    return [{**host, "attention": [reason for reason in host["attention"] if reason != "offline"]}
            for host in without(hosts, *PRESENCE)]


def api_state(admin: Client, host_id: str) -> dict:
    """What the API says about everything the installation holds; paged lists with their page boundaries."""
    jobs = walk_pages(admin, "/api/v1/jobs", limit=2)
    return {
        "hosts": [without_presence(page) for page in walk_pages(admin, "/api/v1/hosts", limit=1)],
        "jobs": jobs,
        "logs": {job["id"]: job_logs(admin, job["id"]) for job in flat(jobs)},
        "snapshots": snapshots(admin, host_id),
        "schedules": admin.get(f"/api/v1/hosts/{host_id}/schedules").json()["items"],
        "config": admin.get(f"/api/v1/hosts/{host_id}/config").json(),
        "users": without(flat(walk_pages(admin, "/api/v1/users", limit=1)), "last_login_at"),
        "audit": flat(walk_pages(admin, "/api/v1/audit", limit=5)),
        "stats": flat(walk_pages(admin, f"/api/v1/hosts/{host_id}/stats", limit=2)),
    }


def test_a_migrated_installation_serves_everything_and_its_agent_backs_up_again(tmp_path, on_sqlite):
    source = start_server(tmp_path, "--agent-offline-after", "3")
    admin = Client(source, "admin", source.admin_password)
    operator_password = add_user(admin, "olga", "operator")
    enrolled = enroll_agent(admin, tmp_path)
    repo_password = f"repo-pw-{uuid.uuid4().hex}"
    configure_repository(admin, enrolled.host_id, str(tmp_path / "repo"), repo_password)
    agent = start_agent(enrolled.state_dir)
    try:
        wait_online(admin, enrolled.host_id)
        assert wait_job_done(admin, run_job(admin, enrolled.host_id, "init"))["status"] == "succeeded"
        sample = make_sample(tmp_path / "sample")
        create_schedule(admin, enrolled.host_id, paths=[str(sample)], cron_expr="0 3 * * *")
        wait_schedule_acked(admin, enrolled.host_id)
        backup = wait_job_done(admin, run_job(admin, enrolled.host_id, "backup", args=[str(sample)]))
        assert backup["status"] == "succeeded", backup
        wait_for(lambda: snapshots(admin, enrolled.host_id), timeout=30, message="snapshots on the server")
        wait_for(lambda: admin.get(f"/api/v1/hosts/{enrolled.host_id}/stats").json()["items"], timeout=30,
                 message="repo stats")
        before = api_state(admin, enrolled.host_id)
        assert before["logs"][backup["id"]], "the backup logged lines"

        target = fresh_database()
        running, _ = migrate(source.data_dir, "--database", target)
        assert running.returncode != 0
        assert "open in another process" in running.stderr and "stop it" in running.stderr, running.stderr
        assert table_count(target) == 0, "a refused run touches nothing"

        port = source.base_url.rsplit(":", 1)[1]
        source.stop()
        digest = sqlite_digest(source.data_dir)
        result, _ = migrate(source.data_dir, "--database", target)
        output = result.stdout + result.stderr
        assert result.returncode == 0, output
        assert POSTGRES.password not in output
        for table in ("users", "hosts", "jobs", "job_logs", "snapshots", "schedules", "audit_log"):
            assert f"  {table}: " in result.stdout, result.stdout
        assert "verified" in result.stdout and "secret.key" in result.stdout
        assert sqlite_digest(source.data_dir) == digest, "the SQLite file is only read"

        replica = start_server(tmp_path, "--listen", f"127.0.0.1:{port}", "--agent-offline-after", "3",
                               "--database", target, data_dir=source.data_dir, env={"PGPASSWORD": POSTGRES.password})
        try:
            assert replica.admin_password is None, "the users came along: no first admin is made"
            assert "using PostgreSQL" in replica.log_text()
            admin = Client(replica, "admin", source.admin_password)
            Client(replica, "olga", operator_password)
            after = api_state(admin, enrolled.host_id)
            for key in ("hosts", "jobs", "logs", "snapshots", "schedules", "config", "users"):
                assert after[key] == before[key], key
            # New rows (logins here, stats from the reconnecting agent) come first; the old ones follow unchanged.
            for key in ("audit", "stats"):
                assert after[key][len(after[key]) - len(before[key]):] == before[key], key

            # The agent reconnects with its token, gets the repository password
            # opened with the same secret.key, and backs up into the same repository.
            wait_online(admin, enrolled.host_id, timeout=90)
            again = wait_job_done(admin, run_job(admin, enrolled.host_id, "backup", args=[str(sample)]))
            assert again["status"] == "succeeded", again
            assert flat(walk_pages(admin, "/api/v1/jobs", limit=1))[0]["id"] == again["id"], "new jobs come first"
            wait_for(lambda: len(snapshots(admin, enrolled.host_id)) == 2, timeout=30, message="the second snapshot")
            assert repo_password not in replica.log_text()
        finally:
            replica.stop()
    finally:
        agent.stop()
    assert repo_password not in agent.log_text()


def small_installation(tmp_path) -> pathlib.Path:
    data_dir = tmp_path / "data"
    added = subprocess.run([str(BINARY), "user", "add", "--username", "alice", "--role", "admin", "--data-dir",
                            str(data_dir)], capture_output=True, text=True, timeout=60)
    assert added.returncode == 0, added.stderr
    return data_dir


def test_a_database_that_holds_data_is_refused_and_left_as_it_was(tmp_path):
    data_dir = small_installation(tmp_path)
    target = fresh_database()
    first, _ = migrate(data_dir, "--database", target)
    assert first.returncode == 0, first.stderr
    held = dump(target)

    second, _ = migrate(data_dir, "--database", target)
    assert second.returncode != 0
    message = second.stderr
    assert "already holds data" in message and "users" in message and "nothing was changed" in message, message
    assert POSTGRES.password not in second.stdout + message
    assert dump(target) == held, "nothing doubled, nothing changed"
    listed = subprocess.run([str(BINARY), "user", "list", "--data-dir", str(data_dir), "--database", target],
                            capture_output=True, text=True, timeout=60, env=POSTGRES.env())
    assert listed.returncode == 0 and listed.stdout.count("alice") == 1, listed.stdout + listed.stderr


@pytest.mark.parametrize("via", ["PGPASSWORD", "URL", "file"])
def test_a_wrong_password_fails_at_once_without_showing_it(tmp_path, via):
    data_dir = small_installation(tmp_path)
    target = fresh_database()
    wrong = f"wrong-{uuid.uuid4().hex}"
    if via == "URL":
        url = target.replace(f"{POSTGRES.user}@", f"{POSTGRES.user}:{wrong}@", 1)
        result, seconds = migrate(data_dir, "--database", url, password="")
    elif via == "file":
        path = tmp_path / "pgpass"
        path.write_text(wrong + "\n")
        result, seconds = migrate(data_dir, "--database", target, "--database-password-file", str(path))
    else:
        result, seconds = migrate(data_dir, "--database", target, password=wrong)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert seconds < PROMPTLY, f"took {seconds:.1f} s"
    assert "password authentication failed" in result.stderr, result.stderr
    assert wrong not in output
    assert table_count(target) == 0


@pytest.mark.parametrize(
    "flags, message",
    [
        ([], "--database is required"),
        (["--database", "mysql://rm@127.0.0.1/rm"], "--database must be a postgres:// URL"),
        (["--database", "postgres://127.0.0.1/rm"], "--database names no user"),
        (["--database", "postgres://rm@127.0.0.1"], "--database names no database"),
        (["--database", "postgres://rm@127.0.0.1/rm?sslmode=maybe"], "sslmode must be disable, prefer or require"),
        (["--database-password-file", "/nonexistent"], "--database-password-file goes with --database"),
        (["--database", "postgres://rm@127.0.0.1/rm", "--no-such-flag"], "Unknown option"),
    ],
)
def test_malformed_flags_are_refused_with_a_one_line_reason(tmp_path, flags, message):
    result, _ = migrate(tmp_path / "data", *flags)
    assert result.returncode != 0
    assert result.stderr.splitlines()[0].startswith("Error:"), result.stderr
    assert message in result.stderr, result.stderr


def test_a_data_dir_without_an_installation_is_refused_before_postgresql_is_touched(tmp_path):
    target = fresh_database()
    result, _ = migrate(tmp_path / "empty", "--database", target)
    assert result.returncode != 0
    assert "no SQLite database at" in result.stderr and "--data-dir" in result.stderr, result.stderr
    assert table_count(target) == 0


def test_help_says_to_stop_the_server_and_copy_the_key():
    result = subprocess.run([str(BINARY), "migrate-to", "--help"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0
    assert "Stop the server" in result.stdout and "secret.key" in result.stdout and "--database" in result.stdout
    root = subprocess.run([str(BINARY), "--help"], capture_output=True, text=True, timeout=30)
    assert "migrate-to" in root.stdout
