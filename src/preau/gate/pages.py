"""What the gate answers itself: the waiting page, the proof-of-work page, and the
``application/problem+json`` bodies API clients get. French first, English second."""

from __future__ import annotations

import datetime
import math
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
import msgspec
from babel.dates import format_date

from preau import i18n
from preau.gate.runtime import TicketStatus

TEMPLATES = Path(__file__).parent / "templates"
ASSETS = {
    "/gate/assets/gate.js": (
        Path(__file__).parent.parent / "web" / "static" / "gate.js",
        b"text/javascript; charset=utf-8",
    ),
    "/gate/assets/gate.css": (Path(__file__).parent / "assets" / "gate.css", b"text/css"),
}
CONTENT_SECURITY_POLICY = (
    b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    b"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)

environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,
    extensions=["jinja2.ext.i18n"],
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.install_gettext_callables(  # type: ignore[attr-defined]  # added by the i18n extension
    i18n.gettext, i18n.ngettext, newstyle=True
)
_json = msgspec.json.Encoder()


SEVERAL_MINUTES_S = 300.0  # with the room full, a shorter estimate is not promised


def describe_wait(seconds: float | None) -> str:
    """A wait as a person would say it: "about 3 minutes", never "187.4 s"; "several
    minutes" when nothing lets us promise less."""
    if seconds is None:
        return i18n.gettext("several minutes")
    if seconds < 60:
        return i18n.gettext("less than a minute")
    minutes = math.ceil(seconds / 60)
    if minutes < 90:
        return i18n.ngettext("about %(num)d minute", "about %(num)d minutes", minutes) % {
            "num": minutes
        }
    hours = round(minutes / 60)
    return i18n.ngettext("about %(num)d hour", "about %(num)d hours", hours) % {"num": hours}


def clock_time(moment: float, zone: ZoneInfo) -> str:
    """A moment in the platform's zone with its day: "mardi 6 avril à 08:00"."""
    locale = i18n.current_locale.get()
    local = datetime.datetime.fromtimestamp(moment, zone)
    return i18n.gettext("%(day)s at %(time)s") % {
        "day": format_date(local.date(), "EEEE d MMMM", locale=locale),
        "time": local.strftime("%H:%M"),
    }


def promised_wait(status: TicketStatus) -> float | None:
    """The wait the page may promise: none when the rate is unknown or zero, and none
    shorter than several minutes while the room is full (people leave when they leave)."""
    if status.wait_s is None:
        return None
    if status.full and status.wait_s < SEVERAL_MINUTES_S:
        return None
    return status.wait_s


def status_texts(status: TicketStatus) -> dict[str, str]:
    """The sentences of the waiting page that change as the line moves."""
    return {
        "position": i18n.gettext("Your number in line: %(position)s")
        % {"position": status.position},
        "ahead": i18n.ngettext(
            "%(num)d person ahead of you.", "%(num)d people ahead of you.", status.ahead
        )
        % {"num": status.ahead},
        "wait": i18n.gettext("Estimated wait: %(wait)s.")
        % {"wait": describe_wait(promised_wait(status))},
    }


def waiting_page(
    status: TicketStatus, *, progress: int | None, refresh_s: int, next_path: str, zone: ZoneInfo
) -> bytes:
    template = environment.get_template("wait.html")
    return template.render(
        locale=i18n.current_locale.get(),
        status=status,
        texts=status_texts(status),
        progress=None if status.opening_at else progress,
        refresh_s=refresh_s,
        next_path=next_path,
        opening=clock_time(status.opening_at, zone) if status.opening_at else "",
    ).encode()


def challenge_page(*, next_path: str, error: bool = False) -> bytes:
    template = environment.get_template("challenge.html")
    return template.render(
        locale=i18n.current_locale.get(), next_path=next_path, error=error
    ).encode()


def simple_page(title: str, message: str, *, retry_after: int) -> bytes:
    template = environment.get_template("message.html")
    return template.render(
        locale=i18n.current_locale.get(), title=title, message=message, refresh_s=retry_after
    ).encode()


def problem(
    kind: str, title: str, status: int, detail: str, **extra: Any
) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    body = {
        "type": f"urn:preau:gate:{kind}",
        "title": title,
        "status": status,
        "detail": detail,
        **extra,
    }
    return _json.encode(body), [(b"content-type", b"application/problem+json")]


def queued_problem(
    status: TicketStatus, *, retry_after: int, status_url: str, zone: ZoneInfo
) -> bytes:
    if status.opening_at:
        detail = i18n.gettext("The doors open on %(time)s; your place will be drawn then.") % {
            "time": clock_time(status.opening_at, zone)
        }
    else:
        detail = i18n.gettext(
            "You are number %(position)d in line; people ahead of you: %(ahead)d."
        ) % {"position": status.position, "ahead": status.ahead}
    body, _ = problem(
        "queued",
        i18n.gettext("You are in the waiting room"),
        429,
        detail,
        position=status.position,
        ahead=status.ahead,
        estimated_wait_s=None if (wait := promised_wait(status)) is None else round(wait, 1),
        retry_after=retry_after,
        status_url=status_url,
    )
    return body
