"""Web UI benchmark: what a page costs next to the JSON API calls that carry
the same information, on the same server in the same run.

- Fleet page (`GET /`) against `GET /api/v1/hosts?limit=500`: the page adds
  every host's schedules (next run), the attention rules and the HTML.
- Host page (`GET /hosts/{id}`) against the API calls a script would make for
  the same view: host, config, schedules, jobs, snapshots and stats.

Rounds alternate page and baseline so that machine noise hits both alike;
the ratio of medians is the number to watch. Run through `scripts/bench-web`.
"""
from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
os.environ.setdefault("RM_SERVER_BIN", str(ROOT / ".build" / "release" / "restic-manager-server"))
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

from conftest import Client, create_enrollment_token, create_schedule, enroll, start_server  # noqa: E402


def timed(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def checked(response):
    assert response.status_code == 200, f"{response.request.url}: {response.status_code} {response.text[:200]}"
    return response


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=300, help="hosts in the fleet (default 300)")
    parser.add_argument("--rounds", type=int, default=30, help="alternating rounds (default 30)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="rm-web-bench-") as temp:
        server = start_server(pathlib.Path(temp))
        try:
            admin = Client(server, "admin", server.admin_password)
            host_ids = []
            for index in range(args.hosts):
                token = create_enrollment_token(admin)["token"]
                response = enroll(server, token, hostname=f"bench-{index:04d}")
                assert response.status_code == 201, response.text
                host_id = response.json()["host_id"]
                create_schedule(admin, host_id, cron_expr=f"{index % 60} */6 * * *")
                create_schedule(admin, host_id, kind="check", cron_expr="0 4 * * 0")
                host_ids.append(host_id)
            one = host_ids[len(host_ids) // 2]
            session = admin.session

            def fleet_page():
                assert checked(session.get(server.url("/"))).text.count("data-host-id=") == args.hosts

            def fleet_api():
                assert len(checked(session.get(server.url("/api/v1/hosts?limit=500"))).json()["items"]) == args.hosts

            def host_page():
                checked(session.get(server.url(f"/hosts/{one}")))

            def host_api():
                for path in ("", "/config", "/schedules", "/snapshots", "/stats"):
                    checked(session.get(server.url(f"/api/v1/hosts/{one}{path}")))
                checked(session.get(server.url(f"/api/v1/jobs?host_id={one}&limit=15")))

            for call in (fleet_page, fleet_api, host_page, host_api):
                call()  # warm up
            samples = {name: [] for name in ("fleet_page", "fleet_api", "host_page", "host_api")}
            for _ in range(args.rounds):
                samples["fleet_page"].append(timed(fleet_page))
                samples["fleet_api"].append(timed(fleet_api))
                samples["host_page"].append(timed(host_page))
                samples["host_api"].append(timed(host_api))
        finally:
            server.stop()

    median = {name: statistics.median(values) for name, values in samples.items()}
    print(f"web UI benchmark: {args.hosts} hosts, 2 schedules each, {args.rounds} alternating rounds (medians)")
    print(f"  fleet page  GET /                          {median['fleet_page'] * 1000:8.1f} ms")
    print(f"  baseline    GET /api/v1/hosts?limit=500    {median['fleet_api'] * 1000:8.1f} ms")
    print(f"  ratio       {median['fleet_page'] / median['fleet_api']:.2f}x")
    print(f"  host page   GET /hosts/{{id}}                {median['host_page'] * 1000:8.1f} ms")
    print(f"  baseline    6 API calls for the same view  {median['host_api'] * 1000:8.1f} ms")
    print(f"  ratio       {median['host_page'] / median['host_api']:.2f}x")


if __name__ == "__main__":
    main()
