"""What the command-line tools share: bad input is one `error: ...` line and exit code 2."""

from __future__ import annotations

import argparse
import json


def one_line_parser(error: type[Exception]):
    """An ArgumentParser class whose errors raise `error` (argparse would print the usage too)."""

    class Parser(argparse.ArgumentParser):
        def error(self, message):
            raise error(message)

    return Parser


def load_json_file(path: str, what: str, error: type[Exception]):
    """Read a JSON file; any way it can fail becomes `error` with a message naming the file."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise error(f"{what} file not found: {path}") from None
    except IsADirectoryError:
        raise error(f"{what} path is a directory: {path}") from None
    except json.JSONDecodeError as exc:
        raise error(f"{what} file {path} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"cannot read {what} file {path}: {exc}") from None
