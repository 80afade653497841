"""Who may reach a handler, checked by Litestar before it runs: someone signed in, an
administrator of their school, or an operator of the platform (``guards=[...]``).

Each guard checks the sign-in itself, so a route carries exactly one: Litestar copies the
handler for every guard it calls, on every request. A refusal is the error a handler would
raise (``NotAuthenticated``: the login page or a 401; ``Forbidden``: a 403 with its sentence).
Guards run before the CSRF check (a ``before_request`` hook) and before parameters are read.
They are coroutines: Litestar runs a plain function guard in a worker thread.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler

from preau.actions.access import access_platform_operator, access_school_directory
from preau.domain.access import Action
from preau.domain.errors import NotAuthenticated
from preau.domain.people import Actor
from preau.web.render import services_of, session_of

Connection = ASGIConnection[Any, Any, Any, Any]


def _actor(connection: Connection) -> Actor:
    session = session_of(connection)
    if session is None:
        raise NotAuthenticated("Log in first, then try again.")
    return session.actor


async def signed_in(connection: Connection, _handler: BaseRouteHandler) -> None:
    _actor(connection)


async def school_admin(connection: Connection, _handler: BaseRouteHandler) -> None:
    """The school's directory, roster and activation codes are its administrators'."""
    access_school_directory(_actor(connection), Action.CHANGE)


async def platform_operator(connection: Connection, _handler: BaseRouteHandler) -> None:
    """The waiting room belongs to the administrators of ``PREAU_OPERATOR_UAIS``."""
    actor = _actor(connection)
    services = services_of(connection)
    async with services.engine.connect() as database:
        await access_platform_operator(database, actor, services.settings.operator_uais)
