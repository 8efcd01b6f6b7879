"""Log lines: JSON objects one per line (LOG_FORMAT=json, production's default) or readable console lines.

Every line goes through structlog's ProcessorFormatter, whether it was written with structlog
(`structlog.get_logger(__name__).info("order_placed", order_id=...)`) or with the standard library
(Django, Daphne, `logging.getLogger(__name__).warning("...")`), so all of them carry the same fields:
`timestamp` (UTC), `level`, `logger`, `event` (the message), plus whatever is bound in the current
context — `request_id` for the request or WebSocket being served (orderahead.request_context) and
`order_id` inside the order services (`binds_order_id`). A standard-library call can add fields with
`extra={"order_id": ...}`.
"""

import functools

import structlog
from django.core.exceptions import ImproperlyConfigured
from structlog.contextvars import bound_contextvars

FORMATS = ("json", "console")

# Run on every line, structlog's and the standard library's alike (for the latter as foreign_pre_chain).
_SHARED = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def _drop_request_objects(logger, method_name, event_dict: dict) -> dict:
    """Django's loggers pass the request object as `extra`; its repr says nothing the request's own line
    does not, so it is left out."""
    if not isinstance(event_dict.get("request"), str | None):
        del event_dict["request"]
    return event_dict


def _renderers(log_format: str) -> list:
    if log_format == "json":
        return [structlog.stdlib.ProcessorFormatter.remove_processors_meta, structlog.processors.format_exc_info,
                structlog.processors.JSONRenderer(sort_keys=False)]
    return [structlog.stdlib.ProcessorFormatter.remove_processors_meta, structlog.dev.ConsoleRenderer(colors=False)]


def formatter(log_format: str = "json") -> structlog.stdlib.ProcessorFormatter:
    """The formatter every handler uses (also what a test attaches to read the lines as JSON)."""
    return structlog.stdlib.ProcessorFormatter(
        processors=_renderers(log_format),
        foreign_pre_chain=[*_SHARED, structlog.stdlib.ExtraAdder(), _drop_request_objects],
    )


def logging_config(log_format: str, *, level: str, levels: dict[str, str] | None = None) -> dict:
    """Django's LOGGING: one handler on stdout with the structlog formatter, for the root logger (so
    Django's and Daphne's loggers too). Also configures structlog to hand its lines to that handler."""
    if log_format not in FORMATS:
        raise ImproperlyConfigured(f"LOG_FORMAT must be one of {', '.join(FORMATS)}, not {log_format!r}")
    configure_structlog()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"structured": {"()": formatter, "log_format": log_format}},
        "handlers": {"stdout": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout",
                                "formatter": "structured"}},
        "root": {"handlers": ["stdout"], "level": level},
        "loggers": {name: {"level": value} for name, value in (levels or {}).items()},
    }


def configure_structlog() -> None:
    """structlog hands each event to the standard library, whose handler renders it (one output path)."""
    structlog.configure(
        processors=[*_SHARED, structlog.processors.StackInfoRenderer(),
                    structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def binds_order_id(function):
    """Every line logged inside `function` carries `order_id`, taken from its `order` or `order_id`
    keyword argument (the order services are called with keywords only)."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        order_id = kwargs.get("order_id", getattr(kwargs.get("order"), "pk", None))
        if order_id is None:
            return function(*args, **kwargs)
        with bound_contextvars(order_id=order_id):
            return function(*args, **kwargs)

    return wrapper


get_logger = structlog.get_logger
