"""The command-line glue (progress bar, report tables) and the French catalogue of reasons."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po
from rich.console import Console

from preau import i18n
from preau.domain.roster.reasons import reject
from preau.domain.roster.records import FileMode, FileStatus
from preau.domain.roster.report import FileReport, RosterReport
from preau.roster_cli import RichProgress, render_report

SOURCE = Path(__file__).parent.parent.parent / "src" / "preau"
ROSTER_SOURCES = (
    *sorted(SOURCE.glob("domain/roster/*.py")),
    *sorted(SOURCE.glob("actions/roster/*.py")),
    SOURCE / "roster_cli.py",
)
CATALOGUE = SOURCE / "translations" / "fr" / "LC_MESSAGES" / "roster.po"


def sample_report() -> RosterReport:
    users = FileReport(
        "users.csv",
        "people",
        FileMode.BULK,
        FileStatus.APPLIED,
        rows=14,
        created=7,
        unchanged=2,
        rejected=[
            reject(
                "users.csv",
                8,
                "the role '{value}' is not a OneRoster role; use student, teacher, parent, "
                "guardian, administrator or aide.",
                value="wizard",
            )
        ],
    )
    classes = FileReport(
        "classes.csv",
        "groups",
        FileMode.BULK,
        FileStatus.ROLLED_BACK,
        rows=3,
        problem=reject(
            "classes.csv",
            0,
            "the database refused this file ({error}), so nothing from it was saved. The other "
            "files were imported as reported; fix the problem and import again.",
            error="disk full",
        ),
    )
    return RosterReport(
        source_name="export.zip",
        started_at=datetime(2026, 1, 5, tzinfo=UTC),
        seconds=1.25,
        import_id=7,
        files=[classes, users],
    )


def rendered(report: RosterReport, translate: Callable[[str], str]) -> str:
    console = Console(record=True, width=200, file=io.StringIO())
    render_report(report, console, translate=translate)
    return console.export_text()


def test_report_in_english() -> None:
    text = rendered(sample_report(), str)
    assert "Roster import: export.zip" in text
    assert re.search(r"users\.csv\s+│ people\s+│ bulk\s+│ applied\s+│\s+14 │\s+7 │", text)
    assert "rolled back: nothing saved" in text
    assert (
        "classes.csv: the database refused this file (disk full), so nothing from it was saved."
        in text
    )
    assert "Rejected rows (1):" in text
    assert "users.csv line 8: the role 'wizard' is not a OneRoster role" in text
    assert "Some files were not applied" in text


def test_report_in_french() -> None:
    text = rendered(sample_report(), i18n.translations("fr").gettext)
    assert "Import d’annuaire : export.zip" in text
    assert "personnes" in text
    assert "annulé : rien d’enregistré" in text
    assert "users.csv, ligne 8 : le rôle « wizard » n’est pas un rôle OneRoster" in text
    assert "Lignes refusées (1) :" in text


def test_a_clean_report_says_so() -> None:
    report = RosterReport(
        source_name="x",
        started_at=datetime(2026, 1, 5, tzinfo=UTC),
        seconds=0.5,
        files=[FileReport("orgs.csv", "schools", FileMode.BULK, FileStatus.APPLIED, unchanged=2)],
    )
    text = rendered(report, str)
    assert "Every file was applied in 0.5 s." in text
    assert "Nothing changed: the directory already held this data." in text


def test_progress_bar_follows_the_stages() -> None:
    output = io.StringIO()
    console = Console(file=output, width=100, force_terminal=False)
    with RichProgress(console, translate=str) as progress:
        progress("read", 0, 1)
        progress("read", 1, 1)
        progress("users.csv", 0, 10)
        progress("users.csv", 10, 10)
        progress("roles.csv", 0, 0)
    tasks = {task.description: task for task in progress.bar.tasks}
    assert tasks["reading the files"].completed == 1
    assert (tasks["users.csv"].completed, tasks["users.csv"].total) == (10, 10)
    assert tasks["roles.csv"].finished


def test_every_roster_message_has_a_french_translation() -> None:
    french = i18n.translations("fr")
    messages = {
        message
        for path in ROSTER_SOURCES
        for _line, message, _comments, _context in extract_from_file(
            "python", path, keywords={"N_": None}
        )
        if isinstance(message, str)  # N_ takes one string, never a plural pair
    }
    assert len(messages) > 90
    with CATALOGUE.open("rb") as po_file:
        catalogue = read_po(po_file, locale="fr")
    missing = sorted(
        message for message in messages if message not in catalogue or not catalogue[message].string
    )
    assert missing == [], "no French for:\n" + "\n".join(missing)
    # Every placeholder of the English survives in the French.
    for message in messages:
        assert set(re.findall(r"{\w+}", french.gettext(message))) == set(
            re.findall(r"{\w+}", message)
        ), message
