"""Email channels end to end (SPEC §9.3, docs/alerts.md "Email").

A real SMTP server (aiosmtpd on 127.0.0.1) receives the mail: over clear
text (`security: none`), STARTTLS (offered and required by the SMTP server;
the server under test trusts its self-signed certificate through
`--notify-ca-file`) and implicit TLS, with and without AUTH. `starttls`
against an SMTP server that does not offer it sends nothing and says why.
The subject names the rule and the host; the body carries the alert's
message and, with `--base-url`, a link to the host page.
"""
import email.utils
import uuid

from conftest import Agent, Client, enroll_host
from notify_support import (email_channel, run_to_end, send_test, start_alert_server, wait_alert, wait_attempted,
                            wait_delivered, wait_delivery)
from notify_support import server, smtp_servers, tls_files  # noqa: F401 (fixtures)

BASE_URL = "https://rm.example.test"


def normalized(text: str) -> str:
    """Whitespace-insensitive, so a mailer that wraps long lines still matches."""
    return " ".join(text.split())


def addresses(message, header: str) -> set[str]:
    return {address for _, address in email.utils.getaddresses(message.get_all(header) or [])}


def test_alert_mail_names_rule_and_host_and_links_the_host_page(tmp_path, smtp_servers):
    smtp = smtp_servers("plain")
    srv = start_alert_server(tmp_path, "--base-url", BASE_URL)
    try:
        admin = Client(srv, "admin", srv.admin_password)
        channel = email_channel(admin, smtp, "none", to=["ops@example.test", "oncall@example.test"])
        host = enroll_host(admin, "mail-host")
        agent = Agent(srv, host.agent_token)
        run_to_end(admin, agent, host.host_id, status="failed", error="repository is locked")
        alert = wait_alert(admin, "job_failed", host.host_id)

        mail = smtp.wait_message(lambda m: "opened" in (m.parsed()["Subject"] or ""), message="the opened mail")
        assert mail.mail_from == "rm@example.test"
        assert sorted(mail.rcpt_tos) == ["oncall@example.test", "ops@example.test"]
        assert not mail.tls
        message = mail.parsed()
        assert message["Subject"] == "[restic-manager] job_failed opened on mail-host"
        assert addresses(message, "From") == {"rm@example.test"}
        assert addresses(message, "To") == {"ops@example.test", "oncall@example.test"}
        assert message["Date"] is not None and email.utils.parsedate_to_datetime(message["Date"]) is not None
        body = normalized(mail.text())
        assert normalized(alert["message"]) in body, body
        assert f"{BASE_URL}/hosts/{host.host_id}" in body, body
        wait_delivery(admin, channel["id"], lambda d: d["event"] == "alert.opened" and d["status"] == "delivered"
                      and d["alert_id"] == alert["id"] and d["attempts"] == 1)

        run_to_end(admin, agent, host.host_id)
        mail = smtp.wait_message(lambda m: "resolved" in (m.parsed()["Subject"] or ""), message="the resolved mail")
        assert mail.parsed()["Subject"] == "[restic-manager] job_failed resolved on mail-host"
        assert f"{BASE_URL}/hosts/{host.host_id}" in normalized(mail.text())
        wait_delivery(admin, channel["id"], lambda d: d["event"] == "alert.resolved" and d["status"] == "delivered")
        assert len(smtp.messages) == 2  # one mail per event, to both recipients at once
    finally:
        srv.stop()


def test_starttls_with_auth_trusts_the_notify_ca_file(tmp_path, smtp_servers, tls_files):
    password = f"smtp-pw-{uuid.uuid4().hex}"
    smtp = smtp_servers("starttls", tls=tls_files, auth=("rm-user", password))
    srv = start_alert_server(tmp_path, "--notify-ca-file", str(tls_files.cert))
    try:
        admin = Client(srv, "admin", srv.admin_password)
        channel = email_channel(admin, smtp, "starttls", username="rm-user", password=password)
        assert channel["config"]["password_set"] is True
        delivery_id = send_test(admin, channel["id"])
        mail = smtp.wait_message(message="the test mail")
        assert mail.tls, "the mail was not sent after STARTTLS"
        assert mail.login == "rm-user"
        assert mail.rcpt_tos == ["ops@example.test"] and mail.mail_from == "rm@example.test"
        sent = wait_delivered(admin, channel["id"], delivery_id)
        assert (sent["event"], sent["attempts"], sent["last_error"]) == ("test", 1, None)

        # A wrong password is refused by the SMTP server: not delivered, the reason kept, nothing sent.
        wrong_password = f"wrong-{uuid.uuid4().hex}"
        wrong = email_channel(admin, smtp, "starttls", username="rm-user", password=wrong_password)
        refused = send_test(admin, wrong["id"])
        attempt = wait_attempted(admin, wrong["id"], refused)
        assert attempt["status"] != "delivered" and attempt["delivered_at"] is None, attempt
        assert wrong_password not in attempt["last_error"] and password not in attempt["last_error"]
        assert any(login == "rm-user" and not ok for _, login, ok in smtp.handler.auth_attempts)
        assert len(smtp.messages) == 1
    finally:
        srv.stop()


def test_implicit_tls_is_verified_against_the_notify_ca_file(tmp_path, smtp_servers, tls_files):
    smtp = smtp_servers("tls", tls=tls_files)
    (tmp_path / "trusting").mkdir()
    (tmp_path / "default").mkdir()
    servers = []
    try:
        trusting = start_alert_server(tmp_path / "trusting", "--notify-ca-file", str(tls_files.cert))
        servers.append(trusting)
        admin = Client(trusting, "admin", trusting.admin_password)
        channel = email_channel(admin, smtp, "tls")
        wait_delivered(admin, channel["id"], send_test(admin, channel["id"]))
        mail = smtp.wait_message(message="the test mail over TLS")
        assert mail.tls

        # Without the CA the certificate is not trusted: nothing is sent.
        default = start_alert_server(tmp_path / "default")
        servers.append(default)
        admin = Client(default, "admin", default.admin_password)
        channel = email_channel(admin, smtp, "tls")
        attempt = wait_attempted(admin, channel["id"], send_test(admin, channel["id"]))
        assert attempt["status"] != "delivered", attempt
        assert len(smtp.messages) == 1
    finally:
        for srv in servers:
            srv.stop()


def test_starttls_is_never_downgraded_to_clear_text(server, admin, smtp_servers):
    smtp = smtp_servers("plain")  # offers no STARTTLS
    channel = email_channel(admin, smtp, "starttls", username="rm-user", password="never-in-clear")
    delivery_id = send_test(admin, channel["id"])
    attempt = wait_attempted(admin, channel["id"], delivery_id)
    assert attempt["status"] != "delivered" and attempt["delivered_at"] is None, attempt
    assert "starttls" in attempt["last_error"].lower(), attempt
    sent = {command for command, _ in smtp.commands}
    assert not sent & {"MAIL", "RCPT", "DATA"}, smtp.commands
    assert smtp.messages == [] and smtp.handler.auth_attempts == []
