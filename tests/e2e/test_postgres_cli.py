"""`--database` on the command line (SPEC §12): the server and the `user`
commands store in PostgreSQL, take its password from PGPASSWORD or a file,
never print it, and refuse a bad URL, a wrong password or an unreachable
server at once, saying why.

Runs only on the PostgreSQL pass (RM_E2E_POSTGRES, as `scripts/test` sets it).
"""
import os
import socket
import subprocess
import time
import uuid

import pytest

from conftest import BINARY, POSTGRES, ON_POSTGRES, Client, database_for, start_server

pytestmark = pytest.mark.skipif(not ON_POSTGRES, reason="needs a PostgreSQL server: set RM_E2E_POSTGRES")

# "At once": a failed connection ends the command; nothing retries until the
# caller gives up. Generous for a debug build on a loaded 2-core machine.
PROMPTLY = 5.0
# postgres-nio's connect timeout, for a server that accepts and never answers.
CONNECT_TIMEOUT = 10.0


def free_port() -> int:
    """A loopback port with nothing listening on it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def environment(pgpassword: str | None = None) -> dict[str, str]:
    """This process's environment with PGPASSWORD set to `pgpassword`, or without it."""
    env = {k: v for k, v in os.environ.items() if k != "PGPASSWORD"}
    if pgpassword is not None:
        env["PGPASSWORD"] = pgpassword
    return env


def run(*args: str, pgpassword: str | None = None, stdin: str | None = None, timeout: float = 60):
    """Runs the binary; returns (result, seconds it took)."""
    started = time.monotonic()
    result = subprocess.run([str(BINARY), *args], input=stdin, capture_output=True, text=True, timeout=timeout,
                            env=environment(pgpassword))
    return result, time.monotonic() - started


def password_file(tmp_path, password: str, name: str = "pgpass") -> str:
    path = tmp_path / name
    path.write_text(password + "\n")
    path.chmod(0o600)
    return str(path)


# The subcommands that open the store, each with what it needs besides the store.
STORE_COMMANDS = {
    "serve": ["serve", "--listen", "127.0.0.1:0"],
    "user add": ["user", "add", "--username", "carol", "--role", "viewer"],
    "user list": ["user", "list"],
}


@pytest.fixture
def database(tmp_path) -> str:
    """The URL (without its password) of a fresh, empty database."""
    return POSTGRES.url(database_for(tmp_path / "store"))


@pytest.mark.parametrize("command", sorted(STORE_COMMANDS))
@pytest.mark.parametrize("source", ["PGPASSWORD", "file"])
def test_a_wrong_password_fails_at_once_saying_so_without_the_password(tmp_path, database, command, source):
    wrong = f"wrong-{uuid.uuid4().hex}"
    flags = ["--database-password-file", password_file(tmp_path, wrong)] if source == "file" else []
    result, seconds = run(*STORE_COMMANDS[command], "--data-dir", str(tmp_path / "data"), "--database", database,
                          *flags, pgpassword=wrong if source == "PGPASSWORD" else None)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert seconds < PROMPTLY, f"took {seconds:.1f} s"
    assert "password authentication failed" in result.stderr and "cannot use the database" in result.stderr, output
    assert wrong not in output and POSTGRES.password not in output


def test_a_file_wins_over_pgpassword(tmp_path, database):
    """docs: the file's password wins over PGPASSWORD; the right one in the file is enough."""
    listed, _ = run("user", "list", "--data-dir", str(tmp_path / "data"), "--database", database,
                    "--database-password-file", password_file(tmp_path, POSTGRES.password), pgpassword="wrong")
    assert listed.returncode == 0, listed.stderr
    refused, _ = run("user", "list", "--data-dir", str(tmp_path / "data"), "--database", database,
                     "--database-password-file", password_file(tmp_path, "wrong", "bad"),
                     pgpassword=POSTGRES.password)
    assert refused.returncode != 0 and "password authentication failed" in refused.stderr, refused.stderr


@pytest.mark.parametrize("command", sorted(STORE_COMMANDS))
def test_an_unreachable_server_fails_at_once_saying_so(tmp_path, command):
    port = free_port()
    in_url = f"url-pw-{uuid.uuid4().hex}"
    for url, password in ((f"postgres://rm@127.0.0.1:{port}/db?sslmode=disable", POSTGRES.password),
                          # A password in the URL is accepted, and never echoed either.
                          (f"postgres://rm:{in_url}@127.0.0.1:{port}/db?sslmode=disable", None)):
        result, seconds = run(*STORE_COMMANDS[command], "--data-dir", str(tmp_path / "data"), "--database", url,
                              pgpassword=password)
        output = result.stdout + result.stderr
        assert result.returncode != 0, output
        assert seconds < PROMPTLY, f"took {seconds:.1f} s"
        assert "cannot use the database" in result.stderr and "Connection refused" in result.stderr, output
        assert f"127.0.0.1:{port}/db" in result.stderr, output
        assert in_url not in output and POSTGRES.password not in output


def test_a_server_that_never_answers_is_given_up_on_after_the_connect_timeout(tmp_path):
    """A firewall that drops packets looks like this: the socket opens, nothing comes back."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        result, seconds = run("serve", "--listen", "127.0.0.1:0", "--data-dir", str(tmp_path / "data"),
                              "--database", f"postgres://rm@127.0.0.1:{port}/db?sslmode=disable",
                              pgpassword=POSTGRES.password, timeout=CONNECT_TIMEOUT * 6)
    assert result.returncode != 0, result.stdout + result.stderr
    assert seconds < CONNECT_TIMEOUT * 3, f"took {seconds:.1f} s"
    assert "cannot use the database" in result.stderr and "timeout" in result.stderr.lower(), result.stderr
    assert POSTGRES.password not in result.stdout + result.stderr


@pytest.mark.parametrize("command", sorted(STORE_COMMANDS))
@pytest.mark.parametrize("url, message", [
    ("mysql://rm@127.0.0.1:5432/db", "--database must be a postgres:// URL"),
    ("not a url at all", "--database must be a postgres:// URL"),
    ("postgres://127.0.0.1:5432/db", "--database names no user"),
    ("postgres://rm@127.0.0.1:5432", "--database names no database"),
    ("postgres://rm@127.0.0.1:5432/", "--database names no database"),
    ("postgres://rm@127.0.0.1:5432/db?sslmode=verify", "--database sslmode must be disable, prefer or require"),
])
def test_a_malformed_url_is_refused_before_anything_is_touched(tmp_path, command, url, message):
    data = tmp_path / "data"
    result, seconds = run(*STORE_COMMANDS[command], "--data-dir", str(data), "--database", url,
                          pgpassword=POSTGRES.password)
    assert result.returncode != 0, result.stdout + result.stderr
    assert "Error:" in result.stderr.splitlines()[0] and message in result.stderr, result.stderr
    assert seconds < PROMPTLY, f"took {seconds:.1f} s"
    assert not data.exists(), "a refused start must not create the data dir"


@pytest.mark.parametrize("command", sorted(STORE_COMMANDS))
def test_password_file_problems_are_refused_with_the_reason(tmp_path, database, command):
    data = tmp_path / "data"
    empty, blank = tmp_path / "empty", tmp_path / "blank"
    empty.write_text("")
    blank.write_text("\n")
    cases = [
        ([], password_file(tmp_path, POSTGRES.password), "--database-password-file goes with --database"),
        (["--database", database], str(empty), "is empty; its first line is the password"),
        (["--database", database], str(blank), "is empty; its first line is the password"),
        (["--database", database], str(tmp_path / "missing"), "is not a readable text file"),
        (["--database", database], str(tmp_path), "is not a readable text file"),
    ]
    for flags, path, message in cases:
        result, _ = run(*STORE_COMMANDS[command], "--data-dir", str(data), *flags, "--database-password-file", path,
                        pgpassword=POSTGRES.password)
        assert result.returncode != 0, (flags, path, result.stdout + result.stderr)
        assert "Error:" in result.stderr.splitlines()[0] and message in result.stderr, (path, result.stderr)
        assert f"--database-password-file {path}" in result.stderr or not flags, result.stderr
        assert POSTGRES.password not in result.stdout + result.stderr
        assert not data.exists(), "a refused start must not create the data dir"


@pytest.mark.parametrize("level", ["debug", "trace"])
@pytest.mark.parametrize("source", ["PGPASSWORD", "file"])
def test_the_database_password_never_reaches_the_output(tmp_path, database, level, source):
    data = tmp_path / "data"
    # A password of its own, so that nothing else the server prints could hold it by chance.
    password = f"pg-{source.lower()}-{uuid.uuid4().hex}"
    user = f"rm_{uuid.uuid4().hex[:12]}"
    POSTGRES.psql(POSTGRES.admin_database, f"CREATE ROLE {user} LOGIN PASSWORD '{password}';\n"
                                           f'ALTER DATABASE "{database_for(tmp_path / "store")}" OWNER TO {user};\n',
                  "-q")
    url = database.replace(f"//{POSTGRES.user}@", f"//{user}@", 1)
    flags = ["--database", url, "--log-level", level]
    if source == "file":
        flags += ["--database-password-file", password_file(tmp_path, password)]
        env_password = None
    else:
        env_password = password
    # The `user` commands first: on an empty database they run the migrations.
    outputs = []
    added, _ = run("user", "add", "--username", "carol", "--role", "operator", "--password-stdin",
                   "--data-dir", str(data), *flags, pgpassword=env_password, stdin="correct horse battery staple\n")
    assert added.returncode == 0, added.stderr
    listed, _ = run("user", "list", "--data-dir", str(data), *flags, pgpassword=env_password)
    assert listed.returncode == 0 and "carol" in listed.stdout, listed.stderr
    outputs += [added.stdout, added.stderr, listed.stdout, listed.stderr]

    server = start_server(tmp_path, *flags, data_dir=data, env={"PGPASSWORD": env_password} if env_password else None)
    try:
        Client(server, "carol", "correct horse battery staple")
        assert server.process.poll() is None
    finally:
        assert server.stop() == 0
    log = server.log_text()
    assert "using PostgreSQL" in log and "listening" in log, log
    assert " debug " in log, "the log is as talkative as asked"
    outputs += [log, server.stderr_path.read_text(errors="replace")]
    for text in outputs:
        assert password not in text


def test_users_added_with_database_are_seen_by_a_server_on_another_empty_data_dir(tmp_path, database):
    """The store is in PostgreSQL, not in the data dir the `user` command was given."""
    secret_file = password_file(tmp_path, POSTGRES.password)
    flags = ["--database", database, "--database-password-file", secret_file]
    offline = tmp_path / "offline"
    added, _ = run("user", "add", "--username", "carol", "--role", "operator", "--password-stdin",
                   "--data-dir", str(offline), *flags, stdin="correct horse battery staple\n")
    assert added.returncode == 0, added.stderr
    assert "correct horse" not in added.stdout + added.stderr
    assert not any(offline.glob("restic-manager.sqlite*")), "the user went into SQLite"

    served = tmp_path / "served"
    server = start_server(tmp_path, *flags, data_dir=served)
    try:
        carol = Client(server, "carol", "correct horse battery staple")
        assert carol.user["role"] == "operator"
        assert [p.name for p in served.iterdir()] == ["secret.key"], "with PostgreSQL the data dir holds only the key"
    finally:
        server.stop()
    listed, _ = run("user", "list", "--data-dir", str(tmp_path / "third"), *flags)
    assert listed.returncode == 0, listed.stderr
    rows = {line.split("\t")[0]: line.split("\t")[1:] for line in listed.stdout.splitlines()[1:]}
    assert rows["carol"] == ["operator", "false"], rows
