"""What the command-line tools and their input files share: bad input is one
`error: ...` line and exit code 2, so every check raises the tool's own error
type (PlanError, ScenarioError) with a message that names the field."""

from __future__ import annotations

import argparse
import json
import math


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


def require(ok, message: str, *, error: type[Exception]) -> None:
    """Raise `error(message)` unless `ok`: one check of a JSON input field."""
    if not ok:
        raise error(message)


def number(value, where: str, minimum: float | None = None, strict: bool = False, *,
           error: type[Exception]) -> float:
    """A JSON number field (`where` names it in the messages) as a float, or `error`.

    Modules bind their error type once: `_number = partial(number, error=PlanError)`.

    Not a number (booleans included): "<where> must be a number"; NaN or infinite:
    "<where> must be finite". Below `minimum`, or at it when `strict`:
    "<where> must be >= 0, got -1" (or "> 0").
    """
    require(isinstance(value, (int, float)) and not isinstance(value, bool), f"{where} must be a number",
            error=error)
    require(math.isfinite(value), f"{where} must be finite", error=error)
    value = float(value)
    if minimum is not None:
        require(value > minimum if strict else value >= minimum,
                f"{where} must be {'>' if strict else '>='} {minimum:g}, got {value:g}", error=error)
    return value


def print_figures(figures: dict, *, as_json: bool, width: int) -> None:
    """A tool's result: one JSON line (`--json`), or one `name  value` line per figure, names right-aligned."""
    if as_json:
        print(json.dumps(figures))
    else:
        for name, value in figures.items():
            print(f"{name:>{width}}  {value}")
