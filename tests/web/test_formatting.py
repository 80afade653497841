"""Numbers and states as a person reads them, in French and in English (issue 14)."""

from __future__ import annotations

import pytest

from preau import i18n
from preau.web.render import decimal_number, mark_out_of, state_label


@pytest.mark.parametrize(
    ("locale", "mark", "out_of", "shown"),
    [
        ("fr", 15.5, 20.0, "15,5\xa0/\xa020"),
        ("en", 15.5, 20.0, "15.5\xa0/\xa020"),
        ("fr", 14.0, 20.0, "14\xa0/\xa020"),
        ("fr", 7.25, None, "7,25"),
    ],
)
def test_marks_are_written_the_locale_s_way(
    locale: str, mark: float, out_of: float | None, shown: str
) -> None:
    token = i18n.current_locale.set(locale)
    try:
        assert mark_out_of(mark, out_of) == shown
    finally:
        i18n.current_locale.reset(token)


def test_no_useless_decimal_and_grouped_thousands() -> None:
    token = i18n.current_locale.set("fr")
    try:
        assert decimal_number(200.0) == "200"
        assert decimal_number(1234.5) == "1\u202f234,5"
        assert decimal_number(None) == ""
    finally:
        i18n.current_locale.reset(token)


@pytest.mark.parametrize(("locale", "shown"), [("fr", "rendu"), ("en", "turned in")])
def test_hand_in_states_are_words_not_codes(locale: str, shown: str) -> None:
    token = i18n.current_locale.set(locale)
    try:
        assert state_label("turned_in") == shown
    finally:
        i18n.current_locale.reset(token)
