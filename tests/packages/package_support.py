"""Helpers for the Debian package test (not a conftest.py: the e2e
helpers it reuses import tests/e2e/conftest.py as `conftest`). It installs dist/*.deb for real on
this machine, as root, into the real system paths, and removes every trace
afterwards.

Why not a debootstrap root: a Debian 12 root costs minutes of downloads
per CI run and depends on a mirror being reachable, and systemd could not
run in it either (no systemd as PID 1 here), so it would prove no more
than the real paths do. What it would add, "no Swift on the host", is
checked directly: the installed binaries are run with no Swift library
path and must link nothing from the toolchain (see docs/decisions.md).
"""
from __future__ import annotations

import os
import pathlib
import re
import shutil
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))


DIST = ROOT / "dist"
PACKAGES = ("restic-manager-agent", "restic-manager-server")
LEFTOVERS = ("/var/lib/restic-manager-server", "/var/lib/restic-manager-agent", "/etc/default/restic-manager-agent",
             "/etc/default/restic-manager-server")


def release_version() -> str:
    text = (ROOT / "Sources/ResticManagerProtocol/ReleaseVersion.swift").read_text()
    return re.search(r'releaseVersion = "([^"]+)"', text).group(1)


def debian_arch() -> str:
    return sh("dpkg", "--print-architecture").stdout.strip()


def sh(*args: str, check: bool = True, timeout: float = 300, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, **kwargs)
    if check:
        assert result.returncode == 0, f"{args} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    return result


def installed_version(package: str) -> str | None:
    result = sh("dpkg-query", "-W", "-f=${Status} ${Version}", package, check=False)
    if result.returncode != 0 or not result.stdout.startswith("install ok installed"):
        return None
    return result.stdout.split()[-1]


def purge_everything() -> None:
    """Leaves the machine as it was before the test: packages, their user,
    data and state dirs, conffiles and service symlinks."""
    for package in PACKAGES:
        sh("apt-get", "purge", "-y", "-q", package, check=False, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    for path in LEFTOVERS:
        if os.path.isdir(path):
            shutil.rmtree(path)
        elif os.path.exists(path):
            os.remove(path)
    for unit in ("restic-manager-agent.service", "restic-manager-server.service"):
        link = pathlib.Path("/etc/systemd/system/multi-user.target.wants") / unit
        if link.is_symlink():
            link.unlink()
    if sh("getent", "passwd", "restic-manager", check=False).returncode == 0:
        sh("deluser", "--system", "--quiet", "restic-manager", check=False)
    if sh("getent", "group", "restic-manager", check=False).returncode == 0:
        sh("delgroup", "--system", "--quiet", "restic-manager", check=False)


def unit_exec_start(unit_path: str) -> list[str]:
    """The unit's ExecStart as argv, with its EnvironmentFile's variables
    expanded the way systemd does for `$NAME` (split on whitespace)."""
    text = pathlib.Path(unit_path).read_text()
    line = re.search(r"^ExecStart=(.+)$", text, re.M).group(1)
    env: dict[str, str] = {}
    match = re.search(r"^EnvironmentFile=-?(.+)$", text, re.M)
    if match and os.path.exists(match.group(1)):
        for raw in pathlib.Path(match.group(1)).read_text().splitlines():
            if "=" in raw and not raw.lstrip().startswith("#"):
                key, value = raw.split("=", 1)
                env[key.strip()] = value.strip().strip('"')
    argv: list[str] = []
    for word in line.split():
        if word.startswith("$"):
            argv += env.get(word[1:].strip("{}"), "").split()
        else:
            argv.append(word)
    return argv


def unit_value(unit_path: str, key: str) -> str | None:
    match = re.search(rf"^{key}=(.*)$", pathlib.Path(unit_path).read_text(), re.M)
    return match.group(1) if match else None
