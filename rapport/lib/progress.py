"""Progress of a long job in named phases, each with its own count.

The job says which phase it is in (`phase("write purchases", total)`) and
how far it got (`advance(n)`); where that goes is the caller's choice: a rich
bar on a terminal, a plain line every few seconds in a log or a pipe, a file
a web page polls, or nowhere. Framework-free.
"""

import sys
import time
from collections.abc import Callable
from typing import TextIO


class Progress:
    """Silent by default: the base class is also the "no progress" reporter."""

    def __init__(self) -> None:
        self.name = ""
        self.total: int | None = None
        self.done = 0
        self.phases: list[str] = []

    def phase(self, name: str, total: int | None = None) -> None:
        self.name, self.total, self.done = name, total, 0
        self.phases.append(name)
        self.changed(force=True)

    def advance(self, n: int = 1) -> None:
        self.done += n
        self.changed()

    def changed(self, force: bool = False) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Callback(Progress):
    """The older interface: a function told how many rows were done."""

    def __init__(self, callback: Callable[[int], None]) -> None:
        super().__init__()
        self.callback = callback

    def advance(self, n: int = 1) -> None:
        super().advance(n)
        self.callback(n)


class Lines(Progress):
    """A plain line when a phase starts and every `every` seconds within it:
    for logs and pipes, where a bar would be noise or nothing at all."""

    def __init__(self, prefix: str = "", out: TextIO | None = None, every: float = 3.0) -> None:
        super().__init__()
        self.prefix, self.out, self.every = prefix, out or sys.stdout, every
        self.last = 0.0

    def changed(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < self.every:
            return
        self.last = now
        count = f" {self.done:,}/{self.total:,}" if self.total else ""
        self.out.write(f"{self.prefix}{self.name}{count}\n")
        self.out.flush()


class Bar(Progress):
    """A rich bar per phase, on a terminal; the finished phases stay listed."""

    def __init__(self, console=None) -> None:
        super().__init__()
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
        )
        from rich.progress import Progress as RichProgress

        self.bar = RichProgress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        )
        self.bar.start()
        self.task = None

    def phase(self, name: str, total: int | None = None) -> None:
        self._finish()
        super().phase(name, total)
        self.task = self.bar.add_task(name, total=total)

    def advance(self, n: int = 1) -> None:
        super().advance(n)
        if self.task is not None:
            self.bar.advance(self.task, n)

    def _finish(self) -> None:
        if self.task is not None:
            # An indeterminate phase (a single SQL statement) shows done as 1/1.
            total = self.total or max(self.done, 1)
            self.bar.update(self.task, total=total, completed=total)

    def close(self) -> None:
        self._finish()
        self.bar.stop()


def for_output(out: TextIO, prefix: str = "") -> Progress:
    """A bar on a terminal, plain lines elsewhere."""
    if getattr(out, "isatty", lambda: False)():
        return Bar()
    return Lines(prefix, out)
