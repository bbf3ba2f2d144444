"""The one rule for how a `seedgen` command fails, applied by the CLI group to every subcommand.

A user's mistake is shown as one line on stderr, `seedgen VERB: WHAT: WHY`, with no traceback, and sets the
exit code:
  0  everything succeeded;
  1  some inputs failed, or an output exists and --overwrite was not given;
  2  a usage error: a bad option, a missing input path, an empty input folder, an output that cannot be written.

An exception is a user's mistake when it carries an integer `exit_code` (1 or 2) — the domain errors of
augment, vectorize, seedgen and the bridge declare one, so no package needs to import this one — or when it is
click's usage error, or an OSError that names a file. Anything else is a bug and keeps its traceback.
`--debug` (or SEEDGEN_DEBUG=1) shows the traceback of every error.
"""
from __future__ import annotations

import os
import re
from contextlib import contextmanager
from typing import Iterator

import click

from augment.output import one_line

USAGE = 2
INPUT = 1


class UsageFailure(Exception):
    """A usage error found by a command itself (options that contradict each other, an empty folder)."""

    exit_code = USAGE


class ConfigError(ValueError):
    """An option value that cannot work (one-line message naming the option); any model family's options."""

    exit_code = USAGE


class InputFailure(Exception):
    """An input could not be used (and the command has nothing else to do)."""

    exit_code = INPUT


def debug_requested() -> bool:
    return os.environ.get("SEEDGEN_DEBUG", "").strip().lower() not in ("", "0", "false", "no")


def describe(error: BaseException) -> tuple[int, str] | None:
    """(exit code, 'WHAT: WHY') for a user's mistake; None for a bug."""
    if isinstance(error, click.ClickException):
        return USAGE, _click_message(error)
    code = getattr(error, "exit_code", None)
    if isinstance(code, int) and not isinstance(code, bool) and code in (INPUT, USAGE):
        return code, one_line(error)
    if isinstance(error, OSError) and error.filename is not None:
        return INPUT, f"{error.filename}: {(error.strerror or type(error).__name__).lower()}"
    return None


_PATH_PROBLEM = re.compile(r"^(?:File|Directory|Path) '(?P<path>.*)' (?P<why>.+?)\.?$")


def _click_message(error: click.ClickException) -> str:
    """click's several-line usage errors, as WHAT: WHY."""
    message = error.format_message() if not isinstance(error, click.BadParameter) else error.message
    param = getattr(error, "param", None)
    if isinstance(error, click.NoSuchOption):
        return f"{error.option_name}: no such option"
    if isinstance(error, click.MissingParameter):
        return f"{_param_name(param) if param else 'an argument'}: required"
    if isinstance(error, click.BadParameter):
        match = _PATH_PROBLEM.match(message)
        if match:
            why = match["why"]
            return f"{match['path']}: {'no such file or folder' if why == 'does not exist' else why}"
        hint = error.param_hint
        what = ("/".join(hint) if isinstance(hint, (list, tuple)) else hint) if hint else (
            _param_name(param) if param else "an option")
        return f"{what}: {message.rstrip('.')}"
    return message.rstrip(".")


def _param_name(param: click.Parameter) -> str:
    if isinstance(param, click.Option):  # its first long name, as declared
        return next((o for o in param.opts if o.startswith("--")), param.opts[0])
    return (param.human_readable_name or param.name or "argument").upper()


def report(verb: str | None, error: BaseException) -> int:
    """Print the one line for a user's mistake and return its exit code; re-raise a bug."""
    found = describe(error)
    if found is None or debug_requested():
        raise error
    code, text = found
    if os.environ.get("RANK", "0") != "0":
        return code  # one line from a multi-process run, not one per process
    click.echo(f"seedgen {verb}: {text}" if verb else f"seedgen: {text}", err=True)
    return code


@contextmanager
def output_folder(folder: str | os.PathLike | None) -> Iterator[None]:
    """Check before the work that `folder` can be written; remove it afterwards if this run made it and left it empty.

    A run whose every input failed, or that stopped on a usage error, so leaves nothing behind.
    """
    from augment.output import check_output_folder, remove_if_empty

    if folder is None:
        yield
        return
    created = check_output_folder(folder)
    try:
        yield
    finally:
        if created is not None:
            remove_if_empty(created)
