"""The data dir holds password hashes, the audit log and the secret key:
whatever the umask, only the server's user may read it (issue #14, item 6)."""
import os
import stat

from conftest import ON_POSTGRES, start_server


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def database_files(data_dir):
    return [path for path in data_dir.iterdir() if path.name.startswith("restic-manager.sqlite")]


def with_umask(mask, action):
    old = os.umask(mask)
    try:
        return action()
    finally:
        os.umask(old)


def test_a_new_data_dir_is_private_under_a_permissive_umask(tmp_path):
    server = with_umask(0o022, lambda: start_server(tmp_path))
    try:
        assert mode(server.data_dir) == 0o700
        files = database_files(server.data_dir)
        if ON_POSTGRES:
            # SPEC §12: with PostgreSQL the data dir holds only the key.
            assert [path.name for path in server.data_dir.iterdir()] == ["secret.key"]
        else:
            assert files, "no database files"
        for path in files + [server.data_dir / "secret.key"]:
            assert mode(path) == 0o600, f"{path.name} is {oct(mode(path))}"
    finally:
        server.stop()


def test_an_existing_data_dir_open_to_others_is_made_private_and_said_so(tmp_path):
    first = start_server(tmp_path)
    data_dir = first.data_dir
    first.stop()
    os.chmod(data_dir, 0o755)
    for path in database_files(data_dir):
        os.chmod(path, 0o644)
    server = with_umask(0o022, lambda: start_server(tmp_path, data_dir=data_dir))
    try:
        assert mode(data_dir) == 0o700
        for path in database_files(data_dir):
            assert mode(path) == 0o600, f"{path.name} is {oct(mode(path))}"
        log = server.log_text()
        assert "made it private" in log and "was=755" in log, log
    finally:
        server.stop()
