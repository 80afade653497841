"""Préau as a CAS 3.0 server (no proxy tickets): the school's other applications (Pronote
and the like) rely on the Préau session. Service tickets are random, single use, short
lived and kept in the shared state, so any process may validate them; a ticket goes only
to a service URL the person's school allows (docs/sso.md)."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import sqlalchemy as sa

from preau.actions.context import Services
from preau.adapters.sql.schema import people, schools
from preau.domain.errors import Forbidden
from preau.domain.people import Actor
from preau.domain.sso import ALL_SCHOOLS, service_allowed
from preau.i18n import lazy

SERVICE_REFUSED = lazy(
    "This application is not on the list of applications your school allows to use its "
    "Préau sign-in, so Préau did not send it who you are. If you expected it to work, tell "
    "your school's office which address you came from."
)
TICKET_PREFIX = "ST-"
MAX_TICKET_LENGTH = 256
# ``renew``: credentials presented at most this long ago count as presented for this
# ticket (the time to type them in on the login page the renewal sent the person to).
RENEW_SECONDS = 120.0


@dataclass(frozen=True)
class CasFailure:
    code: str  # INVALID_REQUEST, INVALID_TICKET, INVALID_SERVICE (CAS 3.0, section 2.5.3)
    sentence: str


class CasServer:
    """The allowed services of each school (by UAI; ``*`` for every school)."""

    def __init__(self, services_by_uai: dict[str, tuple[str, ...]], ticket_seconds: int) -> None:
        self.services_by_uai = services_by_uai
        # CAS 3.0: a service ticket is valid for 10 seconds to 5 minutes.
        self.ticket_seconds = min(max(ticket_seconds, 10), 300)

    def prefixes_for(self, uai: str | None) -> tuple[str, ...]:
        everywhere = self.services_by_uai.get(ALL_SCHOOLS, ())
        if uai is None:  # before sign-in: allowed by some school, checked again after it
            return tuple(prefix for group in self.services_by_uai.values() for prefix in group)
        return everywhere + self.services_by_uai.get(uai, ())


async def school_uai(services: Services, school_id: int) -> str:
    async with services.engine.connect() as connection:
        return str(
            (
                await connection.execute(sa.select(schools.c.uai).where(schools.c.id == school_id))
            ).scalar_one()
        )


def check_service(cas: CasServer, service: str, uai: str | None) -> None:
    if not service_allowed(service, cas.prefixes_for(uai)):
        raise Forbidden(SERVICE_REFUSED)


def freshly_signed_in(signed_in_at: float, now: float) -> bool:
    """Did the person present their credentials just now (what ``renew`` asks for)?"""
    return signed_in_at > 0 and now - signed_in_at <= RENEW_SECONDS


async def issue_ticket(
    services: Services, cas: CasServer, actor: Actor, service: str, *, renewed: bool = False
) -> str:
    """A service ticket for ``service``, after checking the person's school allows it;
    returns the address to send the browser to. ``renewed``: issued from credentials just
    presented rather than from the single sign-on session (CAS ``renew``)."""
    check_service(cas, service, await school_uai(services, actor.school_id))
    ticket = TICKET_PREFIX + secrets.token_urlsafe(32)
    issued = {
        "service": service,
        "school_id": actor.school_id,
        "person_id": actor.person_id,
        "renewed": renewed,
    }
    await services.state.set(
        f"cas:ticket:{ticket}", json.dumps(issued).encode(), ttl_seconds=cas.ticket_seconds
    )
    separator = "&" if "?" in service else "?"
    return f"{service}{separator}ticket={ticket}"


async def _consume(
    services: Services, service: str | None, ticket: str | None, *, renew: bool
) -> dict[str, Any] | CasFailure:
    """What the ticket was issued for, used up by this validation; or why it is refused."""
    if not service or not ticket:
        return CasFailure("INVALID_REQUEST", "Both the service and ticket parameters are required.")
    if not ticket.startswith(TICKET_PREFIX) or len(ticket) > MAX_TICKET_LENGTH:
        return CasFailure("INVALID_TICKET", "This ticket was not issued by Préau.")
    key = f"cas:ticket:{ticket}"
    raw = await services.state.get(key)
    # Single use even when two validations race: only the first marks it used.
    first = raw is not None and await services.state.add(
        f"cas:used:{ticket}", b"1", ttl_seconds=600
    )
    await services.state.delete(key)
    if raw is None or not first:
        return CasFailure(
            "INVALID_TICKET", "This ticket is unknown, expired or was already used: sign in again."
        )
    issued: dict[str, Any] = json.loads(raw)
    if issued["service"] != service:
        return CasFailure("INVALID_SERVICE", "This ticket was issued for another service.")
    if renew and not issued.get("renewed", False):
        return CasFailure(
            "INVALID_TICKET_SPEC",
            "This ticket came from the single sign-on session, and renew asks for one issued "
            "when the person signed in again.",
        )
    return issued


async def validate_ticket(
    services: Services,
    service: str | None,
    ticket: str | None,
    *,
    with_attributes: bool,
    renew: bool = False,
) -> str:
    """The CAS 3.0 XML answer to /serviceValidate or /p3/serviceValidate. A ticket is
    consumed by its first validation, whatever the answer. With ``renew``, only a ticket
    issued from credentials just presented is valid, not one from the SSO session."""
    issued = await _consume(services, service, ticket, renew=renew)
    if isinstance(issued, CasFailure):
        return _failure(issued)
    async with services.engine.connect() as connection:
        row = (
            await connection.execute(
                sa.select(
                    people.c.username,
                    people.c.given_name,
                    people.c.family_name,
                    people.c.email,
                    people.c.profile,
                    people.c.source_id,
                    people.c.active,
                    schools.c.uai,
                )
                .select_from(people.join(schools, schools.c.id == people.c.school_id))
                .where(
                    people.c.school_id == int(issued["school_id"]),
                    people.c.id == int(issued["person_id"]),
                )
            )
        ).first()
    if row is None or not row.active:
        return _failure(CasFailure("INVALID_TICKET", "This person's account is closed."))
    attributes = {
        "givenName": row.given_name,
        "sn": row.family_name,
        "mail": row.email,
        "profile": row.profile,
        "uai": row.uai,
        "sourceId": row.source_id,
    }
    return _success(str(row.username), attributes if with_attributes else {})


NAMESPACE = "http://www.yale.edu/tp/cas"


def _success(user: str, attributes: dict[str, str | None]) -> str:
    lines = [
        f"<cas:serviceResponse xmlns:cas={quoteattr(NAMESPACE)}>",
        "  <cas:authenticationSuccess>",
        f"    <cas:user>{escape(user)}</cas:user>",
    ]
    if attributes:
        lines.append("    <cas:attributes>")
        lines.extend(
            f"      <cas:{name}>{escape(value)}</cas:{name}>"
            for name, value in attributes.items()
            if value
        )
        lines.append("    </cas:attributes>")
    lines += ["  </cas:authenticationSuccess>", "</cas:serviceResponse>", ""]
    return "\n".join(lines)


def _failure(failure: CasFailure) -> str:
    return (
        f"<cas:serviceResponse xmlns:cas={quoteattr(NAMESPACE)}>\n"
        f"  <cas:authenticationFailure code={quoteattr(failure.code)}>"
        f"{escape(failure.sentence)}</cas:authenticationFailure>\n"
        "</cas:serviceResponse>\n"
    )
