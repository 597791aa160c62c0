"""pods/exec over WebSocket (v5/v4.channel.k8s.io): a small fixed command set inside a fake container."""

from __future__ import annotations

import json
import shlex
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from . import errors

PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255

_FILES = {
    "/etc/os-release": 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\n'
                       'VERSION="12 (bookworm)"\nID=debian\n',
    "/etc/resolv.conf": "search {ns}.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\n"
                        "options ndots:5\n",
    "/etc/hostname": "{pod}\n",
    "/etc/hosts": "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n{ip}\t{pod}\n",
}
_DIRS = {
    "/": ["app", "bin", "dev", "etc", "home", "lib", "proc", "root", "sys", "tmp", "usr", "var"],
    "/etc": ["hostname", "hosts", "os-release", "passwd", "resolv.conf"],
    "/app": ["config.yaml", "server"],
    "/tmp": [],
    "/var": ["lib", "log", "run"],
}


def container_env(pod: dict[str, Any], container: dict[str, Any]) -> list[str]:
    env = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
           f"HOSTNAME={pod['metadata']['name']}", "KUBERNETES_SERVICE_HOST=10.96.0.1",
           "KUBERNETES_SERVICE_PORT=443", "HOME=/root"]
    for var in container.get("env") or []:
        if "value" in var:
            env.append(f"{var['name']}={var['value']}")
    return env


def run(pod: dict[str, Any], container: dict[str, Any], argv: list[str]) -> tuple[str, str, int]:
    """Run a command, or a `sh -c` line of commands joined by ; && ||: (stdout, stderr, exit code)."""
    if argv[:2] in (["sh", "-c"], ["/bin/sh", "-c"], ["bash", "-c"]) and len(argv) == 3:
        return _shell(pod, container, argv[2])
    return _command(pod, container, argv)


def _shell(pod: dict[str, Any], container: dict[str, Any], line: str) -> tuple[str, str, int]:
    lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|")
    lexer.whitespace_split = True
    out, err, code, words, joiner = "", "", 0, [], ";"
    for token in [*lexer, ";"]:
        if token not in (";", "&&", "||"):
            words.append(token)
            continue
        if words and (joiner == ";" or (joiner == "&&") == (code == 0)):
            o, e, code = _command(pod, container, words)
            out, err = out + o, err + e
        words, joiner = [], token
    return out, err, code


def _command(pod: dict[str, Any], container: dict[str, Any], argv: list[str]) -> tuple[str, str, int]:
    if not argv:
        return "", "", 0
    name = pod["metadata"]["name"]
    values = {"pod": name, "ns": pod["metadata"].get("namespace", ""),
              "ip": (pod.get("status") or {}).get("podIP", "10.244.0.2")}
    cmd, args = argv[0].rsplit("/", 1)[-1], argv[1:]
    if cmd == "echo":
        newline = args[:1] != ["-n"]
        words = args[1:] if not newline else args
        return " ".join(words) + ("\n" if newline else ""), "", 0
    if cmd == "hostname":
        return name + "\n", "", 0
    if cmd in ("env", "printenv"):
        return "".join(line + "\n" for line in container_env(pod, container)), "", 0
    if cmd in ("true", "false"):
        return "", "", 0 if cmd == "true" else 1
    if cmd == "pwd":
        return "/\n", "", 0
    if cmd == "whoami":
        return "root\n", "", 0
    if cmd == "ls":
        return _ls(args)
    if cmd == "cat":
        return _cat(args, values)
    return "", "", -1


def _ls(args: list[str]) -> tuple[str, str, int]:
    paths = [a for a in args if not a.startswith("-")] or ["/"]
    out, err, code = "", "", 0
    for path in paths:
        norm = path.rstrip("/") or "/"
        if norm in _DIRS:
            out += "".join(entry + "\n" for entry in _DIRS[norm])
        elif norm in _FILES:
            out += norm + "\n"
        else:
            err += f"ls: cannot access '{path}': No such file or directory\n"
            code = 2
    return out, err, code


def _cat(args: list[str], values: dict[str, str]) -> tuple[str, str, int]:
    out, err, code = "", "", 0
    for path in args:
        if path in _FILES:
            out += _FILES[path].format(**values)
        elif path in _DIRS:
            err += f"cat: {path}: Is a directory\n"
            code = 1
        else:
            err += f"cat: {path}: No such file or directory\n"
            code = 1
    return out, err, code


def exit_status(code: int, argv: list[str]) -> dict[str, Any]:
    if code == 0:
        return {"metadata": {}, "status": "Success"}
    if code < 0:
        return {"metadata": {}, "status": "Failure", "reason": "InternalError",
                "message": f'Internal error occurred: error executing command in container: failed to exec in '
                           f'container: OCI runtime exec failed: exec failed: unable to start container process: '
                           f'exec: "{argv[0]}": executable file not found in $PATH: unknown',
                "details": {"causes": [{"message": "executable file not found"}]}}
    return {"metadata": {}, "status": "Failure", "reason": "NonZeroExitCode",
            "message": f"command terminated with non-zero exit code: error executing command {argv}, exit code "
                       f"{code}",
            "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]}}


def resolve(cluster: Any, namespace: str, name: str, wanted: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
    rt = cluster.state.resources.get("", "v1", "pods")
    pod = cluster.state.get(rt, namespace, name)
    if pod is None:
        raise errors.not_found("", "pods", name)
    containers = (pod.get("spec") or {}).get("containers") or []
    if wanted:
        container = next((c for c in containers if c.get("name") == wanted), None)
        if container is None:
            raise errors.bad_request(f"container {wanted} is not valid for pod {name}")
    else:
        container = containers[0]
    if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        raise errors.bad_request(f"cannot exec into a container in a completed pod; current phase is "
                                 f"{pod['status']['phase']}")
    return pod, container


async def websocket_endpoint(websocket: WebSocket) -> None:
    cluster = websocket.app.state.cluster
    if websocket.headers.get("authorization", "") != f"Bearer {cluster.token}":
        await websocket.close(code=1008)
        return
    offered = websocket.scope.get("subprotocols") or []
    protocol = next((p for p in PROTOCOLS if p in offered), None)
    params = websocket.query_params
    try:
        pod, container = resolve(cluster, websocket.path_params["namespace"], websocket.path_params["name"],
                                 params.get("container"))
    except errors.ApiError:
        await websocket.close(code=1008)
        return
    if protocol is None:
        await websocket.close(code=1002)
        return
    await websocket.accept(subprotocol=protocol)
    argv = params.getlist("command")
    if argv and argv[0].rsplit("/", 1)[-1] == "cat" and len(argv) == 1 and params.get("stdin") in ("1", "true"):
        await _relay_stdin(websocket)
        code = 0
    else:
        out, err, code = run(pod, container, argv)
        if out:
            await websocket.send_bytes(bytes([STDOUT]) + out.encode())
        if err:
            await websocket.send_bytes(bytes([STDERR]) + err.encode())
    await websocket.send_bytes(bytes([ERROR]) + json.dumps(exit_status(code, argv)).encode())
    await websocket.close()


async def _relay_stdin(websocket: WebSocket) -> None:
    try:
        while True:
            data = await websocket.receive_bytes()
            if not data:
                continue
            if data[0] == STDIN and len(data) > 1:
                await websocket.send_bytes(bytes([STDOUT]) + data[1:])
            elif data[0] == CLOSE:
                return
    except WebSocketDisconnect:
        return
