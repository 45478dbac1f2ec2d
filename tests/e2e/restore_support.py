"""Helpers for browse and restore tests: a sample tree with the awkward
cases (spaces, non-ASCII, symlinks, a multi-MiB binary), a hash of a tree,
and an agent that backed it up and allows restores into a folder."""
import hashlib
import os
import pathlib
import uuid
from dataclasses import dataclass

from agent_harness import (
    AgentProcess, configure_repository, enroll_agent, run_job, snapshots, start_agent, wait_job_done, wait_online,
)
from conftest import Client, wait_for


def make_restore_tree(root: pathlib.Path) -> pathlib.Path:
    (root / "docs" / "sub dir").mkdir(parents=True)
    (root / "docs" / "sub dir" / "naïve résumé [draft].txt").write_text("ünïcødé ✓\n", encoding="utf-8")
    (root / "docs" / "plain.txt").write_text("plain\n")
    (root / "bin").mkdir()
    (root / "bin" / "blob.bin").write_bytes(os.urandom(3 * 2**20 + 17))
    (root / "other").mkdir()
    (root / "other" / "x.txt").write_text("x\n")
    os.symlink("../docs/plain.txt", root / "bin" / "link to plain")
    os.symlink("/etc/hostname", root / "abs-link")
    return root


def tree_digest(root: pathlib.Path) -> dict[str, str]:
    """Relative path → sha256 of a file, `link:<target>` of a symlink, `dir` of a folder."""
    digest = {}
    for dirpath, dirnames, filenames in os.walk(root):
        base = pathlib.Path(dirpath)
        for name in dirnames + filenames:
            path = base / name
            relative = str(path.relative_to(root))
            if path.is_symlink():
                digest[relative] = "link:" + os.readlink(path)
                if name in dirnames:
                    dirnames.remove(name)
            elif path.is_dir():
                digest[relative] = "dir"
            else:
                digest[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digest


def restored_at(target: pathlib.Path, original: pathlib.Path) -> pathlib.Path:
    """Where restic puts `original` under `target`: target/<its absolute path>."""
    return target / str(original).lstrip("/")


@dataclass
class RestoreHost:
    host_id: str
    agent: AgentProcess
    sample: pathlib.Path
    restores: pathlib.Path
    repo: str
    password: str
    snapshot_id: str


def backed_up_host(admin: Client, tmp_path: pathlib.Path, *, name: str = "restore-host",
                   restore_to: bool = True, extra_agent_args: tuple = ()) -> RestoreHost:
    """An enrolled agent whose repository holds one snapshot of the sample
    tree; with `restore_to`, the agent allows restores into `restores/`."""
    base = tmp_path / name
    base.mkdir()
    sample = make_restore_tree(base / "sample")
    restores = base / "restores"
    restores.mkdir()
    repo, password = str(base / "repo"), f"repo-pw-{uuid.uuid4().hex}"
    enrolled = enroll_agent(admin, tmp_path, name=name)
    configure_repository(admin, enrolled.host_id, repo, password)
    args = ("--restore-to", str(restores)) if restore_to else ()
    agent = start_agent(enrolled.state_dir, *args, *extra_agent_args)
    wait_online(admin, enrolled.host_id)
    assert wait_job_done(admin, run_job(admin, enrolled.host_id, "init"))["status"] == "succeeded"
    backup = wait_job_done(admin, run_job(admin, enrolled.host_id, "backup", args=[str(sample)]))
    assert backup["status"] == "succeeded", backup
    snaps = wait_for(lambda: snapshots(admin, enrolled.host_id), timeout=30, message="snapshot on the server")
    return RestoreHost(enrolled.host_id, agent, sample, restores, repo, password, snaps[0]["id"])


def browse(client: Client, host_id: str, snapshot_id: str, path: str = "/"):
    # The server waits up to 60 s for the agent's listing; so does the client.
    return client.get(f"/api/v1/hosts/{host_id}/snapshots/{snapshot_id}/ls", params={"path": path}, timeout=90)


def request_restore(client: Client, host_id: str, snapshot_id: str, target: str, include=None, **extra):
    body = {"kind": "restore", "restore": {"snapshot_id": snapshot_id, "target": target, **extra}}
    if include is not None:
        body["restore"]["include"] = include
    return client.post(f"/api/v1/hosts/{host_id}/jobs", json=body)
