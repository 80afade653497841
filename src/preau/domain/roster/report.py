"""The import report: what each file did to each kind of record, and every refused row."""

from __future__ import annotations

from datetime import datetime

import msgspec

from preau.domain.roster.reasons import RejectedRow
from preau.domain.roster.records import FileMode, FileStatus


class FileReport(msgspec.Struct):
    """What one file did to one kind of record. Counts are of database records."""

    file: str
    entity: str  # "schools", "school years", "groups", "people", "parent links", "enrolments"
    mode: FileMode
    status: FileStatus
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deactivated: int = 0
    deleted: int = 0
    ignored: int = 0  # rows Préau does not store (districts, terms) or nothing to delete
    rejected: list[RejectedRow] = msgspec.field(default_factory=list)
    problem: RejectedRow | None = None

    @property
    def applied(self) -> bool:
        """True when every accepted row of the file was saved (rejected rows are listed)."""
        return self.status is FileStatus.APPLIED

    @property
    def changed(self) -> int:
        return self.created + self.updated + self.deactivated + self.deleted


class RosterReport(msgspec.Struct):
    source_name: str
    started_at: datetime
    seconds: float = 0.0
    import_id: int | None = None
    school_id: int | None = None  # a school admin's upload, limited to this school
    source_system: str = ""  # manifest source.systemName
    files: list[FileReport] = msgspec.field(default_factory=list)
    problems: list[RejectedRow] = msgspec.field(default_factory=list)  # whole-import problems

    @property
    def rejected(self) -> list[RejectedRow]:
        """Every rejected row, file by file in import order, by line within a file."""
        order: dict[str, int] = {}
        for report in self.files:
            order.setdefault(report.file, len(order))
        rows = [row for report in self.files for row in report.rejected]
        return sorted(rows, key=lambda row: (order.get(row.file, len(order)), row.line))

    @property
    def fully_applied(self) -> bool:
        return not self.problems and all(
            report.status in (FileStatus.APPLIED, FileStatus.ABSENT, FileStatus.NOT_READ)
            for report in self.files
        )

    @property
    def changed(self) -> int:
        return sum(report.changed for report in self.files)

    def summary(self) -> dict[str, object]:
        """The JSON stored in ``roster_imports.summary``."""
        return {
            "source_system": self.source_system,
            "seconds": round(self.seconds, 3),
            "fully_applied": self.fully_applied,
            "problems": [msgspec.to_builtins(problem) for problem in self.problems],
            "files": [
                {
                    "file": report.file,
                    "entity": report.entity,
                    "mode": str(report.mode),
                    "status": str(report.status),
                    "rows": report.rows,
                    "created": report.created,
                    "updated": report.updated,
                    "unchanged": report.unchanged,
                    "deactivated": report.deactivated,
                    "deleted": report.deleted,
                    "ignored": report.ignored,
                    "rejected": len(report.rejected),
                    "problem": msgspec.to_builtins(report.problem) if report.problem else None,
                }
                for report in self.files
            ],
        }
