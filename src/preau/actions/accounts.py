"""Accounts: activation with a printed code, password login, logout, device management,
password reset by a school admin. Passwords are hashed with argon2id (OWASP's m=7 MiB,
t=5, p=1: bench/password_hash.py) in a small pool of threads beside the event loop, with a
bounded queue, so a wave of logins can neither starve other requests nor exhaust memory."""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from limits import parse
from limits.aio.storage import Storage
from limits.aio.strategies import FixedWindowRateLimiter
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.actions.access import access_person_for_activation_code
from preau.actions.context import Services
from preau.actions.sessions import Session
from preau.adapters.ratelimit import FailOpenLimiter
from preau.adapters.sql.schema import people
from preau.domain.access import activation_code_profiles
from preau.domain.errors import (
    InvalidInput,
    NotAuthenticated,
    ServiceUnavailable,
    TooManyAttempts,
)
from preau.domain.people import (
    ACTIVATION_ALPHABET,
    ACTIVATION_CODE_LENGTH,
    Actor,
    Profile,
    check_new_password,
    normalise_activation_code,
)
from preau.domain.tokens import fingerprint
from preau.i18n import lazy

log = logging.getLogger("preau.accounts")

LOGIN_FAILED = lazy(
    "The username or password is incorrect. First time here? Use the activation code your "
    "school gave you."
)
ACTIVATION_FAILED = lazy(
    "This username and activation code do not match, or the code was already used. Ask your "
    "school for a new code if needed."
)
THROTTLED = lazy("Too many attempts. Please wait {minutes} minutes before trying again.")

HASHING_BUSY = lazy(
    "Préau is checking many passwords at this moment. Please try again in a few seconds."
)

password_hashes = Counter(
    "preau_password_hashes_total", "argon2id hashes and verifications computed.", ["kind"]
)
password_hashes_refused = Counter(
    "preau_password_hashes_refused_total",
    "Logins answered 503 because the password hashing queue was full.",
)

Result = TypeVar("Result")


class HashingBusy(ServiceUnavailable):
    """The hashing queue is full: answered 503 with ``Retry-After``."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Passwords:
    """argon2id in a pool of ``concurrency`` threads (one per core by default), so at most
    ``concurrency`` hashes hold their memory at once and the event loop keeps serving.

    At most ``queue`` more wait for a thread; beyond that a login is refused at once with
    :class:`HashingBusy` (503, ``Retry-After``) rather than waiting behind a burst it
    cannot get through in time. The login throttle counts attempts before this, so the
    refusal changes nothing in its strength."""

    RETRY_AFTER_SECONDS = 5

    def __init__(
        self,
        *,
        time_cost: int,
        memory_kib: int,
        parallelism: int,
        concurrency: int,
        queue: int = 64,
    ):
        self.hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism, type=Type.ID
        )
        self.concurrency = max(1, concurrency)
        self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="argon2")
        self._capacity = self.concurrency + max(0, queue)
        self._admitted = 0  # running and waiting, in this event loop's process
        # Verified when the username is unknown, so both paths take the same time.
        self._decoy = self.hasher.hash(secrets.token_urlsafe(16))

    @property
    def admitted(self) -> int:
        return self._admitted

    @property
    def has_idle_thread(self) -> bool:
        """Whether a hash started now would wait for no one (none queued, a thread free)."""
        return self._admitted < self.concurrency

    async def _run(self, kind: str, work: Callable[..., Result], *args: Any) -> Result:
        if self._admitted >= self._capacity:
            password_hashes_refused.inc()
            raise HashingBusy(HASHING_BUSY, retry_after=self.RETRY_AFTER_SECONDS)
        self._admitted += 1
        try:
            password_hashes.labels(kind).inc()
            return await asyncio.get_running_loop().run_in_executor(self._pool, work, *args)
        finally:
            self._admitted -= 1

    async def hash(self, password: str) -> str:
        return await self._run("hash", self.hasher.hash, password)

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        return await self._run("verify", self._verify, stored_hash or self._decoy, password)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _verify(self, stored_hash: str, password: str) -> bool:
        try:
            return self.hasher.verify(stored_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


class LoginThrottle:
    """Failed attempts per account and per address, counted in a fixed window of 15 minutes
    that opens with the first failure.

    The per-address limit is generous: a whole school may share one address. Unknown
    usernames are counted like known ones, so the throttle reveals nothing. When the
    storage is unreachable the throttle lets attempts through and counts it (limiter
    ``login`` of ``preau_rate_limit_fail_open_total``).

    Why a fixed window: on Redis its check is one GET per counter, where a moving window's
    is a Lua binary search (15 commands per login at the default limits, more as they grow)
    and a sliding-window counter's a script of 4 reads. The budget is the same, the limit per
    15 minutes on average; only its evenness is lost, as up to twice the limit can fall in
    the minutes around the end of a window. A password login costs 2 Redis commands, 3
    after failures; a failed one 6 to 8.
    """

    WINDOW_MINUTES = 15
    # Not the moving window's keys ("login-account"): during a rolling upgrade its lists
    # would answer GET with WRONGTYPE, and the check would fail open.
    ACCOUNT = "login-failures-account"
    ADDRESS = "login-failures-address"

    def __init__(self, storage: Storage, *, per_account: int, per_address: int) -> None:
        self.limits = FailOpenLimiter("login", storage, FixedWindowRateLimiter)
        self.per_account = parse(f"{per_account}/{self.WINDOW_MINUTES} minutes")
        self.per_address = parse(f"{per_address}/{self.WINDOW_MINUTES} minutes")

    async def check(self, username: str, address: str) -> int:
        """Refuse an attempt from a locked account or address; otherwise return the account's
        failures so far (0 when unknown), for :meth:`succeeded`."""
        read = await self.limits.attempt(lambda: self._read(username, address), fallback=None)
        if read is None:
            return 0
        account_failures, allowed = read
        if not allowed:
            raise TooManyAttempts(
                THROTTLED, retry_after=self.WINDOW_MINUTES * 60, minutes=self.WINDOW_MINUTES
            )
        return account_failures

    async def _read(self, username: str, address: str) -> tuple[int, bool]:
        """The account's failures, and whether both counters are under their limits. They
        are read with the storage's ``get`` rather than the limiter's ``test``, which reads
        the same counter but keeps its value to itself; a locked account spares the second.
        """
        storage = self.limits.storage
        account_failures: int = await storage.get(self.per_account.key_for(self.ACCOUNT, username))
        allowed = account_failures < self.per_account.amount and (
            await storage.get(self.per_address.key_for(self.ADDRESS, address))
            < self.per_address.amount
        )
        return account_failures, allowed

    async def failed(self, username: str, address: str) -> None:
        await self.limits.attempt(lambda: self._count_failure(username, address), fallback=None)

    async def _count_failure(self, username: str, address: str) -> None:
        await self.limits.strategy.hit(self.per_account, self.ACCOUNT, username)
        await self.limits.strategy.hit(self.per_address, self.ADDRESS, address)

    async def succeeded(self, username: str, failures: int) -> None:
        """Forget the account's failures if :meth:`check` saw any (most logins follow none,
        and skip the write)."""
        if failures:
            await self.limits.clear(self.per_account, self.ACCOUNT, username)


@dataclass(frozen=True)
class LoginResult:
    session: Session
    session_token: str
    device_token: str | None


def new_activation_code() -> str:
    return "".join(secrets.choice(ACTIVATION_ALPHABET) for _ in range(ACTIVATION_CODE_LENGTH))


def format_activation_code(code: str) -> str:
    """``ABCDEFGHJK`` → ``ABCDE-FGHJK``: easier to copy from paper."""
    return f"{code[:5]}-{code[5:]}"


# Built once: SQLAlchemy then neither rebuilds the statement nor recomputes its cache key
# at each login.
_LOGIN_ROW = sa.select(
    people.c.id,
    people.c.school_id,
    people.c.profile,
    people.c.active,
    people.c.password_hash,
    people.c.activation_code_hash,
).where(people.c.username == sa.bindparam("username", type_=people.c.username.type))


async def _load_login_row(services: Services, username: str) -> Any:
    """One read, outside any transaction: a single statement needs none, and without one
    the read is one round trip to the database instead of three (BEGIN, the SELECT,
    ROLLBACK)."""
    async with services.engine.connect() as connection:
        reader = await connection.execution_options(isolation_level="AUTOCOMMIT")
        result = await reader.execute(_LOGIN_ROW, {"username": username.strip().lower()})
        return result.first()


async def open_session(
    services: Services,
    actor: Actor,
    *,
    remember: bool,
    label: str,
    connection: AsyncConnection | None = None,
) -> LoginResult:
    """A session (and, with ``remember``, a device credential) for someone whose identity
    was proved: by a password, an activation code or an identity provider (actions/sso).
    The device row is one INSERT, atomic on its own: outside a transaction it is one round
    trip to the database instead of three (BEGIN, the INSERT, COMMIT); a caller that has
    just read the person on an autocommit ``connection`` passes it (one checkout)."""
    now = services.clock()
    if connection is None:
        async with services.engine.connect() as fresh:
            writer = await fresh.execution_options(isolation_level="AUTOCOMMIT")
            device_id = await services.sessions.open_device(
                writer, actor, remember=remember, label=label, now=now
            )
    else:
        device_id = await services.sessions.open_device(
            connection, actor, remember=remember, label=label, now=now
        )
    session = Session(actor=actor, device_id=device_id, issued_at=now, signed_in_at=now)
    return LoginResult(
        session=session,
        session_token=services.sessions.issue_session(actor, device_id, now=now, signed_in=True),
        device_token=services.sessions.issue_device(actor, device_id, now=now)
        if remember
        else None,
    )


async def log_in(
    services: Services, *, username: str, password: str, address: str, remember: bool, label: str
) -> LoginResult:
    username = username.strip().lower()[:100]
    failures = await services.throttle.check(username, address)
    row = await _load_login_row(services, username)
    # Always verify something, so an unknown username costs the same time as a known one.
    valid = await services.passwords.verify(row.password_hash if row else None, password)
    if row is None or not valid or not row.active or row.password_hash is None:
        await services.throttle.failed(username, address)
        raise NotAuthenticated(LOGIN_FAILED)
    await services.throttle.succeeded(username, failures)
    actor = Actor(int(row.id), int(row.school_id), Profile(row.profile))
    # A hash made with other parameters is rewritten with the current ones, a second hash:
    # only when a hashing thread is idle, so a crowd of logins after a change of parameters
    # costs no more than before it (the next quiet login of the person upgrades it).
    passwords = services.passwords
    if passwords.hasher.check_needs_rehash(str(row.password_hash)) and passwords.has_idle_thread:
        new_hash = await passwords.hash(password)
        async with services.engine.begin() as connection:
            await connection.execute(
                people.update()
                .where(people.c.school_id == actor.school_id, people.c.id == actor.person_id)
                .values(password_hash=new_hash)
            )
    return await open_session(services, actor, remember=remember, label=label)


async def activate_account(
    services: Services,
    *,
    username: str,
    code: str,
    password: str,
    address: str,
    remember: bool,
    label: str,
) -> LoginResult:
    """First login: the printed code proves who you are, then you choose a password."""
    username = username.strip().lower()[:100]
    failures = await services.throttle.check(username, address)
    check_new_password(password, username=username)
    row = await _load_login_row(services, username)
    expected = row.activation_code_hash if row is not None else None
    given = fingerprint(normalise_activation_code(code))
    matches = hmac.compare_digest(str(expected or "-" * 64), given)
    if row is None or expected is None or not matches or not row.active:
        await services.throttle.failed(username, address)
        raise NotAuthenticated(ACTIVATION_FAILED)
    password_hash = await services.passwords.hash(password)
    actor = Actor(int(row.id), int(row.school_id), Profile(row.profile))
    async with services.engine.begin() as connection:
        updated = await connection.execute(
            people.update()
            .where(
                people.c.school_id == actor.school_id,
                people.c.id == actor.person_id,
                people.c.activation_code_hash == expected,
            )
            .values(
                password_hash=password_hash,
                activation_code_hash=None,
                activated_at=services.now(),
                updated_at=services.now(),
            )
        )
        if updated.rowcount != 1:  # the same code used twice at once: only one wins
            raise NotAuthenticated(ACTIVATION_FAILED)
    await services.throttle.succeeded(username, failures)
    return await open_session(services, actor, remember=remember, label=label)


async def log_out(services: Services, session: Session) -> None:
    await services.sessions.revoke_device(session.actor, session.device_id, now=services.clock())


async def _this_device_only(
    services: Services, session: Session, now: float, device_expires: float | None
) -> LoginResult:
    """After every other session of the person was revoked: tell the other processes, and
    give this device fresh credentials: a device credential only if the device was
    remembered (it outlives the session), expiring with it."""
    actor = session.actor
    await services.sessions.announce_person(actor.person_id, after=now)
    session_ends = now + services.sessions.session_seconds
    remembered = device_expires is not None and device_expires > session_ends
    return LoginResult(
        session=Session(actor=actor, device_id=session.device_id, issued_at=now),
        session_token=services.sessions.issue_session(actor, session.device_id, now=now),
        device_token=services.sessions.issue_device(
            actor, session.device_id, now=now, expires_at=device_expires
        )
        if remembered
        else None,
    )


async def log_out_other_devices(services: Services, session: Session) -> LoginResult:
    """End every other session and device; this device gets fresh credentials."""
    now = services.clock()
    actor = session.actor
    async with services.engine.begin() as connection:
        device_expires = await services.sessions.revoke_person(
            connection,
            school_id=actor.school_id,
            person_id=actor.person_id,
            keep_device=session.device_id,
            now=now,
        )
    return await _this_device_only(services, session, now, device_expires)


async def change_password(
    services: Services, session: Session, *, current: str, new: str, address: str
) -> LoginResult:
    actor = session.actor
    async with services.engine.connect() as connection:
        row = (
            await connection.execute(
                sa.select(people.c.username, people.c.password_hash).where(
                    people.c.school_id == actor.school_id, people.c.id == actor.person_id
                )
            )
        ).one()
    await services.throttle.check(row.username, address)
    if not await services.passwords.verify(row.password_hash, current):
        await services.throttle.failed(row.username, address)
        raise InvalidInput("Your current password is incorrect.", field="current_password")
    check_new_password(new, username=row.username)
    new_hash = await services.passwords.hash(new)
    now = services.clock()
    async with services.engine.begin() as connection:
        await connection.execute(
            people.update()
            .where(people.c.school_id == actor.school_id, people.c.id == actor.person_id)
            .values(password_hash=new_hash, updated_at=services.now())
        )
        device_expires = await services.sessions.revoke_person(
            connection,
            school_id=actor.school_id,
            person_id=actor.person_id,
            keep_device=session.device_id,
            now=now,
        )
    return await _this_device_only(services, session, now, device_expires)


@dataclass(frozen=True)
class IssuedCode:
    person_id: int
    username: str
    given_name: str
    family_name: str
    profile: str
    code: str


async def issue_activation_codes(
    services: Services, actor: Actor, person_ids: list[int] | None = None, *, reset: bool = False
) -> list[IssuedCode]:
    """New activation codes for a school's people (a printable list for the admin or the
    vie scolaire, who issue them for pupils, parents and teachers only).

    Without ``reset`` only people who have not activated their account get one; with it
    (a password reset) the password is cleared and every session ends. Codes are stored
    hashed: printing again issues new codes, which void the old ones.
    """
    now = services.clock()
    issued: list[IssuedCode] = []
    async with services.engine.begin() as connection:
        if person_ids is None:
            await access_person_for_activation_code(connection, actor, None)
        else:
            for person_id in person_ids:
                await access_person_for_activation_code(connection, actor, person_id)
        query = sa.select(
            people.c.id,
            people.c.username,
            people.c.given_name,
            people.c.family_name,
            people.c.profile,
        ).where(people.c.school_id == actor.school_id, people.c.active.is_(True))
        if person_ids is not None:
            query = query.where(people.c.id.in_(person_ids))
        if not reset:
            query = query.where(people.c.password_hash.is_(None))
        # Codes for the school at large (or a class): only the profiles the actor may reset.
        allowed = activation_code_profiles(actor)
        query = query.where(people.c.profile.in_(sorted(profile.value for profile in allowed)))
        rows = (
            await connection.execute(query.order_by(people.c.family_name, people.c.given_name))
        ).all()
        for row in rows:
            code = new_activation_code()
            values: dict[str, object] = {
                "activation_code_hash": fingerprint(code),
                "updated_at": services.now(),
            }
            if reset:
                values["password_hash"] = None
            await connection.execute(
                people.update()
                .where(people.c.school_id == actor.school_id, people.c.id == row.id)
                .values(**values)
            )
            if reset:
                await services.sessions.revoke_person(
                    connection,
                    school_id=actor.school_id,
                    person_id=row.id,
                    keep_device=None,
                    now=now,
                )
            issued.append(
                IssuedCode(
                    row.id,
                    row.username,
                    row.given_name,
                    row.family_name,
                    row.profile,
                    format_activation_code(code),
                )
            )
    if reset:
        for item in issued:
            await services.sessions.announce_person(item.person_id, after=now)
    return issued
