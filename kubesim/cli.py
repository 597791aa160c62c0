"""`python -m kubesim`: serve a fleet of simulated clusters until interrupted."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
from pathlib import Path

from .fleet import Fleet


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kubesim", description="Serve simulated Kubernetes clusters.")
    p.add_argument("--clusters", type=int, default=1)
    p.add_argument("--profile", choices=["small", "large", "empty"], default="small")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--port", type=int, default=0, help="first port; cluster i listens on port+i (0: free ports)")
    p.add_argument("--kubeconfig-out", type=Path, default=Path("kubeconfigs"))
    p.add_argument("--tls", action="store_true", help="serve HTTPS with a self-signed CA written to the kubeconfig")
    p.add_argument("--control", action="store_true", help="enable the control API on its own port")
    p.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second")
    return p


async def serve(args: argparse.Namespace) -> None:
    profile = None if args.profile == "empty" else args.profile
    fleet = Fleet(args.clusters, profile, args.seed, speed=args.speed, tls=args.tls, control=args.control,
                  kubeconfig_dir=args.kubeconfig_out, port=args.port)
    await fleet.start()
    try:
        for cluster in fleet.clusters:
            print(f"{cluster.name}\t{fleet.server_url(cluster.name)}\t{fleet.kubeconfigs[cluster.name]}", flush=True)
        if not args.tls:
            print("note: kubectl sends bearer tokens only over HTTPS; start with --tls to use kubectl", flush=True)
        if fleet.control_port:
            print(f"control\thttp://127.0.0.1:{fleet.control_port}", flush=True)
        await asyncio.Event().wait()
    finally:
        await fleet.stop()


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = parser().parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args))
