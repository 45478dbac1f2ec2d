"""Login throttling counts across replicas (SPEC §8, §12).

The throttle's counts live in the shared store, so wrong passwords spread
over two replicas behind a load balancer are slowed exactly as if they all
went to one server.
"""
import time

import pytest

from api_support import assert_error, login
from conftest import start_server
from test_replicas import needs_postgres, replica_of


@pytest.fixture
def replicas(tmp_path):
    a = start_server(tmp_path)
    b = replica_of(a, tmp_path, "data-b")
    yield a, b
    for replica in (a, b):
        replica.stop()


@needs_postgres
def test_wrong_passwords_alternated_between_replicas_are_throttled_as_on_one_server(replicas):
    a, b = replicas
    # Same username, same client address (loopback), a different replica each time.
    for replica in (a, b, a):
        assert_error(login(replica, "admin", "wrong-password!"), 401, "invalid_credentials")
    for replica in (b, a):
        answer = login(replica, "admin", "wrong-password!")
        assert_error(answer, 429, "rate_limited")
        assert int(answer.headers["Retry-After"]) == 1
    # Refused unchecked on either replica, the right password too, until the wait is over.
    assert login(b, "admin", a.admin_password).status_code == 429
    time.sleep(int(answer.headers["Retry-After"]))
    assert login(b, "admin", a.admin_password).status_code == 200
    # The success on B cleared the pair for A as well: three free tries again.
    for _ in range(3):
        assert_error(login(a, "admin", "wrong-password!"), 401, "invalid_credentials")
