"""Read what the service logs as the JSON lines production writes (orderahead.logs' formatter)."""

import contextlib
import io
import json
import logging

from orderahead.logs import formatter


class JsonLines:
    def __init__(self, stream: io.StringIO):
        self.stream = stream

    def all(self) -> list[dict]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines() if line.strip()]

    def named(self, event: str) -> list[dict]:
        return [line for line in self.all() if line.get("event") == event]


@contextlib.contextmanager
def json_log_lines(level: int = logging.DEBUG):
    """with json_log_lines() as lines: ...; lines.all() -> every line logged meanwhile, parsed."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter("json"))
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(level)
    try:
        yield JsonLines(stream)
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
