from __future__ import annotations

import networkx as nx
import pytest

from app.topology import build
from tests.topology.fixtures import Objects, cluster_objects


@pytest.fixture(scope="session")
def objects() -> Objects:
    return cluster_objects()


@pytest.fixture(scope="session")
def graph(objects: Objects) -> nx.MultiDiGraph:
    return build(objects)
