"""Library logging: silent unless the application configures ``logging`` or structlog.

structlog's advice for libraries is to log through the standard library and leave all
configuration to the application. So a logger made here is structlog's ``stdlib`` wrapper
over ``logging.getLogger(name)``, and the library adds no handler but the `logging.NullHandler`
the ``logging`` documentation asks libraries to add (without it, Python's "last resort"
handler would print warnings to stderr of an application that configured nothing):

- nothing configured: nothing is printed, and every call below the logger's level stops at
  the first processor;
- ``logging`` configured: records arrive with the event as their message and the bound
  context (``system``, ``actor``, ``message_type``, ``correlation_id``, ...) as record
  attributes, ready for a plain formatter or ``structlog.stdlib.ProcessorFormatter``;
- structlog configured (before the logger is made): the application's own pipeline.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, cast

import structlog
import structlog.stdlib

if TYPE_CHECKING:
    from structlog.typing import EventDict, FilteringBoundLogger, WrappedLogger

__all__ = ["get_logger"]

# Attributes every LogRecord has: `logging` refuses an `extra` that would overwrite one.
_RECORD_ATTRIBUTES = frozenset(
    logging.LogRecord("", logging.INFO, "", 0, "", None, None).__dict__
) | {"message", "asctime"}


def _to_log_call(
    _: WrappedLogger, __: str, event_dict: EventDict
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The last processor: the event becomes the record's message, the context its extras.

    A context key that clashes with a record attribute (``name``, ``module``, ...) gets a
    trailing underscore rather than making ``logging`` raise in the caller's task.
    """
    event = event_dict.pop("event", "")
    kwargs: dict[str, Any] = {}
    for key in ("exc_info", "stack_info"):
        if key in event_dict:
            kwargs[key] = event_dict.pop(key)
    kwargs["extra"] = {
        (f"{key}_" if key in _RECORD_ATTRIBUTES else key): value
        for key, value in event_dict.items()
    }
    return (event,), kwargs


_PROCESSORS: list[Any] = [structlog.stdlib.filter_by_level, _to_log_call]


def _install_null_handler(logger: logging.Logger) -> None:
    if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
        logger.addHandler(logging.NullHandler())


def _resolve(name: str, context: dict[str, Any]) -> Any:
    if structlog.is_configured():
        return structlog.get_logger(name, **context)
    stdlib = logging.getLogger(name)
    _install_null_handler(logging.getLogger(name.partition(".")[0]))
    return structlog.stdlib.BoundLogger(stdlib, _PROCESSORS, context)


class _LibraryLogger:
    """Resolved at each call, so the configuration the application makes at any time (even
    after this logger was made, e.g. at import) applies; `bind` just adds context."""

    __slots__ = ("_context", "_name")

    def __init__(self, name: str, context: dict[str, Any]) -> None:
        self._name = name
        self._context = context

    def bind(self, **context: Any) -> _LibraryLogger:
        return _LibraryLogger(self._name, {**self._context, **context})

    def new(self, **context: Any) -> _LibraryLogger:
        return _LibraryLogger(self._name, context)

    def unbind(self, *keys: str) -> _LibraryLogger:
        return _LibraryLogger(self._name, {k: v for k, v in self._context.items() if k not in keys})

    def __getattr__(self, method: str) -> Any:
        return getattr(_resolve(self._name, dict(self._context)), method)

    def __repr__(self) -> str:
        return f"<mesh_actors logger {self._name!r} {self._context!r}>"


def get_logger(name: str, /, **context: Any) -> FilteringBoundLogger:
    """A structlog logger named ``name`` (a ``logging`` logger name such as
    ``"mesh_actors"`` or ``"chains.mesh"``) with ``context`` bound.

    Silent unless the application configures ``logging`` or structlog (see the module
    docstring); which of the two applies is decided at each log call, so the logger may be
    made at import time and configured later. Neither this nor `bind` touches the logging
    configuration; the first log call adds the `logging.NullHandler` (once per top-level
    name). Raises nothing. Not meant for the per-message path: each call resolves the
    configuration (the runtime logs per message only with ``debug=True``).
    """
    return cast("FilteringBoundLogger", _LibraryLogger(name, dict(context)))
