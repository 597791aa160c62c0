"""Files the service keeps on disk (the SQLite database, the demo's secret key) are readable by
their owner only: they hold password hashes, sealed kubeconfigs and the key that unseals them."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import make_url

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dir(path: Path) -> Path:
    """Create `path` (and its parents) if missing; a directory we create is the owner's alone."""
    if not path.exists():
        path.mkdir(parents=True, mode=DIR_MODE)
        os.chmod(path, DIR_MODE)  # mkdir's mode is masked by the umask
    return path


def private_file(path: Path) -> Path:
    """Make sure `path` exists with mode 0600, creating it empty, and tightening an older one."""
    descriptor = os.open(path, os.O_CREAT | os.O_WRONLY, FILE_MODE)
    os.close(descriptor)
    os.chmod(path, FILE_MODE)
    return path


def write_private(path: Path, text: str) -> None:
    """Write `text` to a file that is never readable by others, not even for a moment."""
    descriptor = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, FILE_MODE)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    os.chmod(path, FILE_MODE)


def sqlite_file(database_url: str) -> Path | None:
    """The file of a SQLite database URL, or None for other databases and in-memory SQLite."""
    url = make_url(database_url)
    if not url.get_backend_name().startswith("sqlite") or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def prepare_database_file(database_url: str) -> None:
    """Create a SQLite database's file as the owner's alone before SQLite does (SQLite gives its
    journal and WAL files the database file's mode)."""
    path = sqlite_file(database_url)
    if path is not None:
        private_file(path)
