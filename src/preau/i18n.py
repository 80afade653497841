"""French first, English second: message catalogues, locale negotiation, ``gettext``.

Source strings are English; ``translations/fr/LC_MESSAGES/*.po`` hold French, one file
per area (``messages.po``, ``gate.po``, ``roster.po``…), merged into one catalogue.
Catalogues are read from the ``.po`` files at start-up, so there is no compile step.
The locale of the current request lives in a context variable set by the web layer.
"""

from __future__ import annotations

import io
from contextvars import ContextVar
from functools import cache, lru_cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALES = ("fr", "en")
DEFAULT_LOCALE = "fr"
CATALOGUES = Path(__file__).parent / "translations"

current_locale: ContextVar[str] = ContextVar("preau_locale", default=DEFAULT_LOCALE)


@cache
def translations(locale: str) -> NullTranslations:
    po_paths = sorted((CATALOGUES / locale / "LC_MESSAGES").glob("*.po"))
    if not po_paths:
        return NullTranslations()
    merged: Catalog | None = None
    for po_path in po_paths:
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=locale)
        if merged is None:
            merged = catalog
            continue
        for message in catalog:
            if message.id and message.string:
                merged[message.id] = message
    assert merged is not None
    buffer = io.BytesIO()
    write_mo(buffer, merged)
    buffer.seek(0)
    return Translations(buffer)


def gettext(message: str) -> str:
    return translations(current_locale.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current_locale.get()).ngettext(singular, plural, n)


def lazy(message: str) -> str:
    """Mark a module-level string for extraction; translate it with :func:`gettext` later."""
    return message


@lru_cache(maxsize=1024)  # a few distinct headers are most of the traffic
def negotiate(
    cookie_value: str | None, accept_language: str | None, *, default: str = DEFAULT_LOCALE
) -> str:
    """Pick the locale: an explicit choice (cookie), then the browser's preference, then the
    default (French unless the site says otherwise)."""
    if cookie_value in LOCALES:
        return cookie_value
    if accept_language:
        ranked: list[tuple[float, int, str]] = []
        for index, part in enumerate(accept_language.split(",")[:20]):
            tag, _, params = part.strip().partition(";")
            quality = 1.0
            if params.strip().startswith("q="):
                try:
                    quality = float(params.strip()[2:])
                except ValueError:
                    quality = 0.0
            language = tag.strip().lower().split("-")[0]
            if language in LOCALES and quality > 0:
                ranked.append((-quality, index, language))
        if ranked:
            return min(ranked)[2]
    return default if default in LOCALES else DEFAULT_LOCALE
