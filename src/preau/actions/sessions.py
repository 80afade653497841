"""Sessions and device credentials.

A session cookie is a signed token checked with no I/O. Revocation is coherent across
processes: each process keeps the revoked device ids and per-person "valid after"
instants in memory, hears new ones at once through shared-state pub/sub, and re-reads
recent ones from the database every few seconds in case a message was missed.

A device credential (default 30 days) resumes a session with no password hash and, in the
common case, no database read either: on a closure morning most pupils get in this way.
The credential carries who, which device and until when (never later than the device's
stored expiry); what could have changed since it was signed is a revocation (logout, a
password change or reset, "log out other devices", a person deactivated or given another
profile, by hand or by the roster import), and every one of them is known in memory within
RESYNC_SECONDS. Only when this process's revocations are not known to be fresh (the
database unreachable for longer than TRUSTED_FOR_SECONDS) is the device row read, as
before. The device's "last seen" is written behind, in batches.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from preau.adapters.sql.schema import devices, people
from preau.channels import cancel_all, follow
from preau.domain.people import Actor, Profile
from preau.domain.tokens import BadToken, Signer
from preau.ports import SharedState, SharedStateUnavailable

REVOCATION_CHANNEL = "revocations"
RESYNC_SECONDS = 5.0
# Revocations known in memory are trusted for a resume while the last resync from the
# database is younger than this; otherwise the device row is read.
TRUSTED_FOR_SECONDS = 30.0
# The devices' "last seen" is written at most once an hour per device and process, in
# batches every SEEN_FLUSH_SECONDS (it is informational: nothing reads it to decide).
SEEN_EVERY_SECONDS = 3600.0
SEEN_FLUSH_SECONDS = 30.0
_SEEN_LIMIT = 200_000
_VERIFIED_LIMIT = 100_000  # session tokens remembered as verified, per process

log = logging.getLogger("preau.sessions")


class Session(msgspec.Struct, frozen=True):
    """A verified session: who, on which device, since when, and when they last proved who
    they are (a password, an activation code, an identity provider; 0 for a session
    resumed from a device credential): what CAS's ``renew`` asks for."""

    actor: Actor
    device_id: str
    issued_at: float
    signed_in_at: float = 0.0


class Revocation(msgspec.Struct, frozen=True):
    kind: str  # "device" or "person"
    id: str
    after: float = 0.0


class Sessions:
    def __init__(
        self,
        *,
        secret: str,
        engine: AsyncEngine,
        state: SharedState,
        session_seconds: int,
        device_seconds: int,
    ) -> None:
        self.session_signer = Signer(secret, "session")
        self.device_signer = Signer(secret, "device")
        self.engine = engine
        self.state = state
        self.session_seconds = session_seconds
        self.device_seconds = device_seconds
        self.revoked_devices: set[str] = set()
        self.valid_after: dict[int, float] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._synced_until = 0.0
        self._verified: dict[str, tuple[float, Session]] = {}
        self._resynced_at: float | None = None  # the clock's time of the last good resync
        self._seen: dict[str, float] = {}  # device id → when this process last marked it seen
        self._unseen: dict[str, tuple[int, float]] = {}  # to write: device → (school, when)

    # -- checks with no I/O -------------------------------------------------------------

    def check(self, token: str | None, *, now: float) -> Session | None:
        if not token:
            return None
        # Most requests carry a token this process has already verified: the HMAC and
        # the parsing are done once per token; expiry and revocation are checked each time.
        known = self._verified.get(token)
        if known is not None and known[0] > now:
            return self._unrevoked(known[1])
        try:
            claims = self.session_signer.verify(token, now=now)
        except BadToken:
            return None
        session = self._session_from_claims(claims)
        if session is not None:
            if len(self._verified) >= _VERIFIED_LIMIT:
                self._verified.clear()
            self._verified[token] = (float(claims["exp"]), session)
        return session

    def check_device(self, token: str | None, *, now: float) -> Session | None:
        """The device claims, if signed, unexpired and not known to be revoked (no I/O)."""
        if not token:
            return None
        try:
            claims = self.device_signer.verify(token, now=now)
        except BadToken:
            return None
        return self._session_from_claims(claims)

    def _session_from_claims(self, claims: dict[str, Any]) -> Session | None:
        try:
            session = Session(
                actor=Actor(
                    person_id=int(claims["pid"]),
                    school_id=int(claims["sch"]),
                    profile=Profile(claims["pro"]),
                ),
                device_id=str(claims["did"]),
                issued_at=float(claims["iat"]),
                signed_in_at=float(claims.get("pri", 0.0)),
            )
        except (KeyError, ValueError, TypeError):
            return None
        return self._unrevoked(session)

    def _unrevoked(self, session: Session) -> Session | None:
        if session.device_id in self.revoked_devices:
            return None
        if session.issued_at < self.valid_after.get(session.actor.person_id, 0.0):
            return None
        return session

    # -- issuing -------------------------------------------------------------------------

    def _claims(self, actor: Actor, device_id: str, issued_at: float) -> dict[str, Any]:
        return {
            "pid": actor.person_id,
            "sch": actor.school_id,
            "pro": actor.profile.value,
            "did": device_id,
            "iat": issued_at,
        }

    def issue_session(
        self, actor: Actor, device_id: str, *, now: float, signed_in: bool = False
    ) -> str:
        """A session token; ``signed_in`` when the person has just proved who they are."""
        claims = self._claims(actor, device_id, now)
        if signed_in:
            claims["pri"] = now
        return self.session_signer.sign(claims, expires_at=now + self.session_seconds)

    def issue_device(
        self, actor: Actor, device_id: str, *, now: float, expires_at: float | None = None
    ) -> str:
        """A device credential that expires with the stored device (``expires_at``, by
        default a new device's: ``now`` + the device lifetime), never after it."""
        return self.device_signer.sign(
            self._claims(actor, device_id, now),
            expires_at=now + self.device_seconds if expires_at is None else expires_at,
        )

    # Built once, its values bound at each login (no statement built, no cache key computed).
    _NEW_DEVICE = devices.insert().values(
        {
            name: sa.bindparam(name, type_=devices.c[name].type)
            for name in (
                "id", "school_id", "person_id", "label", "created_at", "last_seen_at",
                "expires_at",
            )
        }
    )  # fmt: skip

    async def open_device(
        self,
        connection: AsyncConnection,
        actor: Actor,
        *,
        remember: bool,
        label: str,
        now: float,
    ) -> str:
        """Record a new device for a fresh login and return its id."""
        device_id = secrets.token_urlsafe(16)
        moment = datetime.fromtimestamp(now, UTC)
        lifetime = self.device_seconds if remember else self.session_seconds
        await connection.execute(
            self._NEW_DEVICE,
            {
                "id": device_id,
                "school_id": actor.school_id,
                "person_id": actor.person_id,
                "label": label[:200],
                "created_at": moment,
                "last_seen_at": moment,
                "expires_at": moment + timedelta(seconds=lifetime),
            },
        )
        return device_id

    async def resume(self, device_token: str | None, *, now: float) -> Session | None:
        """Resume from a device credential with no password hash; with no I/O at all while
        this process's revocations are fresh, else with one indexed read of the device."""
        claimed = self.check_device(device_token, now=now)
        if claimed is None:
            return None
        if self.revocations_fresh(now):
            self._mark_seen(claimed, now)
            return Session(actor=claimed.actor, device_id=claimed.device_id, issued_at=now)
        return await self._resume_from_database(claimed, now=now)

    def revocations_fresh(self, now: float) -> bool:
        return self._resynced_at is not None and now - self._resynced_at < TRUSTED_FOR_SECONDS

    def _mark_seen(self, session: Session, now: float) -> None:
        device_id = session.device_id
        if now - self._seen.get(device_id, float("-inf")) < SEEN_EVERY_SECONDS:
            return
        if len(self._seen) >= _SEEN_LIMIT:
            self._seen.clear()
        self._seen[device_id] = now
        if len(self._unseen) < _SEEN_LIMIT:
            self._unseen[device_id] = (session.actor.school_id, now)

    async def flush_seen(self) -> int:
        """Write the devices' "last seen" gathered since the last flush, in one transaction;
        returns how many. On a database error they are kept for the next flush."""
        if not self._unseen:
            return 0
        pending, self._unseen = self._unseen, {}
        rows = [
            {"device": device_id, "school": school_id, "seen": datetime.fromtimestamp(at, UTC)}
            for device_id, (school_id, at) in pending.items()
        ]
        statement = (
            devices.update()
            .where(
                devices.c.school_id == sa.bindparam("school"),
                devices.c.id == sa.bindparam("device"),
                devices.c.last_seen_at < sa.bindparam("seen"),
            )
            .values(last_seen_at=sa.bindparam("seen"))
        )
        try:
            async with self.engine.begin() as connection:
                for start in range(0, len(rows), 1000):
                    await connection.execute(statement, rows[start : start + 1000])
        except Exception:
            for device_id, value in pending.items():
                self._unseen.setdefault(device_id, value)
            raise
        return len(rows)

    async def _resume_from_database(self, claimed: Session, *, now: float) -> Session | None:
        moment = datetime.fromtimestamp(now, UTC)
        actor = claimed.actor
        async with self.engine.begin() as connection:
            row = (
                await connection.execute(
                    sa.select(
                        devices.c.revoked_at,
                        devices.c.expires_at,
                        devices.c.last_seen_at,
                        people.c.active,
                        people.c.profile,
                        people.c.sessions_valid_after,
                    )
                    .join(people, people.c.id == devices.c.person_id)
                    .where(
                        devices.c.school_id == actor.school_id,
                        devices.c.id == claimed.device_id,
                        devices.c.person_id == actor.person_id,
                    )
                )
            ).first()
            if (
                row is None
                or row.revoked_at is not None
                or row.expires_at <= moment
                or not row.active
                or row.sessions_valid_after > claimed.issued_at
            ):
                return None
            if moment - row.last_seen_at > timedelta(hours=1):
                await connection.execute(
                    devices.update()
                    .where(
                        devices.c.school_id == actor.school_id, devices.c.id == claimed.device_id
                    )
                    .values(last_seen_at=moment)
                )
        # The profile may have changed since the device was registered.
        return Session(
            actor=Actor(actor.person_id, actor.school_id, Profile(row.profile)),
            device_id=claimed.device_id,
            issued_at=now,
        )

    # -- revocation ----------------------------------------------------------------------

    async def revoke_device(self, actor: Actor, device_id: str, *, now: float) -> None:
        moment = datetime.fromtimestamp(now, UTC)
        async with self.engine.begin() as connection:
            await connection.execute(
                devices.update()
                .where(
                    devices.c.school_id == actor.school_id,
                    devices.c.person_id == actor.person_id,
                    devices.c.id == device_id,
                    devices.c.revoked_at.is_(None),
                )
                .values(revoked_at=moment)
            )
        self.revoked_devices.add(device_id)
        await self._announce(Revocation(kind="device", id=device_id))

    async def revoke_person(
        self,
        connection: AsyncConnection,
        *,
        school_id: int,
        person_id: int,
        keep_device: str | None,
        now: float,
    ) -> float | None:
        """Inside the caller's transaction: end every session and device of a person
        (but ``keep_device``, whose stored expiry is returned, as a timestamp). Call
        :meth:`announce_person` after the commit."""
        moment = datetime.fromtimestamp(now, UTC)
        await connection.execute(
            people.update()
            .where(people.c.school_id == school_id, people.c.id == person_id)
            .values(sessions_valid_after=now)
        )
        condition = [
            devices.c.school_id == school_id,
            devices.c.person_id == person_id,
            devices.c.revoked_at.is_(None),
        ]
        if keep_device is None:
            await connection.execute(devices.update().where(*condition).values(revoked_at=moment))
            return None
        condition.append(devices.c.id != keep_device)
        await connection.execute(devices.update().where(*condition).values(revoked_at=moment))
        kept = await connection.scalar(
            sa.select(devices.c.expires_at).where(
                devices.c.school_id == school_id, devices.c.id == keep_device
            )
        )
        return None if kept is None else float(kept.timestamp())

    async def announce_person(self, person_id: int, *, after: float) -> None:
        self.valid_after[person_id] = max(self.valid_after.get(person_id, 0.0), after)
        await self._announce(Revocation(kind="person", id=str(person_id), after=after))

    async def _announce(self, revocation: Revocation) -> None:
        try:
            await self.state.publish(REVOCATION_CHANNEL, msgspec.json.encode(revocation))
        except SharedStateUnavailable:
            # Other processes pick it up from the database within RESYNC_SECONDS.
            log.warning("revocation not published; other processes will resync from the database")

    def _apply(self, revocation: Revocation) -> None:
        if revocation.kind == "device":
            self.revoked_devices.add(revocation.id)
        elif revocation.kind == "person":
            person_id = int(revocation.id)
            self.valid_after[person_id] = max(
                self.valid_after.get(person_id, 0.0), revocation.after
            )

    async def resync(self, *, now: float) -> None:
        """Re-read revocations recent enough to matter (younger than a device credential)."""
        horizon = now - self.device_seconds
        since = max(horizon, self._synced_until - 2 * RESYNC_SECONDS)
        since_moment = datetime.fromtimestamp(since, UTC)
        async with self.engine.connect() as connection:
            revoked = await connection.execute(
                sa.select(devices.c.id).where(devices.c.revoked_at >= since_moment)
            )
            for (device_id,) in revoked:
                self.revoked_devices.add(device_id)
            changed = await connection.execute(
                sa.select(people.c.id, people.c.sessions_valid_after).where(
                    people.c.sessions_valid_after >= since
                )
            )
            for person_id, after in changed:
                self._apply(Revocation(kind="person", id=str(person_id), after=after))
        self._synced_until = now
        self._resynced_at = now

    async def start(self, clock: Any) -> None:
        await self.resync(now=clock())
        self._tasks.append(asyncio.create_task(self._listen()))
        self._tasks.append(asyncio.create_task(self._resync_forever(clock)))

    async def stop(self) -> None:
        await cancel_all(self._tasks)
        with contextlib.suppress(Exception):
            await self.flush_seen()

    async def _listen(self) -> None:
        decoder = msgspec.json.Decoder(Revocation)

        def on_message(message: bytes) -> None:
            with contextlib.suppress(msgspec.DecodeError, ValueError):
                self._apply(decoder.decode(message))

        # A lost message is caught by the database resync within RESYNC_SECONDS.
        await follow(self.state, REVOCATION_CHANNEL, on_message, retry_s=2.0)

    async def _resync_forever(self, clock: Any) -> None:
        last_flush = clock()
        while True:
            await asyncio.sleep(RESYNC_SECONDS)
            try:
                await self.resync(now=clock())
            except Exception:
                log.exception("revocation resync failed; will retry")
            if clock() - last_flush >= SEEN_FLUSH_SECONDS:
                last_flush = clock()
                try:
                    await self.flush_seen()
                except Exception:
                    log.warning("devices' last seen not written; will retry")
