"""French first: every string Préau shows has a French translation; the locale is chosen
by an explicit switch, then the browser's preference."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from preau import i18n

ROOT = Path(__file__).parent.parent
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "lazy": None,
    "InvalidInput": None,
    "NotFound": None,
    "Forbidden": None,
    "Conflict": None,
    "NotAuthenticated": None,
    "TooManyAttempts": None,
    "PreauError": None,
    "ServiceUnavailable": None,
    "N_": None,
}


def source_messages() -> set[str]:
    method_map = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
    options = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    found: set[str] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        ROOT / "src" / "preau",
        method_map,
        options_map=options,
        keywords=KEYWORDS,
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return {m for m in found if m}


def french_messages() -> set[str]:
    translated: set[str] = set()
    for po_path in (i18n.CATALOGUES / "fr" / "LC_MESSAGES").glob("*.po"):
        with po_path.open("rb") as po_file:
            for message in read_po(po_file, locale="fr"):
                strings = message.string if isinstance(message.string, tuple) else (message.string,)
                if message.id and all(strings):
                    translated.add(message.id if isinstance(message.id, str) else message.id[0])
    return translated


def test_every_shown_string_has_a_french_translation() -> None:
    missing = sorted(source_messages() - french_messages())
    assert not missing, "no French for:\n" + "\n".join(missing)


@pytest.mark.parametrize(
    ("cookie", "header", "expected"),
    [
        (None, None, "fr"),
        (None, "en-GB,en;q=0.9", "en"),
        (None, "de-DE,de;q=0.9,en;q=0.5", "en"),
        (None, "de-DE", "fr"),
        (None, "en;q=0.4,fr;q=0.8", "fr"),
        ("en", "fr-FR", "en"),
        ("fr", "en-US", "fr"),
        ("xx", "en", "en"),
        (None, "en;q=zero", "fr"),
    ],
)
def test_negotiation(cookie: str | None, header: str | None, expected: str) -> None:
    assert i18n.negotiate(cookie, header) == expected
