"""A kubesim cluster run in-process and stepped by hand: its clock moved on, its controllers run
until nothing is due, so a test reads its metrics at a moment it chose."""

from __future__ import annotations

import math
from dataclasses import dataclass

from kubesim import metrics
from kubesim.controllers.manager import ControllerManager
from kubesim.fleet import Fleet
from kubesim.server import Cluster


@dataclass
class SteppedCluster:
    fleet: Fleet
    cluster: Cluster
    manager: ControllerManager

    def run(self, seconds: float = 0.0) -> None:
        """Move the clock on and let the controllers do everything that has come due."""
        if seconds:
            self.cluster.state.clock.advance(seconds)
        self.manager.tick()
        while self.manager.process_one():
            pass

    def align(self, offset: float) -> None:
        """Move the clock to ``offset`` seconds after the next metrics sample time."""
        now = self.cluster.state.clock.now().timestamp()
        boundary = math.ceil(now / metrics.RESOLUTION) * metrics.RESOLUTION
        self.cluster.state.clock.advance(boundary - now + offset)
