"""Update notices (SPEC §13): a server holding a newer agent package tells
older agents with `agent.update_available`, says so in the host JSON and on
the fleet and host pages; the real agent logs it and `status` shows it.
Versions compare as versions: a 0.9.0 package is not "newer" than 0.10.0.
"""
import subprocess

import pytest

import agent_harness as harness
from conftest import Agent, Client, enroll_host, hello_payload, start_server, wait_for

AGENT_VERSION = "0.1.0"  # this build's releaseVersion


def debian_arch() -> str:
    return subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=True).stdout.strip()


def server_with(tmp_path, *versions: str):
    packages = tmp_path / "packages"
    packages.mkdir(exist_ok=True)
    for version in versions:
        (packages / f"restic-manager-agent_{version}_{debian_arch()}.deb").write_bytes(version.encode())
    server = start_server(tmp_path, "--packages-dir", str(packages), "--agent-offline-after", "5")
    return server, Client(server, "admin", server.admin_password)


def test_older_agent_is_told_and_sees_it_in_status(tmp_path):
    server, admin = server_with(tmp_path, "0.9.0", "0.10.0")
    agent = None
    try:
        enrolled = harness.enroll_agent(admin, tmp_path)
        agent = harness.start_agent(enrolled.state_dir)
        host = harness.wait_online(admin, enrolled.host_id)
        assert host["agent_version"] == AGENT_VERSION
        assert host["update_available"] is True
        url = f"{server.base_url}/packages/restic-manager-agent_0.10.0_{debian_arch()}.deb"
        wait_for(lambda: "a newer agent is available" in agent.log_text(), timeout=15, message="the agent's notice")
        assert "0.10.0" in agent.log_text() and url in agent.log_text()

        status = harness.run_agent_command("status", "--state-dir", str(enrolled.state_dir))
        assert status.returncode == 0, status.stderr
        assert f"Agent version:   {AGENT_VERSION}" in status.stdout
        assert f"Update:          0.10.0 available at {url}" in status.stdout

        fleet = admin.get("/")
        assert fleet.status_code == 200 and "agent 0.10.0 available" in fleet.text
        page = admin.get(f"/hosts/{enrolled.host_id}")
        assert page.status_code == 200 and "update available: 0.10.0" in page.text
    finally:
        if agent:
            agent.stop()
        server.stop()


def test_the_message_carries_the_newest_version_and_its_url(tmp_path):
    server, admin = server_with(tmp_path, "0.9.0", "0.10.0")
    try:
        host = enroll_host(admin)
        agent = Agent(server, host.agent_token, hello=False)
        try:
            agent.send("hello", hello_payload(agent_version="0.9.5"))
            # SPEC §4: config.update and schedule.set come first, in that order.
            assert agent.recv()["type"] == "config.update"
            assert agent.recv()["type"] == "schedule.set"
            notice = agent.expect("agent.update_available")["payload"]
        finally:
            agent.close()
        assert notice["latest_version"] == "0.10.0"
        assert notice["package_url"] == f"{server.base_url}/packages/restic-manager-agent_0.10.0_{debian_arch()}.deb"
    finally:
        server.stop()


@pytest.mark.parametrize("agent_version", ["0.10.0", "0.10.1", "1.0.0", "not-a-version"])
def test_current_newer_or_unordered_agents_are_not_told(tmp_path, agent_version):
    server, admin = server_with(tmp_path, "0.9.0", "0.10.0")
    try:
        host = enroll_host(admin)
        agent = Agent(server, host.agent_token, hello=False)
        try:
            agent.send("hello", hello_payload(agent_version=agent_version))
            agent.expect("config.update")
            agent.expect("schedule.set")
            # The server answers frames in order: once the answer to a later
            # frame is here, anything the hello caused has arrived too.
            agent.send("no.such.type", {})
            agent.expect("error")
            assert agent.messages_of("agent.update_available") == []
            assert admin.get(f"/api/v1/hosts/{host.host_id}").json()["update_available"] is False
        finally:
            agent.close()
    finally:
        server.stop()
