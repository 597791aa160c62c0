"""A real Prometheus (Debian's /usr/bin/prometheus) scraping simulated clusters with their bearer tokens.

Tests that need it skip when the binary is absent, unless FLEETGRAPH_TEST_PROMETHEUS is set (as CI
does), in which case its absence fails them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from tests.support.server import free_port

PROMETHEUS_ENV = "FLEETGRAPH_TEST_PROMETHEUS"


@dataclass(frozen=True)
class Target:
    """One scrape job: a cluster's address, its bearer token, and labels added to its series."""

    address: str
    token: str
    job: str = "kubesim"
    labels: dict[str, str] = field(default_factory=dict)


def prometheus_binary() -> str:
    found = shutil.which("prometheus") or ("/usr/bin/prometheus" if os.access("/usr/bin/prometheus", os.X_OK) else None)
    if found is None:
        if os.environ.get(PROMETHEUS_ENV):
            pytest.fail(f"{PROMETHEUS_ENV} is set but no prometheus binary was found (install Debian's prometheus)")
        pytest.skip("needs Prometheus (/usr/bin/prometheus, Debian package prometheus)")
    return found


@contextmanager
def running_prometheus(directory: Path, targets: Sequence[Target], scrape_interval: str = "1s") -> Iterator[str]:
    """A Prometheus scraping ``targets`` every ``scrape_interval``; yields its URL, stops it after."""
    binary = prometheus_binary()
    port = free_port()
    config = {
        "global": {"scrape_interval": scrape_interval, "scrape_timeout": scrape_interval},
        "scrape_configs": [
            {
                "job_name": target.job,
                "authorization": {"credentials": target.token},
                "static_configs": [{"targets": [target.address], "labels": dict(target.labels)}],
            }
            for target in targets
        ],
    }
    (directory / "prometheus.yml").write_text(yaml.safe_dump(config))
    log = (directory / "prometheus.log").open("w")
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={directory / 'prometheus.yml'}",
            f"--storage.tsdb.path={directory / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
