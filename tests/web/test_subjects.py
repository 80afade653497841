"""Subjects are shown with an icon and a colour besides their name: the choice is stable,
the markup escapes the name, and every subject colour of preau.css is AA (4.5:1) on the
page and card backgrounds in light and dark mode."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from preau.web.subject_icons import ICONS
from preau.web.subjects import COLOURS, DEFAULT_ICON, RULES, subject_style, subject_tag

CSS = (Path(__file__).parents[2] / "src" / "preau" / "web" / "static" / "preau.css").read_text()


@pytest.mark.parametrize(
    ("name", "icon"),
    [
        ("Mathématiques", "calculator"),
        ("Français", "book-open"),
        ("Histoire-géographie", "globe"),
        ("Anglais LV1", "languages"),
        ("Physique-chimie", "flask-conical"),
        ("SVT", "leaf"),
        ("EPS", "dumbbell"),
        ("Latin", "landmark"),
        ("Option théâtre", DEFAULT_ICON),
    ],
)
def test_each_subject_has_its_icon(name: str, icon: str) -> None:
    assert subject_style(name)[0] == icon
    assert subject_style(name) == subject_style(name.upper())  # stable, case aside


def test_every_icon_named_is_there_and_the_name_is_escaped() -> None:
    assert {icon for _words, icon, _colour in RULES} | {DEFAULT_ICON} <= set(ICONS)
    tag = str(subject_tag("<b>Maths</b>"))
    assert "&lt;b&gt;Maths&lt;/b&gt;" in tag
    assert 'aria-hidden="true"' in tag  # the name says it; the icon is decoration
    assert str(subject_tag(None)) == ""


def luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(one: str, other: str) -> float:
    high, low = sorted((luminance(one), luminance(other)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_subject_colours_are_aa_in_light_and_dark() -> None:
    # In preau.css the light colours come first, then those of the dark media query.
    found = re.findall(r"\.subject-c(\d) \{ --subject: (#[0-9a-f]{6}); \}", CSS)
    assert len(found) == 2 * COLOURS, found
    for mode, colours, which in (("light", found[:COLOURS], 0), ("dark", found[COLOURS:], 1)):
        grounds = [
            re.findall(rf"--{name}: (#[0-9a-f]{{6}})", CSS)[which] for name in ("bg", "surface")
        ]
        for index, colour in colours:
            for ground in grounds:
                ratio = contrast(colour, ground)
                assert ratio >= 4.5, f"{mode} subject-c{index} {colour} on {ground}: {ratio:.2f}"
