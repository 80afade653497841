"""The credentials of the load-test demo, re-issued on every run of ``preau demo --size``:
fresh activation codes, device credentials for the remembered accounts, and the people file
that the load test reads (``bench/locust_morning.py``)."""

from __future__ import annotations

import csv
import random
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.actions.accounts import format_activation_code, new_activation_code
from preau.actions.context import Services
from preau.actions.roster.writes import CHUNK, chunks
from preau.adapters.sql.schema import devices, enrolments, groups, parent_links, people, schools
from preau.demo.school import DEMO_PASSWORD
from preau.domain.people import Actor, Profile
from preau.domain.tokens import fingerprint

#: Seeded device credentials carry this label (``devices.label``), so a later run finds them.
SEEDED_DEVICE_LABEL = "Demo device (seeded for load tests)"
PEOPLE_COLUMNS = (
    "username",
    "profile",
    "school",
    "password",
    "activation_code",
    "device_token",
    "person_id",
    "group_id",
    "child_id",
)


async def write_people_file(
    services: Services, uais: list[str], path: Path, *, remembered_share: float | None
) -> tuple[int, int]:
    """Fresh activation codes for the accounts never activated and, with
    ``remembered_share``, device credentials for that share of the others; then the people
    file at ``path``. Returns (activation codes, device credentials) issued."""
    now = services.clock()
    moment = services.now()
    rng = random.Random()  # noqa: S311 - picks which demo accounts are remembered
    async with services.engine.begin() as connection:
        school_rows = (
            await connection.execute(
                sa.select(schools.c.id, schools.c.uai).where(schools.c.uai.in_(uais))
            )
        ).all()
        uai_of = {int(row.id): str(row.uai) for row in school_rows}
        school_ids = list(uai_of)
        rows = (
            await connection.execute(
                sa.select(
                    people.c.id,
                    people.c.school_id,
                    people.c.profile,
                    people.c.username,
                    people.c.password_hash,
                )
                .where(people.c.school_id.in_(school_ids))
                .order_by(people.c.id)
            )
        ).all()
        first_group = dict(
            (
                await connection.execute(
                    sa.select(enrolments.c.person_id, sa.func.min(enrolments.c.group_id))
                    .join(groups, groups.c.id == enrolments.c.group_id)
                    .where(enrolments.c.school_id.in_(school_ids), groups.c.kind == "class")
                    .group_by(enrolments.c.person_id)
                )
            ).all()
        )
        first_child = dict(
            (
                await connection.execute(
                    sa.select(parent_links.c.parent_id, sa.func.min(parent_links.c.child_id))
                    .where(parent_links.c.school_id.in_(school_ids))
                    .group_by(parent_links.c.parent_id)
                )
            ).all()
        )
        # Accounts never activated get a fresh code each run (the old one stops working).
        codes: dict[int, str] = {}
        for row in rows:
            if row.password_hash is None:
                codes[int(row.id)] = new_activation_code()
        update = (
            people.update()
            .where(people.c.id == sa.bindparam("person_id"))
            .values(activation_code_hash=sa.bindparam("code_hash"))
        )
        pairs = [{"person_id": pid, "code_hash": fingerprint(code)} for pid, code in codes.items()]
        for chunk in chunks(pairs, CHUNK):
            await connection.execute(update, list(chunk))
        tokens: dict[int, str] = {}
        if remembered_share is not None:
            tokens = await _device_tokens(
                services,
                connection,
                school_ids,
                rows,
                remembered_share=remembered_share,
                now=now,
                moment=moment,
                rng=rng,
            )
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    with partial.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(PEOPLE_COLUMNS)
        for row in rows:
            person_id = int(row.id)
            code = codes.get(person_id)
            writer.writerow(
                [
                    row.username,
                    row.profile,
                    uai_of[int(row.school_id)],
                    "" if code else DEMO_PASSWORD,
                    format_activation_code(code) if code else "",
                    tokens.get(person_id, ""),
                    person_id,
                    first_group.get(person_id, ""),
                    first_child.get(person_id, ""),
                ]
            )
    partial.chmod(0o600)  # device credentials are bearer secrets
    partial.replace(path)
    return len(codes), len(tokens)


async def _device_tokens(
    services: Services,
    connection: AsyncConnection,
    school_ids: list[int],
    rows: Sequence[Any],
    *,
    remembered_share: float,
    now: float,
    moment: datetime,
    rng: random.Random,
) -> dict[int, str]:
    """Device credentials for the remembered accounts, signed with this deployment's secret.

    The ``devices`` rows are made once (labelled :data:`SEEDED_DEVICE_LABEL`); later runs
    sign new credentials for the same devices, valid for the configured lifetime.
    """
    seeded = (
        devices.c.school_id.in_(school_ids),
        devices.c.label == SEEDED_DEVICE_LABEL,
        devices.c.revoked_at.is_(None),
    )
    found = await connection.execute(sa.select(devices.c.person_id, devices.c.id).where(*seeded))
    existing = {int(person): str(device) for person, device in found}
    if not existing:
        lifetime = timedelta(seconds=services.sessions.device_seconds)
        new_rows: list[dict[str, Any]] = [
            {
                "id": secrets.token_urlsafe(16),
                "school_id": int(row.school_id),
                "person_id": int(row.id),
                "label": SEEDED_DEVICE_LABEL,
                "created_at": moment,
                "last_seen_at": moment,
                "expires_at": moment + lifetime,
            }
            for row in rows
            if row.password_hash is not None and rng.random() < remembered_share
        ]
        for chunk in chunks(new_rows, CHUNK):
            await connection.execute(devices.insert(), list(chunk))
        existing = {int(row["person_id"]): str(row["id"]) for row in new_rows}
    else:
        # Keep the devices alive for as long as the credentials about to be signed.
        await connection.execute(
            devices.update()
            .where(*seeded)
            .values(expires_at=moment + timedelta(seconds=services.sessions.device_seconds))
        )
    by_id = {int(row.id): row for row in rows}
    return {
        person_id: services.sessions.issue_device(
            Actor(person_id, int(by_id[person_id].school_id), Profile(by_id[person_id].profile)),
            device_id,
            now=now,
        )
        for person_id, device_id in existing.items()
        if person_id in by_id
    }
