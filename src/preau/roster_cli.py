"""Command-line glue for ``preau import-roster``: a rich progress bar to pass as the import's
``progress`` callback, and the import report rendered as tables."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table
from rich.text import Text

from preau.domain.roster.reasons import N_
from preau.domain.roster.records import FileStatus
from preau.domain.roster.report import RosterReport
from preau.i18n import gettext

#: Rejected rows printed in full; the rest are counted (all of them are in the stored report).
SHOWN_REJECTED = 200

_STATUS_LABELS = {
    FileStatus.APPLIED: (N_("applied"), "green"),
    FileStatus.ROLLED_BACK: (N_("rolled back: nothing saved"), "bold red"),
    FileStatus.REFUSED: (N_("not read"), "bold red"),
    FileStatus.ABSENT: (N_("absent"), "dim"),
    FileStatus.NOT_READ: (N_("not read"), "yellow"),
}

_ENTITIES = {
    "schools": N_("schools"),
    "school years": N_("school years"),
    "groups": N_("classes and groups"),
    "people": N_("people"),
    "parent links": N_("parent links"),
    "roles": N_("roles"),
    "courses": N_("courses"),
    "enrolments": N_("enrolments"),
}


class RichProgress:
    """A progress bar per stage of the import, for ``import_roster(progress=…)``::

    with RichProgress(console) as progress:
        report = await import_roster(engine, path, now=now, progress=progress)
    """

    def __init__(
        self, console: Console | None = None, translate: Callable[[str], str] = gettext
    ) -> None:
        self.translate = translate
        self.bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=console,
            transient=False,
        )
        self.tasks: dict[str, TaskID] = {}

    def __enter__(self) -> RichProgress:
        self.bar.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.bar.stop()

    def __call__(self, stage: str, done: int, total: int) -> None:
        task = self.tasks.get(stage)
        description = self.translate(N_("reading the files")) if stage == "read" else stage
        if task is None:
            task = self.bar.add_task(description, total=max(total, 1))
            self.tasks[stage] = task
        # A stage with nothing to write shows as complete rather than empty.
        self.bar.update(task, total=max(total, 1), completed=done if total else 1)


def render_report(  # noqa: C901,PLR0912 - one row per file status of the report
    report: RosterReport, console: Console, translate: Callable[[str], str] = gettext
) -> None:
    """Print the report: one line per file and kind of record, then every problem."""
    _ = translate
    title = _(N_("Roster import: {source}")).format(source=report.source_name)
    table = Table(title=title, title_justify="left")
    for header, justify in (
        (N_("File"), "left"),
        (N_("Records"), "left"),
        (N_("Mode"), "left"),
        (N_("Status"), "left"),
        (N_("Rows"), "right"),
        (N_("Created"), "right"),
        (N_("Updated"), "right"),
        (N_("Unchanged"), "right"),
        (N_("Deactivated"), "right"),
        (N_("Deleted"), "right"),
        (N_("Ignored"), "right"),
        (N_("Rejected"), "right"),
    ):
        table.add_column(_(header), justify=justify)  # type: ignore[arg-type]  # rich's justify takes these literals; the variable is a str
    for file in report.files:
        label, style = _STATUS_LABELS[file.status]
        counted = file.status in (FileStatus.APPLIED, FileStatus.ROLLED_BACK)
        numbers = (
            [
                file.created,
                file.updated,
                file.unchanged,
                file.deactivated,
                file.deleted,
                file.ignored,
            ]
            if counted
            else []
        )
        table.add_row(
            file.file,
            _(_ENTITIES[file.entity]) if file.entity in _ENTITIES else "",
            str(file.mode),
            Text(_(label), style=style),
            str(file.rows) if counted else "",
            *[str(number) if number else "" for number in numbers],
            *([""] * (6 - len(numbers))),
            Text(str(len(file.rejected)), style="red") if file.rejected else "",
        )
    console.print(table)

    for problem in report.problems:
        console.print(Text(problem.describe(_), style="bold red"))
    for file in report.files:
        if file.problem is not None and file.status is not FileStatus.ABSENT:
            style = "yellow" if file.status is FileStatus.NOT_READ else "bold red"
            console.print(Text(file.problem.describe(_), style=style))

    rejected = report.rejected
    if rejected:
        console.print()
        console.print(
            Text(_(N_("Rejected rows ({count}):")).format(count=len(rejected)), style="bold")
        )
        for row in rejected[:SHOWN_REJECTED]:
            console.print(Text("  " + row.describe(_)))
        if len(rejected) > SHOWN_REJECTED:
            console.print(
                _(N_("… and {count} more; the full list is in import report {id}.")).format(
                    count=len(rejected) - SHOWN_REJECTED, id=report.import_id
                )
            )

    console.print()
    if report.fully_applied:
        if rejected:
            template = N_("Every file was applied in {seconds} s, except the rejected rows above.")
        else:
            template = N_("Every file was applied in {seconds} s.")
        verdict = _(template).format(seconds=f"{report.seconds:.1f}")
        console.print(Text(verdict, style="green"))
    else:
        console.print(
            Text(
                _(
                    N_(
                        "Some files were not applied: read the messages above, fix the files and "
                        "import again. Importing the same files again is safe."
                    )
                ),
                style="bold red",
            )
        )
    if report.changed == 0 and not report.problems:
        console.print(_(N_("Nothing changed: the directory already held this data.")))
