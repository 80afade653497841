"""French first: every string Préau shows has a French translation; the locale is chosen
by an explicit switch, then the browser's preference."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir

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
}


def source_messages() -> set[str]:
    method_map = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
    options = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    found: set[str] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        ROOT / "src" / "preau",
        method_map,
        options_map=options,
        keywords=KEYWORDS,  # type: ignore[arg-type]
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return {m for m in found if m}


def test_every_shown_string_has_a_french_translation() -> None:
    french = i18n.translations("fr")
    missing = sorted(
        m
        for m in source_messages()
        if french.gettext(m) == m and m[:1].isalpha() and m not in {"Actions", "Pages", "Conflict"}
    )
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
