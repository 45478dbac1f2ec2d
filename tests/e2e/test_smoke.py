from conftest import Agent, enroll_host


def test_agent_receives_config_then_schedules_and_job_log_roundtrip(server, admin):
    host = enroll_host(admin)
    agent = Agent(server, host.agent_token)
    assert agent.config["payload"]["repo_url"] == "/srv/repo"
    assert agent.schedules["payload"]["schedules"] == []
    created = admin.post(f"/api/v1/hosts/{host.host_id}/jobs", json={"kind": "backup", "args": ["/etc"]})
    assert created.status_code == 201, created.text
    run = agent.expect("command.run")
    job_id = run["payload"]["job_id"]
    assert job_id == created.json()["id"]
    ids = [agent.send("job.started", {"job_id": job_id, "kind": "backup", "started_at": "2026-11-29T03:00:00Z"})]
    ids.append(agent.send("log.stream", {"job_id": job_id, "seq": 1, "ts": "2026-11-29T03:00:00Z",
                                         "stream": "stdout", "payload": "hello"}))
    agent.wait_acked(ids)
    logs = admin.get(f"/api/v1/jobs/{job_id}/logs").json()
    assert [line["payload"] for line in logs["lines"]] == ["hello"]
    assert admin.get(f"/api/v1/jobs/{job_id}").json()["status"] == "running"
