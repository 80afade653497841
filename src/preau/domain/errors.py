"""Errors a person can read. Messages are English source sentences, translated when shown."""

from __future__ import annotations


class PreauError(Exception):
    """Base of errors that carry a sentence for the person who caused them."""

    status = 400

    def __init__(self, message: str, *, field: str | None = None, **params: object) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.params = params


class InvalidInput(PreauError):
    """Input the person can fix."""

    status = 400


class NotFound(PreauError):
    """The object does not exist, or belongs to a school the actor cannot see."""

    status = 404


class Forbidden(PreauError):
    """The object is visible but this action is not the actor's to take."""

    status = 403


class Conflict(PreauError):
    """The request clashes with the current state (a username already taken…)."""

    status = 409


class NotAuthenticated(PreauError):
    status = 401


class TooManyAttempts(PreauError):
    status = 429

    def __init__(self, message: str, *, retry_after: int, **params: object) -> None:
        super().__init__(message)
        self.params = params
        self.retry_after = retry_after


class ServiceUnavailable(PreauError):
    status = 503


class InsufficientStorage(PreauError):
    """The files' storage is full: nothing of the request was kept (507)."""

    status = 507

    def __init__(self, message: str, *, retry_after: int = 60) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def lazy(message: str) -> str:
    """Mark a sentence for extraction; it is translated where it is shown."""
    return message


STORAGE_FULL = lazy(
    "Préau cannot store files right now: its storage is full. Nothing was saved; try again "
    "later (work prepared offline stays on this device and is sent later)."
)
