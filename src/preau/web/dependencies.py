"""What Litestar hands each handler instead of the handler fetching it: the application's
``services`` and the signed-in ``session`` and ``actor``, declared once in ``bootstrap``."""

from __future__ import annotations

from typing import Any, TypeAlias

from litestar import Request
from litestar.di import NamedDependency, Provide
from litestar.params import SkipValidation

from preau.actions.context import Services
from preau.actions.sessions import Session
from preau.domain.errors import NotAuthenticated
from preau.domain.people import Actor
from preau.web.render import session_of

# Préau's own objects, handed over as they are: validating them again would only cost.
AppServices: TypeAlias = NamedDependency[SkipValidation[Services]]
SignedInSession: TypeAlias = NamedDependency[SkipValidation[Session]]
SignedInActor: TypeAlias = NamedDependency[SkipValidation[Actor]]


# Each provider reads the request itself and takes `services` only to come after it:
# Litestar resolves dependencies that do not depend on each other together, in a task
# group, which costs more than the rest of the injection (~0.1 ms of CPU a request,
# measured); a chain is resolved one after the other. So a handler asks for `session` or
# for `actor`, never both (``session.actor`` is the actor; tests/web/test_guards.py).


def signed_in_session(request: Request[Any, Any, Any], services: AppServices) -> Session:
    """The session the session layer verified. Guards have refused anyone without one;
    a route left without a guard is refused here the same way."""
    del services
    session = session_of(request)
    if session is None:
        raise NotAuthenticated("Log in first, then try again.")
    return session


def signed_in_actor(request: Request[Any, Any, Any], services: AppServices) -> Actor:
    return signed_in_session(request, services).actor


def dependencies(services: Services) -> dict[str, Provide]:
    """The providers of one application, for ``Litestar(dependencies=...)``."""

    def app_services() -> Services:
        return services

    return {
        "services": Provide(app_services, use_cache=True, sync_to_thread=False),
        "session": Provide(signed_in_session, sync_to_thread=False),
        "actor": Provide(signed_in_actor, sync_to_thread=False),
    }
