"""Every sentence the gate shows has its French translation in ``gate.po``."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from preau import i18n

SOURCE = Path(__file__).parents[2] / "src" / "preau" / "gate"
CATALOGUE = i18n.CATALOGUES / "fr" / "LC_MESSAGES" / "gate.po"
METHODS = [
    ("**.py", "python"),
    ("**/templates/**.html", "jinja2"),
]


def test_every_gate_message_is_translated() -> None:
    with CATALOGUE.open("rb") as po_file:
        catalogue = read_po(po_file, locale="fr")
    extracted = extract_from_dir(
        str(SOURCE),
        method_map=METHODS,
        options_map={"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}},
        keywords={"_": None, "gettext": None, "ngettext": (1, 2)},
    )
    missing = []
    for _filename, _line, message, _comments, _context in extracted:
        key = message[0] if isinstance(message, tuple) else message
        entry = catalogue.get(key)
        if (
            entry is None
            or not entry.string
            or (isinstance(entry.string, tuple) and not all(entry.string))
        ):
            missing.append(key)
    assert missing == []


def test_french_is_the_default_and_english_the_source() -> None:
    token = i18n.current_locale.set("fr")
    try:
        assert i18n.gettext("You are in the waiting room") == "Vous êtes dans la salle d’attente"
    finally:
        i18n.current_locale.reset(token)
    token = i18n.current_locale.set("en")
    try:
        assert i18n.gettext("You are in the waiting room") == "You are in the waiting room"
    finally:
        i18n.current_locale.reset(token)
