"""Self-service password reset by email: a link with a random token, kept only hashed,
single use, valid 30 minutes; asked for by username or email address, rate-limited per
account and per client address, with the same answer whether the account exists or not.

The mail leaves after the commit, in a task of its own, so an account that exists does
not answer later than one that does not. People without an email address ask their
school, which gives them a new activation code (``accounts.issue_activation_codes``).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

import sqlalchemy as sa
from limits import parse
from limits.aio.storage import Storage
from limits.aio.strategies import FixedWindowRateLimiter
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.actions.context import Services
from preau.adapters.mail import MailUnavailable, SmtpServer, append_to_file, send_batch
from preau.adapters.ratelimit import FailOpenLimiter
from preau.adapters.sql.schema import password_resets, people
from preau.domain.errors import InvalidInput, TooManyAttempts
from preau.domain.people import check_new_password
from preau.domain.tokens import fingerprint
from preau.i18n import lazy

log = logging.getLogger("preau.password_resets")

RESET_MINUTES = 30
RESET_LIMITED = lazy("Too many reset requests. Please wait {minutes} minutes and try again.")
RESET_LINK_INVALID = lazy(
    "This reset link has expired or was already used. Ask for a new one, or ask your school "
    "for a new activation code."
)
NOTHING_ASKED = lazy("Write your username or your email address.")

# The mails on their way, kept so their tasks are not collected before they finish.
_sending: set[asyncio.Task[None]] = set()


class ResetLimit:
    """Requests per account (username or address typed) and per client address, per hour,
    on the shared limits' storage; fails open, counted as ``password_reset``."""

    def __init__(self, storage: Storage, *, per_account: int, per_address: int) -> None:
        self.limits = FailOpenLimiter("password_reset", storage, FixedWindowRateLimiter)
        self.per_account = parse(f"{per_account}/hour")
        self.per_address = parse(f"{per_address}/hour")

    async def hit(self, account: str, address: str) -> None:
        await self.limits.attempt(lambda: self._hit(account, address), fallback=None)

    async def _hit(self, account: str, address: str) -> None:
        strategy = self.limits.strategy
        if not await strategy.hit(self.per_address, "reset-address", address) or not (
            await strategy.hit(self.per_account, "reset-account", account)
        ):
            raise TooManyAttempts(RESET_LIMITED, retry_after=3600, minutes=60)


async def request_reset(services: Services, *, account: str, address: str) -> None:
    """Send a reset link to the person named by ``account`` (username or email address) if
    they exist, are active and have an email address; say nothing either way."""
    account = account.strip().lower()[:254]
    if not account:
        raise InvalidInput(NOTHING_ASKED, field="account")
    await services.reset_limit.hit(account, address)
    now = services.now()
    # Usernames are stored in lower case (unique index); addresses as typed, so compared
    # lowered (a scan of the people table, bounded by the rate limits above).
    named = (
        sa.func.lower(people.c.email) == account if "@" in account else people.c.username == account
    )
    async with services.engine.begin() as connection:
        rows = (
            await connection.execute(
                sa.select(people.c.id, people.c.school_id, people.c.email, people.c.given_name)
                .where(
                    named,
                    people.c.active.is_(True),
                    people.c.email.is_not(None),
                    people.c.email != "",
                )
                .limit(2)
            )
        ).all()
        if len(rows) != 1:  # nobody, or an address shared by two accounts: no mail
            return
        person = rows[0]
        token = secrets.token_urlsafe(32)
        # A new link voids the ones before it.
        await connection.execute(
            password_resets.update()
            .where(
                password_resets.c.school_id == person.school_id,
                password_resets.c.person_id == person.id,
                password_resets.c.used_at.is_(None),
            )
            .values(used_at=now)
        )
        await connection.execute(
            password_resets.insert().values(
                school_id=person.school_id,
                person_id=person.id,
                token_hash=fingerprint(token),
                created_at=now,
                expires_at=now + timedelta(minutes=RESET_MINUTES),
            )
        )
    mail = reset_mail(services, str(person.email), str(person.given_name), token)
    task = asyncio.create_task(_send(services, mail))
    _sending.add(task)
    task.add_done_callback(_sending.discard)


def reset_mail(services: Services, to: str, given_name: str, token: str) -> EmailMessage:
    """French first, English second: the person's language is not known here."""
    settings = services.settings
    link = f"{settings.base_url.rstrip('/')}/password/reset/{token}"
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Subject"] = "Préau : nouveau mot de passe / new password"
    message.set_content(
        f"Bonjour {given_name},\n\n"
        "Pour choisir un nouveau mot de passe Préau, ouvrez ce lien dans les "
        f"{RESET_MINUTES} minutes :\n{link}\n\n"
        "Si vous n'avez rien demandé, ignorez ce message : votre mot de passe ne change pas.\n\n"
        "---\n\n"
        f"Hello {given_name},\n\n"
        f"To choose a new Préau password, open this link within {RESET_MINUTES} minutes:\n"
        f"{link}\n\n"
        "If you did not ask for this, ignore this message: your password stays the same.\n"
    )
    return message


async def _send(services: Services, mail: EmailMessage) -> None:
    settings = services.settings
    try:
        if settings.smtp_host:
            server = SmtpServer(
                host=settings.smtp_host,
                port=settings.smtp_port,
                tls=settings.smtp_tls,
                username=settings.smtp_username,
                password=settings.smtp_password,
            )
            await send_batch(server, [mail])
        elif settings.mail_file:
            await append_to_file(settings.mail_file, [mail])
        else:
            log.warning("PREAU_SMTP_HOST and PREAU_MAIL_FILE are not set: no reset mail is sent")
    except (MailUnavailable, OSError):
        log.exception("the password reset mail could not be sent")


async def pending_mail() -> None:
    """Wait for the reset mails on their way (tests, and a clean shutdown)."""
    if _sending:
        await asyncio.gather(*_sending, return_exceptions=True)


async def check_reset_link(services: Services, token: str) -> None:
    """Refuse a link that is unknown, used or expired (before the form is shown)."""
    async with services.engine.connect() as connection:
        await _valid_reset(connection, token, services.now())


async def _valid_reset(connection: AsyncConnection, token: str, now: datetime) -> Any:
    row = (
        await connection.execute(
            sa.select(
                password_resets.c.id,
                password_resets.c.school_id,
                password_resets.c.person_id,
                people.c.username,
            )
            .join(people, people.c.id == password_resets.c.person_id)
            .where(
                password_resets.c.token_hash == fingerprint(token[:100]),
                password_resets.c.used_at.is_(None),
                password_resets.c.expires_at > now,
                people.c.active.is_(True),
            )
        )
    ).first()
    if row is None:
        raise InvalidInput(RESET_LINK_INVALID, field="token")
    return row


async def reset_password(services: Services, *, token: str, password: str, address: str) -> str:
    """Set a new password through a valid link, use the link up and end every session of
    the person; returns their username, for the login form."""
    # Wrong links are counted per client address with the failed logins.
    key = f"reset:{fingerprint(token[:100])[:16]}"
    await services.throttle.check(key, address)
    now = services.now()
    async with services.engine.connect() as connection:
        try:
            reset = await _valid_reset(connection, token, now)
        except InvalidInput:
            await services.throttle.failed(key, address)
            raise
    check_new_password(password, username=reset.username)
    password_hash = await services.passwords.hash(password)
    async with services.engine.begin() as connection:
        used = await connection.execute(
            password_resets.update()
            .where(password_resets.c.id == reset.id, password_resets.c.used_at.is_(None))
            .values(used_at=now)
        )
        if used.rowcount != 1:  # the same link used twice at once: only one wins
            raise InvalidInput(RESET_LINK_INVALID, field="token")
        await connection.execute(
            people.update()
            .where(people.c.school_id == reset.school_id, people.c.id == reset.person_id)
            .values(password_hash=password_hash, activation_code_hash=None, updated_at=now)
        )
        await services.sessions.revoke_person(
            connection,
            school_id=reset.school_id,
            person_id=reset.person_id,
            keep_device=None,
            now=services.clock(),
        )
    await services.sessions.announce_person(reset.person_id, after=services.clock())
    return str(reset.username)
