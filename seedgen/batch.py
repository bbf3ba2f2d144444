"""A batch of inputs processed one by one: failures are reported, the rest goes on, a summary ends it.

Commands that take many files (augment, dataset, vectorize, eval) share this so every one of them speaks
the same way (seedgen.failure's rule): one line `seedgen VERB: path: reason` per failed input on stderr, a
summary `seedgen VERB: N ok, M failed` at the end, and exit code 1 when anything failed (0 when all succeeded).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import click

from augment.output import one_line


@dataclass
class BatchReport:
    """Counts successes and collects one-line failures for a batch command."""

    verb: str
    quiet: bool = False
    succeeded: int = 0
    skipped: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)

    def ok(self, count: int = 1) -> None:
        self.succeeded += count

    def skip(self, path: str | Path, reason: str) -> None:
        self.skipped += 1
        if not self.quiet:
            click.echo(f"seedgen {self.verb}: {path}: skipped: {reason}", err=True)

    def fail(self, path: str | Path, reason: str | BaseException) -> None:
        text = reason if isinstance(reason, str) else one_line(reason)
        self.failures.append((str(path), text))
        click.echo(f"seedgen {self.verb}: {path}: {text}", err=True)

    @property
    def exit_code(self) -> int:
        return 1 if self.failures else 0

    def summary(self) -> str:
        parts = [f"seedgen {self.verb}: {self.succeeded} ok", f"{len(self.failures)} failed"]
        if self.skipped:
            parts.append(f"{self.skipped} skipped")
        return ", ".join(parts)

    def finish(self) -> int:
        """Print the summary and return the exit code."""
        click.echo(self.summary(), err=bool(self.failures))
        return self.exit_code

