"""People, profiles and the rules about names, usernames and activation codes."""

from __future__ import annotations

import enum
import re
import unicodedata

import msgspec
from email_validator import EmailNotValidError, validate_email

from preau.domain.errors import InvalidInput

__all__ = ["InvalidInput"]  # re-exported: validators below raise it


class Profile(enum.StrEnum):
    PUPIL = "pupil"  # élève
    PARENT = "parent"  # responsable légal
    TEACHER = "teacher"  # enseignant
    STAFF = "staff"  # vie scolaire, direction
    ADMIN = "admin"  # administrateur de l'établissement


STAFF_PROFILES = frozenset({Profile.TEACHER, Profile.STAFF, Profile.ADMIN})


class GroupKind(enum.StrEnum):
    CLASS = "class"  # la classe (4e B)
    GROUP = "group"  # un groupe (LV2 espagnol, latin, demi-groupe)


class EnrolmentRole(enum.StrEnum):
    PUPIL = "pupil"
    TEACHER = "teacher"


class Actor(msgspec.Struct, frozen=True):
    """Who is acting: taken from a verified session, never from the request body."""

    person_id: int
    school_id: int
    profile: Profile


UAI_PATTERN = re.compile(r"^[0-9]{7}[A-Z]$")
_USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,98}[a-z0-9]$")
# Activation codes avoid look-alike characters (0/O, 1/I/L) so they can be read off paper.
ACTIVATION_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
ACTIVATION_CODE_LENGTH = 10
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 200


def check_uai(uai: str) -> str:
    uai = uai.strip().upper()
    if not UAI_PATTERN.match(uai):
        raise InvalidInput(
            "A school's UAI is seven digits followed by a letter, like 0751234A.", field="uai"
        )
    return uai


def check_name(value: str, field: str) -> str:
    value = " ".join(value.split())
    if not value:
        raise InvalidInput("This name is empty: please fill it in.", field=field)
    if len(value) > 100:
        raise InvalidInput("This name is longer than 100 characters.", field=field)
    if any(unicodedata.category(character).startswith("C") for character in value):
        raise InvalidInput("This name contains invisible control characters.", field=field)
    return value


def check_username(value: str) -> str:
    value = value.strip().lower()
    if not _USERNAME_PATTERN.match(value):
        raise InvalidInput(
            "A username is 3 to 100 lowercase letters, digits, dots, dashes or underscores.",
            field="username",
        )
    return value


def check_email(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    value = value.strip()
    # email-validator reads the address as RFC 5321/5322 do (no line break or control
    # character can pass, so none reaches a mail header); no DNS look-up here.
    try:
        checked = validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        raise InvalidInput("This email address does not look valid.", field="email") from None
    if len(checked.normalized) > 254:
        raise InvalidInput("This email address does not look valid.", field="email")
    return str(checked.normalized)


def check_new_password(password: str, *, username: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            "Your password must be at least 10 characters long. A short sentence is easy to "
            "remember.",
            field="password",
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput("Your password must be at most 200 characters long.", field="password")
    if password.strip().lower() == username.lower():
        raise InvalidInput("Your password must not be your username.", field="password")
    return password


def normalise_activation_code(code: str) -> str:
    return "".join(character for character in code.upper() if character.isalnum())


# Letters that Unicode decomposition leaves alone but a French register spells out.
_LIGATURES = str.maketrans(
    {"æ": "ae", "œ": "oe", "ß": "ss", "ø": "o", "đ": "d", "ł": "l", "þ": "th"}
)


def ascii_slug(text: str) -> str:
    """``Zoé Lefèvre-Dupont`` → ``zoe.lefevre-dupont``: the base of generated usernames."""
    decomposed = unicodedata.normalize("NFKD", text.lower().translate(_LIGATURES))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    plain = re.sub(r"[^a-z0-9-]+", ".", plain).strip(".-")
    return re.sub(r"\.{2,}", ".", plain) or "user"


def username_base(given_name: str, family_name: str) -> str:
    return f"{ascii_slug(given_name)}.{ascii_slug(family_name)}"[:90].strip(".-")
