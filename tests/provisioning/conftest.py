from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.sshd import SshServer, require_sshd, running_sshd


@pytest.fixture(scope="module")
def sshd_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshServer]:
    sshd = require_sshd()
    with running_sshd(sshd, tmp_path_factory.mktemp("sshd")) as server:
        yield server
