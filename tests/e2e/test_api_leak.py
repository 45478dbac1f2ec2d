"""No credential or secret ever reaches the data dir (or the PostgreSQL
database) or the server's log in the clear (SPEC §8)."""
import pathlib


from api_support import agent_finish_job, agent_log, agent_start_job, create_api_token, login, new_password, run_job
from conftest import Agent, Client, enroll_host, holds_the_store, store_files


def assert_no_secret_in(files: dict[pathlib.Path, bytes], secrets: list[str]) -> None:
    for path, content in files.items():
        for secret in secrets:
            assert secret.encode() not in content, f"a secret ({secret[:6]}…) is stored in clear in {path.name}"


def test_secrets_never_reach_disk_or_log(server, admin):
    # Users, their passwords (also a changed one) and their sessions.
    password = server.remember_secret(new_password())
    user = admin.post("/api/v1/users", json={"username": "leaky", "password": password, "role": "operator"}).json()
    operator = Client(server, "leaky", password)
    changed = server.remember_secret(new_password())
    assert admin.patch(f"/api/v1/users/{user['id']}", json={"password": changed}).status_code == 200
    operator = Client(server, "leaky", changed)
    # A wrong password typed at the login form is a secret too.
    typo = server.remember_secret(changed + "-typo")
    assert login(server, "leaky", typo).status_code == 401
    # API tokens, kept and revoked.
    kept = create_api_token(operator, "kept")
    revoked = admin.post("/api/v1/api-tokens", json={"name": "revoked"}).json()
    server.remember_secret(revoked["token"])
    assert admin.delete(f"/api/v1/api-tokens/{revoked['id']}").status_code == 204
    # Enrollment and agent tokens, repository passwords and credentials.
    host = enroll_host(admin, repo_password="repository-password-" + new_password())
    credential = server.remember_secret("rest-credential-" + new_password())
    assert admin.put(f"/api/v1/hosts/{host.host_id}/config",
                     json={"repo_url": "rest:https://rest.example.com/repo", "repo_username": "u",
                           "repo_credential": credential}).status_code == 200
    unused = admin.post("/api/v1/enrollment-tokens", json={}).json()
    server.remember_secret(unused["token"])
    # A secret in a request the server refuses.
    refused = server.remember_secret("refused-secret-" + "x" * 5000)
    assert admin.put(f"/api/v1/hosts/{host.host_id}/config", json={"repo_password": refused}).status_code == 400
    # The agent gets the secrets over its socket and does some work.
    agent = Agent(server, host.agent_token)
    assert agent.config["payload"]["repo_credential"] == credential
    job = run_job(kept, host.host_id)
    agent.expect("command.run")
    agent_start_job(agent, job["id"])
    agent_log(agent, job["id"], 1, "backing up /etc")
    agent_finish_job(agent, job["id"])
    assert operator.post("/api/v1/auth/logout").status_code == 204
    # Everything above really happened and is in use.
    assert kept.get("/api/v1/auth/me").status_code == 200
    assert len(server.secrets) >= 10

    assert_no_secret_in(store_files(server), server.secrets)  # while running: WAL included
    assert server.stop() == 0
    files = store_files(server)
    assert any(holds_the_store(path) for path in files)
    assert_no_secret_in(files, server.secrets)
    log = server.log_text()
    assert "listening" in log
    for secret in server.secrets:
        assert secret not in log, f"a secret ({secret[:6]}…) is in the server log"
    # The first admin password is printed once, to stderr only; nothing else is.
    stderr = server.stderr_path.read_text(errors="replace")
    assert stderr.count(server.admin_password) == 1
    for secret in server.secrets:
        if secret != server.admin_password:
            assert secret not in stderr, f"a secret ({secret[:6]}…) is on stderr"
    # The key file exists with mode 0600 and is the only other thing in the data dir.
    key = server.data_dir / "secret.key"
    assert key.stat().st_mode & 0o777 == 0o600 and len(key.read_bytes()) == 32
