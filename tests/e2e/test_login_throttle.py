"""Login throttling slows guessers without locking owners out (issue #14, item 2; SPEC §8).

Delays grow per (username, client IP); an address past its failure budget
still lets correct passwords in; `--trusted-proxy` makes the client IP come
from `X-Forwarded-For`, and only when the peer is such a proxy.
"""
import time

import pytest
import requests

from api_support import assert_error, new_password
from conftest import Client, start_server, wait_for

BUDGET = 8


@pytest.fixture
def proxied(tmp_path):
    """A server behind a (simulated) reverse proxy on loopback."""
    srv = start_server(tmp_path, "--trusted-proxy", "127.0.0.1/32", "--trusted-proxy", "::1",
                       "--login-failures-per-ip", str(BUDGET))
    yield srv
    srv.stop()


def login_from(server, client_ip, username, password, forwarded=None):
    return requests.post(server.url("/api/v1/auth/login"), json={"username": username, "password": password},
                         headers={"X-Forwarded-For": forwarded or client_ip}, timeout=30)


def add_user(server, username) -> str:
    admin = Client(server, "admin", server.admin_password)
    password = new_password()
    assert admin.post("/api/v1/users", json={"username": username, "password": password,
                                             "role": "viewer"}).status_code == 201
    return password


def fail_until_delayed(server, ip, username) -> requests.Response:
    """Wrong passwords from `ip` until the pair is told to wait; returns that 429."""
    for _ in range(10):
        answer = login_from(server, ip, username, "wrong-password!")
        if answer.status_code == 429:
            return answer
        assert_error(answer, 401, "invalid_credentials")
    raise AssertionError("no delay after 10 wrong passwords")


def wait_out(answer: requests.Response) -> None:
    """Waits the Retry-After the server asked for (a deadline it named, not a guess)."""
    time.sleep(int(answer.headers["Retry-After"]))


def test_delays_grow_per_username_and_address(proxied):
    first = fail_until_delayed(proxied, "198.51.100.7", "admin")
    assert_error(first, 429, "rate_limited")
    assert int(first.headers["Retry-After"]) == 1
    # Early tries are refused without a password check, the right password too.
    assert login_from(proxied, "198.51.100.7", "admin", proxied.admin_password).status_code == 429
    wait_out(first)
    assert_error(login_from(proxied, "198.51.100.7", "admin", "wrong-password!"), 401, "invalid_credentials")
    second = login_from(proxied, "198.51.100.7", "admin", "wrong-password!")
    assert_error(second, 429, "rate_limited")
    assert int(second.headers["Retry-After"]) == 2, "the delay doubles with each failure"
    wait_out(second)
    assert login_from(proxied, "198.51.100.7", "admin", proxied.admin_password).status_code == 200
    # A success clears the pair: three free tries again.
    for _ in range(3):
        assert login_from(proxied, "198.51.100.7", "admin", "wrong-password!").status_code == 401


def test_the_owner_from_another_address_is_not_locked_out(proxied):
    attacker = "203.0.113.66"
    answer = fail_until_delayed(proxied, attacker, "admin")
    for _ in range(2):  # well past the old five-failure lock
        wait_out(answer)
        assert login_from(proxied, attacker, "admin", "wrong-password!").status_code == 401
        answer = login_from(proxied, attacker, "admin", "wrong-password!")
        assert answer.status_code == 429
    assert login_from(proxied, "192.0.2.10", "admin", proxied.admin_password).status_code == 200


def test_an_address_past_its_budget_still_lets_correct_passwords_in(proxied):
    bob_password = add_user(proxied, "bob")
    shared = "198.51.100.200"  # e.g. a NAT every user sits behind
    for index in range(BUDGET):  # one try per name: no pair is slowed, the address spends its budget
        assert login_from(proxied, shared, f"guess-{index}", "wrong-password!").status_code == 401
    over = login_from(proxied, shared, "guess-more", "wrong-password!")
    assert_error(over, 429, "rate_limited")
    assert int(over.headers["Retry-After"]) >= 1
    assert login_from(proxied, shared, "bob", bob_password).status_code == 200
    assert login_from(proxied, shared, "admin", proxied.admin_password).status_code == 200
    # Other addresses never saw the budget.
    assert login_from(proxied, "192.0.2.99", "guess-0", "wrong-password!").status_code == 401


def test_forwarded_for_names_the_hop_before_the_trusted_proxy(proxied):
    """A client cannot choose its address by writing X-Forwarded-For itself: the proxy appends the real one."""
    for forged in ("10.9.9.1", "10.9.9.2", "10.9.9.3", "10.9.9.4"):
        answer = login_from(proxied, None, "admin", "wrong-password!", forwarded=f"{forged}, 203.0.113.5")
    assert_error(answer, 429, "rate_limited")
    assert login_from(proxied, "203.0.113.6", "admin", proxied.admin_password).status_code == 200
    audit = Client(proxied, "admin", proxied.admin_password).get("/api/v1/audit", params={"limit": 100}).json()
    failed = [e for e in audit["items"] if e["action"] == "auth.login_failed"]
    assert failed and all(e["ip"] == "203.0.113.5" for e in failed), failed


def test_forwarded_for_from_an_untrusted_peer_is_ignored(server):
    """Without --trusted-proxy every header is the client's own claim: the peer address counts."""
    answers = [login_from(server, f"10.0.0.{i}", "admin", "wrong-password!") for i in range(1, 5)]
    assert [a.status_code for a in answers] == [401, 401, 401, 429]


def test_trusted_proxy_must_be_an_address_or_cidr(tmp_path):
    from conftest import server_command
    import subprocess
    argv, env = server_command("serve", "--data-dir", str(tmp_path / "d"), "--trusted-proxy", "10.0.0.0/33")
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert "--trusted-proxy 10.0.0.0/33 is not an address or CIDR" in result.stderr
