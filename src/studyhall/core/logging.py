"""Structured logging: JSON lines (or a console renderer) carrying the request context.

Every request logs one line, so the path of a log call is kept short:

- a call below the level is dropped first thing (`filter_by_level`), before any processing;
- structlog renders its own events once, in its processor chain, and hands the finished line
  to the standard library, whose handler writes it as is (`_Formatter`); only records of
  other libraries (uvicorn, SQLAlchemy, asyncio) go through structlog's `ProcessorFormatter`;
- the standard library does not look up the calling frame, thread or process of a record
  (its documented optimisations): the lines do not show them.

Records still go through the standard library's loggers and handlers, so its level settings
and handlers (and pytest's `caplog`) see every event.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog

_SENSITIVE_KEYS = {"password", "token", "access_token", "refresh_token", "secret", "authorization"}
#: Marks a record whose message structlog has already rendered.
_RENDERED = "_studyhall_rendered"


def _redact_secrets(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        if key.lower() in _SENSITIVE_KEYS:
            event_dict[key] = "[redacted]"
    return event_dict


#: A `token=` query parameter (the notification socket's sign-in) in a logged URL.
_TOKEN_IN_QUERY = re.compile(r"([?&](?:access_)?token=)[^&\s\"]*", re.IGNORECASE)


class _QueryTokenFilter(logging.Filter):
    """Masks `?token=` in the URLs uvicorn logs (`"WebSocket /ws/notifications?token=..."`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _TOKEN_IN_QUERY.sub(r"\1[redacted]", arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
        if isinstance(record.msg, str):
            record.msg = _TOKEN_IN_QUERY.sub(r"\1[redacted]", record.msg)
        return True


class _CurrentStderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is now (test runners and CLIs swap it)."""

    @property
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass


class _Formatter(structlog.stdlib.ProcessorFormatter):
    """Lines structlog rendered pass through; other libraries' records are rendered here."""

    def format(self, record: logging.LogRecord) -> str:
        if record.__dict__.get(_RENDERED):
            return str(record.msg)
        return super().format(record)


def _hand_over_rendered(
    renderer: structlog.types.Processor,
) -> structlog.types.Processor:
    """The last processor: render the event, then pass the line to the standard library."""

    def hand_over(
        logger: Any, method: str, event_dict: MutableMapping[str, Any]
    ) -> tuple[tuple[Any, ...], Mapping[str, Any]]:
        line = renderer(logger, method, event_dict)
        return (line,), {"extra": {_RENDERED: True}}

    return hand_over


def _skip_record_lookups() -> None:
    """The standard library's documented logging optimisations: no caller frame, thread or
    process lookups for each record (our lines do not show them)."""
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False


def _filter_once(logger: logging.Logger, kind: type[logging.Filter]) -> None:
    if not any(isinstance(existing, kind) for existing in logger.filters):
        logger.addFilter(kind())


def configure_logging(level: str = "INFO", json: bool = True) -> None:
    _skip_record_lookups()
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _redact_secrets,
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.processors.format_exc_info,
            _hand_over_rendered(renderer),
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = _Formatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = _CurrentStderrHandler()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # uvicorn's access log duplicates our request log line.
    logging.getLogger("uvicorn.access").disabled = True
    # fontTools reports every table it subsets (PDF rendering) at INFO: a dozen lines per PDF.
    logging.getLogger("fontTools").setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    _filter_once(logging.getLogger("uvicorn.error"), _QueryTokenFilter)
