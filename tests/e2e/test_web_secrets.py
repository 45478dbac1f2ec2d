"""Repository secrets through the config form: stored and sent to the agent,
shown only as "set", never echoed into a page or the server log; an empty
field keeps the stored secret and the checkbox clears it."""
import uuid

import pytest

from api_support import enroll_bare_host
from conftest import Agent, Client
from web_support import Browser, browser_for, doc, form_values, location_path
from web_support import web_server  # noqa: F401 (module-scoped fixtures)

PAGES = ["/", "/hosts/{host}", "/jobs", "/enrollment", "/users", "/tokens", "/audit", "/hosts/{host}/schedules/new"]


@pytest.fixture(scope="module")
def world(web_server):
    api = Client(web_server, "admin", web_server.admin_password)
    host = enroll_bare_host(api, "secret-host")
    browser = browser_for(web_server, "admin", web_server.admin_password)
    return {"api": api, "host": host.host_id, "agent_token": host.agent_token, "browser": browser}


def secret(server, label):
    return server.remember_secret(f"{label}-{uuid.uuid4().hex}")


def config(world) -> dict:
    response = world["api"].get(f"/api/v1/hosts/{world['host']}/config")
    assert response.status_code == 200, response.text
    return response.json()


def agent_config(server, world) -> dict:
    """What the agent is given on connect: proof of the stored (decrypted) values."""
    agent = Agent(server, world["agent_token"])
    try:
        return agent.config["payload"]
    finally:
        agent.close()


def config_form(world) -> dict:
    page = world["browser"].page(f"/hosts/{world['host']}")
    form = page.by_id("config-form")
    assert form is not None and form.get("action") == f"/hosts/{world['host']}/config"
    return page, form


def save(world, **fields):
    _, form = config_form(world)
    values = form_values(form)
    values.update(fields)
    return world["browser"].post(f"/hosts/{world['host']}/config", data=values)


def assert_secrets_nowhere(server, world, secrets):
    for path in PAGES:
        response = world["browser"].get(path.format(**world))
        assert response.status_code == 200, path
        for value in secrets:
            assert value not in response.text, f"a secret ({value[:10]}…) is on {path}"


def test_secrets_are_stored_and_shown_only_as_set(web_server, world):
    password, credential = secret(web_server, "repo-password"), secret(web_server, "repo-credential")
    response = save(world, repo_url="rest:https://rest.example.com/repo", repo_username="backup",
                    repo_password=password, repo_credential=credential)
    assert response.status_code == 303, response.text[:500]
    assert location_path(response) == f"/hosts/{world['host']}#repository"

    stored = config(world)
    assert stored["repo_password_set"] is True and stored["repo_credential_set"] is True
    assert stored["repo_url"] == "rest:https://rest.example.com/repo" and stored["repo_username"] == "backup"
    sent = agent_config(web_server, world)
    assert sent["repo_password"] == password and sent["repo_credential"] == credential

    page, form = config_form(world)
    for name in ("repo_password", "repo_credential"):
        field = page.by_id(name)
        assert field.get("type") == "password"
        assert field.get("placeholder") == "set (leave empty to keep)"
        assert field.get("value") is None, f"{name} has a value attribute"
    assert form.find("input", name="clear_repo_password") is not None
    assert form.find("input", name="clear_repo_credential") is not None
    assert "saved" in page.by_id("flash").text.lower()
    assert_secrets_nowhere(web_server, world, [password, credential])


def test_empty_field_keeps_the_secret(web_server, world):
    password = secret(web_server, "kept-password")
    assert save(world, repo_url="/srv/restic/kept", repo_password=password, repo_credential="").status_code == 303
    # Save again with the password field empty, as a browser would after a reload.
    response = save(world, repo_url="/srv/restic/kept-2", repo_password="")
    assert response.status_code == 303, response.text[:500]
    stored = config(world)
    assert stored["repo_password_set"] is True and stored["repo_url"] == "/srv/restic/kept-2"
    assert agent_config(web_server, world)["repo_password"] == password
    assert_secrets_nowhere(web_server, world, [password])


def test_checkbox_clears_the_secret(web_server, world):
    password, credential = secret(web_server, "cleared-password"), secret(web_server, "kept-credential")
    assert save(world, repo_url="rest:https://rest.example.com/r", repo_password=password,
                repo_credential=credential).status_code == 303
    _, form = config_form(world)
    values = form_values(form)
    assert "clear_repo_password" not in values, "the clear checkbox must start unchecked"
    values["clear_repo_password"] = "on"
    # Clearing wins over a value typed at the same time.
    values["repo_password"] = "typed-while-clearing"
    response = world["browser"].post(f"/hosts/{world['host']}/config", data=values)
    assert response.status_code == 303, response.text[:500]
    stored = config(world)
    assert stored["repo_password_set"] is False and stored["repo_credential_set"] is True
    page, form = config_form(world)
    assert page.by_id("repo_password").get("placeholder") == "not set"
    assert form.find("input", name="clear_repo_password") is None
    sent = agent_config(web_server, world)
    assert sent.get("repo_password", "") == "" and sent["repo_credential"] == credential


def test_refused_form_does_not_echo_the_secret(web_server, world):
    before = config(world)
    password = secret(web_server, "refused-password")
    response = save(world, repo_url="rest:https://user:inline@rest.example.com/repo", repo_password=password)
    assert response.status_code == 400, response.text[:500]
    page = doc(response)
    assert page.by_id("config-error") is not None and "repo_url" in page.by_id("config-error").text
    assert password not in response.text
    assert page.by_id("repo_password").get("value") is None
    # The admin is told to type it again rather than left to think it was kept.
    assert "password you typed was not saved" in page.by_id("config-error").text
    long_secret = secret(web_server, "too-long-" + "z" * 5000)
    response = save(world, repo_password=long_secret)
    assert response.status_code == 400 and "repo_password" in doc(response).by_id("config-error").text
    assert long_secret not in response.text and long_secret[:4000] not in response.text
    assert config(world) == before


def test_no_secret_reaches_the_server_log(server):
    """On a server of its own, stopped to read its whole log."""
    api = Client(server, "admin", server.admin_password)
    host = enroll_bare_host(api, "log-host")
    own = {"api": api, "host": host.host_id, "browser": browser_for(server, "admin", server.admin_password)}
    assert save(own, repo_url="rest:https://rest.example.com/log", repo_username="u",
                repo_password=secret(server, "log-password"),
                repo_credential=secret(server, "log-cred")).status_code == 303
    # A refused form with a secret in it, and a wrong password typed at the login page.
    assert save(own, repo_url="ftp://nope", repo_password=secret(server, "log-refused")).status_code == 400
    failed = Browser(server)
    fields = failed.login_form()
    fields.update(username="admin", password=secret(server, "log-typo"))
    assert failed.post("/login", data=fields).status_code == 401
    server.remember_secret(own["browser"].csrf_token)
    assert server.stop() == 0
    log = server.log_text() + server.stderr_path.read_text(errors="replace").replace(
        f"created user admin with password {server.admin_password}", "")
    assert "listening" in log
    for value in server.secrets:
        assert value not in log, f"a secret ({value[:10]}…) is in the server log"
