"""What the service tells anyone about itself: its name, its version and the kinds of object its
topology graphs draw (clients that draw graphs ask which kinds to expect)."""

from __future__ import annotations

from dataclasses import dataclass

from app import __version__
from resolvers.topology import KINDS

NAME = "fleetgraph"


@dataclass(frozen=True)
class About:
    name: str
    version: str
    topology_kinds: tuple[str, ...]


def about() -> About:
    return About(name=NAME, version=__version__, topology_kinds=KINDS)
