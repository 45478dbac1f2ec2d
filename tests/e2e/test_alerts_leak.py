"""No notification secret leaks (SPEC §8, §9.3; docs/alerts.md "Channels", "Ping URLs").

After channels and ping URLs have really been used — a webhook secret that
signed deliveries and was replaced, custom header values, an SMTP password
that authenticated over STARTTLS and a wrong one that was refused, secrets
in refused requests, a ping URL that was pinged and one whose receiver is
down (so an error is stored) — none of these values is in any file of the
data dir (the SQLite file and its WAL included, while running and after
stop) or of the PostgreSQL database, in the server's stdout or stderr, in any API answer the test got
(bodies and headers), in the audit log, or in a message sent to the agent.
The approach of test_api_leak.py.
"""
import json
import pathlib
import uuid

from api_support import assert_error, create_schedule, walk_pages
from conftest import Agent, Client, enroll_host, holds_the_store, now_rfc3339, store_files, wait_for
from notify_support import (db_query, email_channel, finish, free_port, run_to_end, send_test, signature_ok,
                            start_alert_server, start_scheduled, wait_alert, wait_attempted, wait_delivered,
                            webhook)
from notify_support import receiver, smtp_servers, tls_files  # noqa: F401 (fixtures)

CHANNELS = "/api/v1/notification-channels"


class RecordingClient(Client):
    """A signed-in client that keeps every answer it gets (status, headers, body)."""

    def __init__(self, server, username, password, answers: list[str]):
        self.answers = answers
        super().__init__(server, username, password)

    def request(self, method, path, **kwargs):
        response = super().request(method, path, **kwargs)
        self.answers.append(f"{method} {path} {response.status_code} {dict(response.headers)} {response.text}")
        return response


def assert_not_in_files(files: dict[pathlib.Path, bytes], secrets: list[str]) -> None:
    for path, content in files.items():
        for secret in secrets:
            assert secret.encode() not in content, f"a secret ({secret[:8]}…) is stored in clear in {path.name}"


def test_notification_secrets_never_leak(tmp_path, receiver, smtp_servers, tls_files):
    notify_secrets: list[str] = []

    def secret(prefix: str) -> str:
        value = f"{prefix}-{uuid.uuid4().hex}"
        notify_secrets.append(value)
        return value

    smtp_password = secret("smtp-pw")
    smtp = smtp_servers("starttls", tls=tls_files, auth=("rm-user", smtp_password))
    srv = start_alert_server(tmp_path, "--notify-ca-file", str(tls_files.cert))
    answers: list[str] = []
    try:
        admin = RecordingClient(srv, "admin", srv.admin_password, answers)

        # A webhook with a secret and a header value; deliveries signed with it; then both replaced.
        first_secret, first_header = secret("whsec"), secret("hdr")
        hook = webhook(admin, receiver.url("/leak"), name="leak hook", secret=first_secret,
                       headers={"X-Api-Key": first_header})
        delivery_id = send_test(admin, hook["id"])
        got = receiver.wait(lambda r: r.delivery_id == delivery_id)[0]
        assert signature_ok(first_secret, got) and got.header("X-Api-Key") == first_header
        second_secret, second_header = secret("whsec2"), secret("hdr2")
        response = admin.put(f"{CHANNELS}/{hook['id']}", json={
            "name": "leak hook", "kind": "webhook",
            "config": {"url": receiver.url("/leak"), "secret": second_secret, "headers": {"X-Api-Key": second_header}}})
        assert response.status_code == 200, response.text
        delivery_id = send_test(admin, hook["id"])
        got = receiver.wait(lambda r: r.delivery_id == delivery_id)[0]
        assert signature_ok(second_secret, got) and got.header("X-Api-Key") == second_header

        # Secrets inside requests the server refuses.
        for body in ({"name": "x", "kind": "webhook", "config": {"url": "ftp://x.example.test/", "secret": secret("r1")}},
                     {"name": "x", "kind": "webhook", "config": {"url": "http://127.0.0.1:9/",
                                                                "headers": {"Bad Name": secret("r2")}}},
                     {"name": "x", "kind": "webhook", "config": {"url": "http://127.0.0.1:9/",
                                                                "headers": {"X-A": secret("r3") + "\r\nX-B: 1"}}},
                     {"name": "x", "kind": "email", "config": {"host": "smtp.example.test", "port": 0,
                                                              "security": "tls", "password": secret("r4"),
                                                              "from": "a@example.test", "to": ["b@example.test"]}}):
            assert_error(admin.post(CHANNELS, json=body), 400, "validation_failed")

        # SMTP: a password that authenticates over STARTTLS, and a wrong one that is refused.
        mail = email_channel(admin, smtp, "starttls", username="rm-user", password=smtp_password)
        wait_delivered(admin, mail["id"], send_test(admin, mail["id"]))
        assert smtp.messages[0].login == "rm-user"
        wrong = email_channel(admin, smtp, "starttls", username="rm-user", password=secret("wrong-pw"))
        wait_attempted(admin, wrong["id"], send_test(admin, wrong["id"]))

        # Ping URLs: one pinged, one replaced, one whose receiver is down so its error is stored.
        host = enroll_host(admin, "leak-host")
        agent = Agent(srv, host.agent_token)
        replaced_token, ping_token, dead_token = secret("ping-old"), secret("ping"), secret("ping-dead")
        schedule = create_schedule(admin, host.host_id, ping_url=receiver.url(f"/{replaced_token}"))
        response = admin.put(f"/api/v1/schedules/{schedule['id']}", json={
            "kind": "backup", "cron_expr": "0 3 * * *", "paths": ["/etc"], "ping_url": receiver.url(f"/{ping_token}")})
        assert response.status_code == 200, response.text
        dead = create_schedule(admin, host.host_id, cron_expr="0 5 * * *",
                               ping_url=f"http://127.0.0.1:{free_port()}/{dead_token}")
        job = start_scheduled(agent, schedule["id"])
        receiver.wait(lambda r: r.path == f"/{ping_token}/start" and r.query.get("rid") == [job])
        finish(agent, job)
        receiver.wait(lambda r: r.path == f"/{ping_token}" and r.query.get("rid") == [job])
        dead_job = start_scheduled(agent, dead["id"])

        def dead_ping_failed():
            agent.send("heartbeat", {"sent_at": now_rfc3339()})  # the agent stays online meanwhile
            return db_query(srv, "SELECT last_error FROM notifications WHERE job_id = ? AND attempts > 0 "
                                 "AND last_error IS NOT NULL", (dead_job,))

        wait_for(dead_ping_failed, timeout=20, interval=0.5, message="the dead ping's failed attempt")

        # An alert notified to the webhook.
        run_to_end(admin, agent, host.host_id, status="failed")
        alert = wait_alert(admin, "job_failed", host.host_id)
        receiver.wait_event("alert.opened", alert["id"])

        # Read everything back through the API.
        for path in (CHANNELS, f"{CHANNELS}/{hook['id']}", f"{CHANNELS}/{mail['id']}", f"{CHANNELS}/{wrong['id']}",
                     f"{CHANNELS}/{hook['id']}/deliveries", f"{CHANNELS}/{mail['id']}/deliveries",
                     f"{CHANNELS}/{wrong['id']}/deliveries", f"/api/v1/hosts/{host.host_id}/schedules",
                     f"/api/v1/schedules/{schedule['id']}", f"/api/v1/schedules/{dead['id']}", "/api/v1/alerts",
                     f"/api/v1/alerts/{alert['id']}", "/api/v1/alert-rules", f"/api/v1/hosts/{host.host_id}",
                     f"/api/v1/jobs/{job}", f"/api/v1/jobs/{dead_job}", f"/api/v1/jobs/{job}/logs"):
            assert admin.get(path).status_code == 200, path
        audit = json.dumps([entry for page in walk_pages(admin, "/api/v1/audit", limit=500) for entry in page])
        assert "leak hook" in audit  # the channel's changes are audited, only without their secrets
        to_agent = json.dumps([agent.config, agent.schedules, *agent.inbox, *agent.idle(0.3)])

        # Everything above really happened: every secret was used or refused.
        assert len(notify_secrets) == 13
        for secret_value in notify_secrets:
            srv.remember_secret(secret_value)
            for answer in answers:
                assert secret_value not in answer, f"a secret ({secret_value[:8]}…) is in an API answer: {answer[:200]}"
            assert secret_value not in audit, f"a secret ({secret_value[:8]}…) is in the audit log"
            assert secret_value not in to_agent, f"a secret ({secret_value[:8]}…) was sent to the agent"

        assert_not_in_files(store_files(srv), srv.secrets)  # while running: the WAL included
        agent.close()
        assert srv.stop() == 0
    finally:
        srv.stop()

    files = store_files(srv)
    assert any(holds_the_store(path) for path in files)
    assert_not_in_files(files, srv.secrets)
    log = srv.log_text()
    assert "listening" in log
    stderr = srv.stderr_path.read_text(errors="replace")
    for secret_value in srv.secrets:
        assert secret_value not in log, f"a secret ({secret_value[:8]}…) is in the server log"
        if secret_value != srv.admin_password:
            assert secret_value not in stderr, f"a secret ({secret_value[:8]}…) is on stderr"
