"""One error hierarchy: every problem labelprep raises says what, where and how to fix it."""

from __future__ import annotations

from typing import Any

__all__ = [
    "DATAFRAME_SOURCE",
    "ConflictError",
    "EngineError",
    "ExportRefused",
    "FormatDetectionError",
    "InputError",
    "LabelprepError",
    "MissingDependencyError",
    "OutputError",
    "SchemaError",
    "VocabularyError",
]


# How messages name an in-memory DataFrame source; its "line" is the 1-based row number, written "row N".
DATAFRAME_SOURCE = "<DataFrame>"


def place(file: str | None, line: int | None) -> str:
    """``file:line``, ``file``, or ``<DataFrame> row N`` for a DataFrame source; '' when nothing is known."""
    if not file:
        return ""
    if not line:
        return file
    return f"{file} row {line}" if file == DATAFRAME_SOURCE else f"{file}:{line}"


class LabelprepError(Exception):
    """Base class of every error labelprep raises on purpose.

    ``str(err)`` renders as ``<file>:<line>: <what> (<hint>)``, leaving out the
    parts that are unknown, which is what the CLI prints after ``Error:``.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.hint = hint

    def __str__(self) -> str:
        where = place(self.file, self.line)
        where = f"{where}: " if where else ""
        hint = f" ({self.hint})" if self.hint else ""
        return f"{where}{self.message}{hint}"


class InputError(LabelprepError):
    """The annotation source cannot be read: missing file or column, bad encoding, malformed text."""


class FormatDetectionError(InputError):
    """The annotation form could not be detected, or the forced form does not fit the source."""


class VocabularyError(LabelprepError):
    """A label is not in the declared vocabulary, or a vocabulary file is invalid."""


class ConflictError(LabelprepError):
    """The source says two incompatible things about one image (split, group, file content)."""


class SchemaError(LabelprepError):
    """A frame does not satisfy the schema built from its vocabulary."""

    def __init__(self, message: str, *, failures: list[str] | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.failures = failures or []


class OutputError(LabelprepError):
    """An output cannot be written: the disk is full (the message says how much more is needed), or the like."""


class MissingDependencyError(LabelprepError):
    """An optional dependency is needed; the hint gives the exact install command."""


class EngineError(LabelprepError):
    """The Dask engine cannot connect to its scheduler, or its workers cannot do the work (see the hint)."""


class ExportRefused(LabelprepError):
    """``export`` validated its input and found errors, so it wrote nothing; ``report`` holds every finding."""

    def __init__(self, report: Any, message: str | None = None, **kwargs: Any) -> None:
        errors = [f for f in report.findings if f.severity == "error"]
        first = f"; first: [{errors[0].code}] {errors[0].message}" if errors else ""
        super().__init__(message or f"export refused, nothing written: {report.summary_line()}{first}",
                         hint=kwargs.pop("hint", "fix the data (see labelprep validate), or pass --skip-invalid "
                                                 "to leave out rows whose image is unusable"), **kwargs)  # fmt: skip
        self.report = report
