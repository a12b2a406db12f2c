"""One exception root for everything mtk reports to a user.

The command-line layer maps these to one line on stderr and an exit code: ``MtkError`` and
its runtime subclasses exit 1, ``UsageError`` and its subclasses (bad option, unavailable
device, unreadable or invalid input, binary output to a terminal, refusing to overwrite)
exit 2. Library users catch ``MtkError``.
"""

from __future__ import annotations


class MtkError(Exception):
    """Root of mtk's expected errors; a runtime failure (exit code 1)."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message

    def __reduce__(self) -> tuple[object, ...]:  # keep the hint across worker processes
        return (type(self), (self.message,), {"hint": self.hint})


class UsageError(MtkError):
    """The command was asked for something it cannot do as asked (exit code 2)."""

    exit_code = 2


class InputError(UsageError):
    """An input file is missing, unreadable or not valid for the command (exit code 2)."""


class OutputExistsError(UsageError):
    """An output file exists and ``--force`` was not given (exit code 2)."""


class DeviceError(UsageError):
    """The requested compute device is not available (exit code 2)."""


class ModelError(MtkError):
    """A model cannot be found, verified or loaded (exit code 1)."""


class BadModelError(ModelError, UsageError):
    """The model asked for (``--model`` and the like) is unknown, for another task, or not a
    model file of the kind the command reads (exit code 2)."""


class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived (the CLI's handler raises it): the program unwinds, running
    every ``finally`` (temporary files are removed), then exits 128 + the signal number. A
    ``BaseException``, as ``KeyboardInterrupt`` is, so that ``except Exception`` lets it by."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum
