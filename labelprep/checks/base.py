"""What a file or image check says about one path, before provenance (source, line, split) is attached."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Issue"]


@dataclass(frozen=True)
class Issue:
    """One problem with one file: a finding code from :data:`labelprep.report.CHECKS`, a message, a hint."""

    code: str
    message: str
    hint: str = ""
