"""Jobs: run now, queries with filters, cancel (SPEC §5, §7, §7.1)."""
from api_support import (Anonymous, agent_finish_job, agent_start_job, assert_api_shape, assert_error, assert_list,
                         assert_same_resource, create_api_token, create_schedule, enroll_bare_host, parse_time, run_job,
                         walk_pages)
from conftest import Agent, enroll_host

JOB_KEYS = {"id", "host_id", "schedule_id", "kind", "trigger", "status", "args", "queued_at", "started_at",
            "finished_at", "exit_code", "stats", "error", "progress"}


def test_run_now_returns_the_queued_job(server, admin, operator, viewer):
    host = enroll_host(admin)
    created = operator.post(f"/api/v1/hosts/{host.host_id}/jobs", json={"kind": "backup", "args": ["/etc", "/home"]})
    assert created.status_code == 201, created.text
    job = created.json()
    assert JOB_KEYS <= set(job)
    assert_api_shape(job)
    assert (job["host_id"], job["kind"], job["trigger"], job["status"]) == (host.host_id, "backup", "manual", "queued")
    assert job["args"] == ["/etc", "/home"] and job["schedule_id"] is None
    parse_time(job["queued_at"])
    for key in ("started_at", "finished_at", "exit_code", "stats", "error", "progress"):
        assert job[key] is None, key
    assert_same_resource(viewer.get(f"/api/v1/jobs/{job['id']}").json(), job)
    # A bearer token marks the job as triggered through the API.
    api_job = run_job(create_api_token(operator), host.host_id, kind="check", args=[])
    assert api_job["trigger"] == "api"
    assert_error(viewer.get("/api/v1/jobs/no-such-job"), 404, "not_found")


def test_run_now_validation(server, admin):
    host = enroll_host(admin)
    other = enroll_host(admin, hostname="other")
    backup = create_schedule(admin, host.host_id)
    forget = create_schedule(admin, host.host_id, kind="forget", paths=[], retention_policy={"keep_last": 3})
    foreign = create_schedule(admin, other.host_id)
    url = f"/api/v1/hosts/{host.host_id}/jobs"

    def run(**body):
        return admin.post(url, json=body)

    assert_error(run(kind="restore"), 400, "validation_failed", "restore")
    assert_error(run(kind="restored"), 400, "validation_failed", "kind")
    assert_error(run(kind="rm -rf"), 400, "validation_failed", "kind")
    assert_error(run(args=["/etc"]), 400, "validation_failed", "kind")
    assert_error(run(kind=["backup"]), 400, "validation_failed", "kind")
    assert_error(run(kind="backup"), 400, "validation_failed", "args")
    assert_error(run(kind="backup", args="/etc"), 400, "validation_failed", "args")
    assert_error(run(kind="backup", args=[1]), 400, "validation_failed", "args[0]")
    for kind in ("check", "prune", "unlock", "init"):
        assert_error(run(kind=kind, args=["/etc"]), 400, "validation_failed", "args")
    assert_error(run(kind="forget"), 400, "validation_failed", "schedule_id")
    assert_error(run(kind="forget", schedule_id="nope"), 400, "validation_failed", "schedule_id")
    assert_error(run(kind="backup", schedule_id=foreign["id"]), 400, "validation_failed", "schedule_id")
    assert_error(run(kind="check", schedule_id=backup["id"]), 400, "validation_failed", "kind")
    assert_error(run(kind="backup", schedule_id=backup["id"], args=["/tmp"]), 400, "validation_failed", "args")
    # Hostile paths never become flags or extra lines.
    assert_error(run(kind="backup", args=["--password-command=id"]), 400, "validation_failed", "args[0]")
    assert_error(run(kind="backup", args=["/etc", "-r"]), 400, "validation_failed", "args[1]")
    assert_error(run(kind="backup", args=["/etc\n/root"]), 400, "validation_failed", "args[0]")
    assert_error(run(kind="backup", args=["/etc\u0000"]), 400, "validation_failed", "args[0]")
    assert_error(run(kind="backup", args=[""]), 400, "validation_failed", "args[0]")
    assert_error(run(kind="backup", args=["/" + "a" * 10_000]), 400, "validation_failed", "args[0]")
    assert_error(run(kind="backup", args=["/p"] * 1001), 400, "validation_failed", "args")
    assert_error(admin.post(url, data="{", headers={"Content-Type": "application/json"}), 400, "validation_failed",
                 "body")
    assert_error(admin.post(url, data=b'{"kind":"backup","args":["' + b"a" * (1 << 20) + b'"]}'), 413, "too_large")
    assert_error(admin.post("/api/v1/hosts/nope/jobs", json={"kind": "check"}), 404, "not_found")
    assert admin.get("/api/v1/jobs").json()["items"] == []

    # With a schedule: the schedule's kind and definition, no args.
    via_schedule = run(kind="forget", schedule_id=forget["id"])
    assert via_schedule.status_code == 201, via_schedule.text
    assert via_schedule.json()["schedule_id"] == forget["id"] and via_schedule.json()["args"] == []
    assert run(kind="backup", schedule_id=backup["id"]).status_code == 201


def test_host_without_repository_is_a_conflict(server, admin):
    host = enroll_bare_host(admin)
    assert_error(admin.post(f"/api/v1/hosts/{host.host_id}/jobs", json={"kind": "check"}), 409, "conflict")
    assert_error(admin.post(f"/api/v1/hosts/{host.host_id}/jobs", json={"kind": "backup", "args": ["/etc"]}), 409,
                 "conflict")
    assert admin.get("/api/v1/jobs").json()["items"] == []


def test_job_routes_need_the_right_role(server, admin, viewer):
    host = enroll_host(admin)
    job = run_job(admin, host.host_id)
    assert_error(viewer.post(f"/api/v1/hosts/{host.host_id}/jobs", json={"kind": "check"}), 403, "forbidden")
    assert_error(viewer.post(f"/api/v1/jobs/{job['id']}/cancel"), 403, "forbidden")
    anonymous = Anonymous(server)
    assert_error(anonymous.post(f"/api/v1/hosts/{host.host_id}/jobs", json={"kind": "check"}), 401)
    assert_error(anonymous.get("/api/v1/jobs"), 401)
    assert_error(anonymous.get(f"/api/v1/jobs/{job['id']}"), 401)
    assert_error(anonymous.post(f"/api/v1/jobs/{job['id']}/cancel"), 401)
    assert viewer.get(f"/api/v1/jobs/{job['id']}").json()["status"] == "queued"
    assert len(viewer.get("/api/v1/jobs").json()["items"]) == 1


def test_job_list_filters_and_pagination(server, admin, viewer):
    first = enroll_host(admin, hostname="first")
    second = enroll_host(admin, hostname="second")
    agent = Agent(server, second.agent_token)
    jobs = [run_job(admin, first.host_id), run_job(admin, first.host_id, kind="check", args=[]),
            run_job(admin, second.host_id), run_job(admin, second.host_id, kind="prune", args=[]),
            run_job(admin, first.host_id)]
    done = jobs[2]["id"]
    agent.expect("command.run")
    agent_start_job(agent, done)
    agent_finish_job(agent, done)
    running = jobs[3]["id"]
    agent.expect("command.run")
    agent_start_job(agent, running, kind="prune")

    def ids(**params):
        return [job["id"] for job in assert_list(viewer.get("/api/v1/jobs", params=params))["items"]]

    newest_first = [job["id"] for job in reversed(jobs)]
    assert ids() == newest_first
    assert ids(host_id=first.host_id) == [jobs[4]["id"], jobs[1]["id"], jobs[0]["id"]]
    assert ids(host_id=second.host_id, status="succeeded") == [done]
    assert ids(status="running") == [running]
    assert ids(status="queued") == [jobs[4]["id"], jobs[1]["id"], jobs[0]["id"]]
    assert ids(kind="backup") == [jobs[4]["id"], done, jobs[0]["id"]]
    assert ids(kind="check", host_id=second.host_id) == []
    assert ids(host_id="no-such-host") == []
    assert_error(viewer.get("/api/v1/jobs", params={"status": "exploded"}), 400, "validation_failed", "status")
    assert_error(viewer.get("/api/v1/jobs", params={"kind": "defrag"}), 400, "validation_failed", "kind")

    pages = walk_pages(viewer, "/api/v1/jobs", limit=2)
    assert [[job["id"] for job in page] for page in pages] == [newest_first[:2], newest_first[2:4], newest_first[4:]]
    filtered = walk_pages(viewer, "/api/v1/jobs", limit=1, params={"host_id": first.host_id})
    assert [page[0]["id"] for page in filtered] == [jobs[4]["id"], jobs[1]["id"], jobs[0]["id"]]
    assert_error(viewer.get("/api/v1/jobs", params={"limit": 0}), 400, "validation_failed", "limit")
    assert_error(viewer.get("/api/v1/jobs", params={"limit": 501}), 400, "validation_failed", "limit")
    assert_error(viewer.get("/api/v1/jobs", params={"cursor": "cjE"}), 400, "validation_failed", "cursor")

    finished = viewer.get(f"/api/v1/jobs/{done}").json()
    assert_api_shape(finished)
    assert finished["status"] == "succeeded" and finished["exit_code"] == 0
    assert finished["started_at"] == "2026-01-02T03:04:05Z" and finished["finished_at"] == "2026-01-02T03:05:00Z"


def test_cancel_a_queued_job(server, admin, operator):
    host = enroll_host(admin)
    job = run_job(admin, host.host_id)
    cancelled = operator.post(f"/api/v1/jobs/{job['id']}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    body = cancelled.json()
    assert JOB_KEYS <= set(body)
    assert body["status"] == "cancelled" and body["id"] == job["id"]
    parse_time(body["finished_at"])
    assert admin.get(f"/api/v1/jobs/{job['id']}").json()["status"] == "cancelled"
    assert_error(operator.post(f"/api/v1/jobs/{job['id']}/cancel"), 409, "conflict")
    assert_error(operator.post("/api/v1/jobs/nope/cancel"), 404, "not_found")
    # A cancelled job is never dispatched when the host connects.
    agent = Agent(server, host.agent_token)
    later = run_job(admin, host.host_id, kind="check", args=[])
    assert agent.expect("command.run")["payload"]["job_id"] == later["id"]


def test_cancel_a_running_job_asks_the_agent(server, admin, operator):
    host = enroll_host(admin)
    agent = Agent(server, host.agent_token)
    job = run_job(admin, host.host_id)
    run = agent.expect("command.run")["payload"]
    assert (run["job_id"], run["kind"], run["args"]) == (job["id"], "backup", ["/etc"])
    assert admin.get(f"/api/v1/jobs/{job['id']}").json()["status"] == "queued"
    agent_start_job(agent, job["id"])
    answer = operator.post(f"/api/v1/jobs/{job['id']}/cancel")
    assert answer.status_code == 200 and answer.json()["status"] == "running"
    assert agent.expect("command.cancel")["payload"] == {"job_id": job["id"]}
    agent_finish_job(agent, job["id"], status="cancelled", exit_code=130)
    assert admin.get(f"/api/v1/jobs/{job['id']}").json()["status"] == "cancelled"
