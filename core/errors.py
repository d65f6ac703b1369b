"""The project's own error for bad input data: it names the file, the row and the problem."""

from __future__ import annotations

from pathlib import Path


class DataError(ValueError):
    """Input data that cannot be used as it is; the message says where and why."""

    def __init__(self, problem: str, *, path: str | Path | None = None, line: int | None = None):
        self.problem = problem
        self.path = str(path) if path is not None else None
        self.line = line
        where = self.path or ""
        if line is not None:
            where = f"{where}, line {line}" if where else f"line {line}"
        super().__init__(f"{where}: {problem}" if where else problem)


class OptionError(ValueError):
    """An option (a command-line flag, a form field, a model option, a device) that cannot work as given: the
    command line answers it as argparse answers a malformed flag, with exit code 2."""
