"""A real OpenSSH server on a free loopback port, with its own host key, config and authorized keys.

Everything lives in a temporary directory: the system's sshd config, its host keys and the user's
~/.ssh are never read or written. When run as root, sshd insists on its privilege separation
directory (/run/sshd), which is created if missing, as the openssh-server service would.
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncssh
import pytest

from tests.support.server import free_port

REQUIRED_ENV = "FLEETGRAPH_TEST_SSHD"


def find_sshd() -> str | None:
    for candidate in ("/usr/sbin/sshd", shutil.which("sshd")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def require_sshd() -> str:
    """The sshd binary; skip (or fail, when FLEETGRAPH_TEST_SSHD is set) if there is none."""
    sshd = find_sshd()
    if sshd is None:
        if os.environ.get(REQUIRED_ENV):
            pytest.fail(f"{REQUIRED_ENV} is set but no sshd binary was found (install openssh-server)")
        pytest.skip("SSH tests need the OpenSSH server (/usr/sbin/sshd, Debian package openssh-server)")
    return sshd


@dataclass
class SshServer:
    host: str
    port: int
    username: str
    private_key: str
    directory: Path

    def authorize(self, public_key: str) -> None:
        with (self.directory / "authorized_keys").open("a") as keys:
            keys.write(public_key.strip() + "\n")


def _config(directory: Path, port: int, username: str) -> str:
    return "\n".join(
        [
            f"Port {port}",
            "ListenAddress 127.0.0.1",
            f"HostKey {directory / 'host_ed25519'}",
            f"PidFile {directory / 'sshd.pid'}",
            f"AuthorizedKeysFile {directory / 'authorized_keys'}",
            f"AllowUsers {username}",
            "StrictModes no",
            "UsePAM no",
            "PubkeyAuthentication yes",
            "PasswordAuthentication yes",
            "KbdInteractiveAuthentication no",
            "PermitRootLogin yes",
            "PermitEmptyPasswords no",
            "MaxStartups 64",
            "PrintMotd no",
            "LogLevel VERBOSE",
            "",
        ]
    )


def _write_secret(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    path.chmod(0o600)


def _wait_listening(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"sshd exited with status {process.returncode}:\n{log.read_text()}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"sshd did not listen on 127.0.0.1:{port}:\n{log.read_text()}")


@contextmanager
def running_sshd(sshd: str, directory: Path) -> Iterator[SshServer]:
    directory.mkdir(parents=True, exist_ok=True)
    username = getpass.getuser()
    _write_secret(directory / "host_ed25519", asyncssh.generate_private_key("ssh-ed25519").export_private_key())
    client_key = asyncssh.generate_private_key("ssh-ed25519")
    (directory / "authorized_keys").write_bytes(client_key.export_public_key())
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    port = free_port()
    (directory / "sshd_config").write_text(_config(directory, port, username))
    log = directory / "sshd.log"
    with log.open("wb") as stderr:
        process = subprocess.Popen([sshd, "-D", "-e", "-f", str(directory / "sshd_config")], stderr=stderr)
    try:
        _wait_listening(process, port, log)
        private_key = client_key.export_private_key().decode()
        yield SshServer("127.0.0.1", port, username, private_key, directory)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
