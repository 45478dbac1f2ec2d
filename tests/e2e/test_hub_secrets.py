"""The repository secrets travel in config.update only (SPEC §6.3, §8)."""
import json
import uuid

from conftest import Agent, Client, create_schedule, enroll_host, holds_the_store, run_job, start_server, store_files


def test_repo_secrets_travel_in_config_update_only(tmp_path):
    # The most talkative log level: nothing the server logs may carry a secret.
    srv = start_server(tmp_path, "--agent-offline-after", "3", "--log-level", "trace")
    try:
        admin = Client(srv, "admin", srv.admin_password)
        password = f"repo-pw-{uuid.uuid4().hex}"
        host = enroll_host(admin, repo_password=password)
        create_schedule(admin, host.host_id)
        agent = Agent(srv, host.agent_token)
        assert agent.config["payload"]["repo_password"] == password

        # A changed secret is pushed at once, again only in config.update.
        new_password = srv.remember_secret(f"repo-pw2-{uuid.uuid4().hex}")
        credential = srv.remember_secret(f"rest-cred-{uuid.uuid4().hex}")
        response = admin.put(f"/api/v1/hosts/{host.host_id}/config",
                             json={"repo_url": "rest:https://backup.example:8000/h1", "repo_username": "h1",
                                   "repo_password": new_password, "repo_credential": credential})
        assert response.status_code == 200, response.text
        assert new_password not in response.text and credential not in response.text
        pushed = agent.expect("config.update")["payload"]
        assert (pushed["repo_password"], pushed["repo_credential"], pushed["repo_username"]) == (
            new_password, credential, "h1")

        # Exercise the rest of the protocol so that everything the server logs or stores is there to search.
        job_id = run_job(admin, host.host_id)["id"]
        agent.expect("command.run")
        agent.send_acked("job.started", {"job_id": job_id, "kind": "backup", "started_at": "2026-11-29T03:00:00Z"})
        agent.send_acked("log.stream", {"job_id": job_id, "seq": 1, "ts": "2026-11-29T03:00:00Z",
                                        "stream": "stdout", "payload": "scanned 3 files"})
        agent.send_acked("job.finished", {"job_id": job_id, "status": "succeeded", "exit_code": 0,
                                          "finished_at": "2026-11-29T03:01:00Z", "stats": {"files_new": 3}})
        agent.send_raw("not json")
        agent.expect("error")
        agent.close()
        again = Agent(srv, host.agent_token)
        assert again.config["payload"]["repo_password"] == new_password

        secrets = [password, new_password, credential]
        # Only config.update carried them over the socket.
        for message in agent.inbox + again.inbox + [agent.schedules, again.schedules]:
            assert not any(s in json.dumps(message) for s in secrets), message["type"]

        config = admin.get(f"/api/v1/hosts/{host.host_id}/config")
        assert config.json()["repo_password_set"] is True and config.json()["repo_credential_set"] is True
        api_text = config.text + admin.get("/api/v1/audit").text + admin.get(f"/api/v1/hosts/{host.host_id}").text
        assert not any(s in api_text for s in secrets)
    finally:
        srv.stop()

    logs = srv.log_text() + srv.stderr_path.read_text(errors="replace")
    assert "config.update" in logs or "agent connected" in logs  # the log is real, not empty
    for secret in secrets:
        assert secret not in logs
    files = store_files(srv)
    assert any(holds_the_store(p) for p in files)
    for path, data in files.items():
        for secret in secrets:
            assert secret.encode() not in data, f"{secret[:8]}… found in {path.name}"
