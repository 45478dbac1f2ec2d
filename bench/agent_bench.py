"""Agent benchmarks: a 1 GiB backup driven through the real server and agent
beside bare restic on the same data, and the idle agent's resident memory.

Run through `scripts/bench-agent`, which builds the release binaries first.
Servers, agents and API calls come from the end-to-end harness in tests/e2e,
so the benchmark drives exactly what the tests drive.
"""
from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
# The harness reads the binary paths when imported; default to release
# builds so the agent's own overhead is measured, not debug code.
os.environ.setdefault("RM_SERVER_BIN", str(ROOT / ".build" / "release" / "restic-manager-server"))
os.environ.setdefault("RM_AGENT_BIN", str(ROOT / ".build" / "release" / "restic-manager-agent"))
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

from agent_harness import (  # noqa: E402
    configure_repository, create_schedule, enroll_agent, job, restic_env, run_job, start_agent, wait_job_done,
    wait_online, wait_schedule_acked,
)
from conftest import Client, parse_time, start_server, wait_for  # noqa: E402

MIB = 1 << 20
PASSWORD = "bench-repo-password"


def ensure_data(directory: pathlib.Path, files: int, size_mib: int) -> pathlib.Path:
    """Random (incompressible, undeduplicable) files, kept across runs: writing
    1 GiB of urandom costs more than a round."""
    directory.mkdir(parents=True, exist_ok=True)
    for index in range(files):
        path = directory / f"random-{index}.bin"
        if path.exists() and path.stat().st_size == size_mib * MIB:
            continue
        with open(path, "wb") as handle:
            for _ in range(size_mib):
                handle.write(os.urandom(MIB))
    for stale in set(directory.iterdir()) - {directory / f"random-{i}.bin" for i in range(files)}:
        stale.unlink()
    # Read everything once so that no round pays for a cold page cache.
    for path in directory.iterdir():
        with open(path, "rb") as handle:
            while handle.read(8 * MIB):
                pass
    return directory


def bare_backup(data: pathlib.Path, repo: pathlib.Path) -> float:
    """Wall seconds of `restic backup --json` into a fresh repository."""
    env = restic_env(str(repo), PASSWORD)
    subprocess.run(["restic", "init"], env=env, check=True, capture_output=True)
    start = time.monotonic()
    subprocess.run(["restic", "backup", "--json", str(data)], env=env, check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - start


def start_configured_agent(admin: Client, work: pathlib.Path, repo: pathlib.Path):
    """A fresh enrolled agent, online, with an initialised repository."""
    enrolled = enroll_agent(admin, work)
    configure_repository(admin, enrolled.host_id, str(repo), PASSWORD)
    # --log-level comes last so it overrides the harness's debug: info is the default in production.
    agent = start_agent(enrolled.state_dir, "--log-level", "info", log_dir=work)
    wait_online(admin, enrolled.host_id)
    init = wait_job_done(admin, run_job(admin, enrolled.host_id, "init"))
    assert init["status"] == "succeeded", init
    # After init the agent reports snapshots and stats (two restic runs) before its queue takes the next job;
    # wait for that so a timed job starts on an idle agent.
    wait_for(lambda: admin.get(f"/api/v1/hosts/{enrolled.host_id}/stats").json()["items"], timeout=60,
             message="repository stats after init")
    return enrolled.host_id, agent


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process (not its children, so restic is not counted)."""
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_terminal(admin: Client, job_id: str, timeout: float = 1800) -> dict:
    """The job once it is terminal: polled every 50 ms near its end (by its progress), every 0.25 s before.
    Polling fast all along cost restic a few % of a 2-CPU machine (client and server CPU)."""
    deadline = time.monotonic() + timeout
    while (current := job(admin, job_id))["status"] not in ("succeeded", "failed", "cancelled"):
        assert time.monotonic() < deadline, f"job {job_id} still {current['status']} after {timeout} s"
        progress = current["progress"] or {"percent_done": 0}
        near_end = progress["percent_done"] >= 0.9 or (progress["percent_done"] > 0 and progress["eta_seconds"] <= 1)
        time.sleep(0.05 if near_end else 0.25)
    return current


def agent_backup(admin: Client, work: pathlib.Path, data: pathlib.Path, repo: pathlib.Path):
    """(started→finished as the server records it, API request→succeeded, the agent's own CPU seconds, agent)."""
    host_id, agent = start_configured_agent(admin, work, repo)
    cpu_before = cpu_seconds(agent.process.pid)
    start = time.monotonic()
    done = wait_terminal(admin, run_job(admin, host_id, "backup", args=[str(data)]))
    wall = time.monotonic() - start
    cpu = cpu_seconds(agent.process.pid) - cpu_before
    assert done["status"] == "succeeded", done
    job_seconds = (parse_time(done["finished_at"]) - parse_time(done["started_at"])).total_seconds()
    return job_seconds, wall, cpu, agent


def memory_samples(pid: int, settle: float, samples: int, spacing: float) -> dict[str, list[float]]:
    """MiB readings `spacing` apart after `settle` seconds: VmRSS (the target) and, to explain it, its anonymous
    part (heap, stacks) and its file-backed part (code and read-only data of the binary and its libraries)."""
    time.sleep(settle)
    readings: dict[str, list[float]] = {"VmRSS": [], "RssAnon": [], "RssFile": []}
    for index in range(samples):
        if index:
            time.sleep(spacing)
        for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in readings:
                readings[key].append(int(value.split()[0]) / 1024)
    return readings


def render(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(len(header))]

    def line(cells):
        # Text left-aligned, numbers right-aligned, as scripts/bench-ingest prints.
        return " | ".join(cell.ljust(w) if column == 0 else cell.rjust(w)
                          for column, (cell, w) in enumerate(zip(cells, widths)))

    return "\n".join([line(header), "-|-".join("-" * w for w in widths), *map(line, rows)])


def verdict(value: float, limit: float) -> str:
    return f"≤ {limit:g} {'ok' if value <= limit else 'MISSED'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--file-mib", type=int, default=128)
    parser.add_argument("--data-dir", type=pathlib.Path,
                        default=pathlib.Path(tempfile.gettempdir()) / "restic-manager-bench-agent-data")
    # tmpfs by default: this VM's disk writeback made rounds differ by 50 %, drowning the agent's overhead.
    parser.add_argument("--scratch-dir", type=pathlib.Path,
                        default=pathlib.Path("/dev/shm") if os.path.isdir("/dev/shm") else None,
                        help="where the repositories, restic's cache and the server's data go")
    parser.add_argument("--settle", type=float, default=10, help="seconds to wait before reading an idle agent's RSS")
    options = parser.parse_args()

    print(f"generating/reading {options.files} × {options.file_mib} MiB in {options.data_dir}", file=sys.stderr)
    data = ensure_data(options.data_dir, options.files, options.file_mib)
    restic_version = subprocess.run(["restic", "version"], capture_output=True, text=True).stdout.split(" compiled")[0]

    with tempfile.TemporaryDirectory(prefix="rm-bench-agent-", dir=options.scratch_dir) as scratch:
        work = pathlib.Path(scratch)
        # One restic cache for bare and agent runs alike, thrown away afterwards.
        os.environ["XDG_CACHE_HOME"] = str(work / "cache")
        server = start_server(work)
        try:
            admin = Client(server, "admin", server.admin_password)

            # Idle agent first, on a quiet machine: schedules applied, hello burst and first report over.
            host_id, agent = start_configured_agent(admin, work, work / "idle-repo")
            create_schedule(admin, host_id, kind="backup", cron_expr="0 3 * * *", paths=[str(data)])
            create_schedule(admin, host_id, kind="forget", cron_expr="0 4 * * 0", retention_policy={"keep_daily": 7})
            create_schedule(admin, host_id, kind="check", cron_expr="0 5 1 * *")
            wait_schedule_acked(admin, host_id)
            idle = memory_samples(agent.process.pid, options.settle, samples=10, spacing=0.5)
            agent.stop()

            bare, agent_job, agent_wall, agent_cpu = [], [], [], []
            after_backup: dict[str, list[float]] = {}
            for round_index in range(options.rounds):
                # Alternate who goes first so neither always meets the same machine state.
                order = ("bare", "agent") if round_index % 2 == 0 else ("agent", "bare")
                for which in order:
                    repo = work / f"repo-{which}-{round_index}"
                    # Flush the last round's repository to disk now, not during this measurement.
                    os.sync()
                    if which == "bare":
                        bare.append(bare_backup(data, repo))
                    else:
                        job_seconds, wall, cpu, agent = agent_backup(admin, work, data, repo)
                        agent_job.append(job_seconds)
                        agent_wall.append(wall)
                        agent_cpu.append(cpu)
                        if round_index == options.rounds - 1:
                            after_backup = memory_samples(agent.process.pid, options.settle, samples=10, spacing=0.5)
                        agent.stop()
                    subprocess.run(["rm", "-rf", str(repo)], check=True)  # 1 GiB each: keep the disk free
                    measured = (f"{bare[-1]:.2f} s" if which == "bare" else
                                f"{agent_job[-1]:.2f} s (wall {agent_wall[-1]:.2f} s, agent CPU {agent_cpu[-1]:.2f} s)")
                    print(f"round {round_index + 1}: {which} {measured}", file=sys.stderr)
        finally:
            server.stop()

    baseline = statistics.median(bare)
    gib = options.files * options.file_mib / 1024
    print(f"\nagent backup: {gib:.2f} GiB ({options.files} × {options.file_mib} MiB random), "
          f"{options.rounds} rounds, {restic_version}, {os.cpu_count()} CPUs, repositories in {work.parent}")
    rows = []
    agent_cpu_median = f"{statistics.median(agent_cpu):.2f}"
    for name, values, cpu, limit in (("bare restic backup --json", bare, "", None),
                                     ("agent job, started → finished", agent_job, agent_cpu_median, 1.03),
                                     ("agent job, API request → succeeded", agent_wall, agent_cpu_median, None)):
        ratio = statistics.median(values) / baseline
        rows.append([name, f"{statistics.median(values):.2f}", f"{min(values):.2f}", f"{max(values):.2f}",
                     f"{ratio:.3f}", cpu, verdict(ratio, limit) if limit else ""])
    print(render(["scenario", "median s", "min s", "max s", "× bare", "agent CPU s", "target"], rows))

    print(f"\nagent memory (10 readings over 5 s, {options.settle:g} s after going idle)")
    rows = [[name, f"{statistics.median(m['VmRSS']):.1f}", f"{max(m['VmRSS']):.1f}",
             f"{statistics.median(m['RssAnon']):.1f}", f"{statistics.median(m['RssFile']):.1f}",
             verdict(max(m["VmRSS"]), 25)]
            for name, m in (("idle, schedules applied", idle), ("idle after the last backup", after_backup)) if m]
    print(render(["agent", "VmRSS median MiB", "VmRSS max MiB", "anon MiB", "file MiB", "target (max)"], rows))


if __name__ == "__main__":
    main()
