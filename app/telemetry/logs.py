"""Logging through structlog: JSON lines for machines (the default), a plain console format for
the demo. Lines of the standard library's loggers (ours, uvicorn's, alembic's) go through the same
processors, so every line has a timestamp, a level, its logger and the request it belongs to."""

from __future__ import annotations

import logging
import sys
from typing import IO, Any

import structlog

FORMATS = ("json", "console")


def _processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.ExtraAdder(),
    ]


def configure_logging(level: str = "INFO", fmt: str = "json", stream: IO[str] | None = None) -> None:
    """Route every logger through structlog's renderer for `fmt` (``json`` or ``console``), to
    `stream` (standard error by default)."""
    final: list[Any] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if fmt == "console":
        final.append(structlog.dev.ConsoleRenderer(colors=False))
    else:
        final += [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
    shared = _processors()
    formatter = structlog.stdlib.ProcessorFormatter(foreign_pre_chain=shared, processors=final)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # our access line replaces uvicorn's
    logging.getLogger("alembic").setLevel(logging.WARNING)  # its plugin set-up is not news
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


