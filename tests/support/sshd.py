"""A real OpenSSH server on a free loopback port, with its own host key, config and authorized keys.

Everything lives in a temporary directory: the system's sshd config, its host keys and the user's
~/.ssh are never read or written. When run as root, sshd insists on its privilege separation
directory (/run/sshd), which is created if missing, as the openssh-server service would.

Given a `Machine`, the server stands in for one of a customer's machines: it runs in its own mount
and UTS namespaces (root only), with its own host name, its own copies of /etc, /usr, /var and the
home directory (overlays whose changes stay in the temporary directory; the home's shell start-up
files removed, so PATH stays as set), the given /etc/os-release
and files, and a directory of stand-in commands first on every session's PATH. Whatever a session
writes there never reaches the host.
"""

from __future__ import annotations

import getpass
import os
import shlex
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import asyncssh
import pytest

from tests.support.server import free_port

REQUIRED_ENV = "FLEETGRAPH_TEST_SSHD"
OVERLAID = ("etc", "usr", "var")
SHELL_FILES = (".bashrc", ".bash_profile", ".bash_login", ".profile")
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


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


def require_machines() -> str:
    """The sshd binary, when this process may give it a machine of its own (namespaces need root)."""
    sshd = require_sshd()
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        message = "SSH machines need root and unshare(1) to give each sshd its own /etc, /usr and /var"
        if os.environ.get(REQUIRED_ENV):
            pytest.fail(f"{REQUIRED_ENV} is set but {message}")
        pytest.skip(message)
    return sshd


@dataclass(frozen=True)
class Machine:
    hostname: str
    os_release: str
    commands: Path  # stand-in commands, first on PATH
    environment: dict[str, str] = field(default_factory=dict)  # for every session
    files: dict[str, str] = field(default_factory=dict)  # absolute path: content, written at start


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


def _config(directory: Path, port: int, username: str, host: str, machine: Machine | None) -> str:
    environment = {} if machine is None else {"PATH": f"{machine.commands}:{SYSTEM_PATH}", **machine.environment}
    return "\n".join(
        [
            f"Port {port}",
            f"ListenAddress {host}",
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
            *([_set_env(environment)] if environment else []),
            "",
        ]
    )


def _set_env(environment: dict[str, str]) -> str:
    """One SetEnv line: sshd takes only the first SetEnv it reads."""
    return "SetEnv " + " ".join(f'"{name}={value}"' for name, value in environment.items())


def _in_machine(command: list[str], directory: Path, machine: Machine) -> list[str]:
    """`command` run as the only process of a machine of its own (see the module's docstring)."""
    lines = ["set -e"]
    home = os.path.expanduser("~")
    for index, path in enumerate((*(f"/{name}" for name in OVERLAID), home)):
        upper, work = directory / "machine" / str(index), directory / "machine-work" / str(index)
        upper.mkdir(parents=True)
        work.mkdir(parents=True)
        lines.append(f"mount -t overlay overlay -o lowerdir={path},upperdir={upper},workdir={work} {shlex.quote(path)}")
    # a fresh machine's shell start-up files leave PATH alone
    lines.append("rm -f " + " ".join(shlex.quote(f"{home}/{name}") for name in SHELL_FILES))
    # /etc/os-release is a link into /usr: replace the link, never write through it
    files = {"/etc/os-release": machine.os_release, **machine.files}
    for index, (path, content) in enumerate(files.items()):
        source = directory / f"file-{index}"
        source.write_text(content)
        target = shlex.quote(path)
        lines += [f"mkdir -p $(dirname {target})", f"rm -f {target}", f"cp {source} {target}"]
    lines += [f"hostname {shlex.quote(machine.hostname)}", "exec " + shlex.join(command)]
    return ["unshare", "--mount", "--uts", "--propagation", "private", "sh", "-c", "\n".join(lines)]


def _write_secret(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    path.chmod(0o600)


def _wait_listening(process: subprocess.Popen[bytes], host: str, port: int, log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"sshd exited with status {process.returncode}:\n{log.read_text()}")
        with socket.socket() as probe:
            if probe.connect_ex((host, port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"sshd did not listen on {host}:{port}:\n{log.read_text()}")


@contextmanager
def running_sshd(
    sshd: str, directory: Path, *, host: str = "127.0.0.1", machine: Machine | None = None
) -> Iterator[SshServer]:
    directory.mkdir(parents=True, exist_ok=True)
    username = getpass.getuser()
    _write_secret(directory / "host_ed25519", asyncssh.generate_private_key("ssh-ed25519").export_private_key())
    client_key = asyncssh.generate_private_key("ssh-ed25519")
    (directory / "authorized_keys").write_bytes(client_key.export_public_key())
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    port = free_port()
    (directory / "sshd_config").write_text(_config(directory, port, username, host, machine))
    log = directory / "sshd.log"
    command = [sshd, "-D", "-e", "-f", str(directory / "sshd_config")]
    if machine is not None:
        command = _in_machine(command, directory, machine)
    with log.open("wb") as stderr:
        process = subprocess.Popen(command, stderr=stderr)
    try:
        _wait_listening(process, host, port, log)
        private_key = client_key.export_private_key().decode()
        yield SshServer(host, port, username, private_key, directory)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
