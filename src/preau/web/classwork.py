"""Classwork pages: the pupil's to-do and hand-in, the teacher's homework and reviews,
the parents' read-only view, and file downloads.

The to-do page is the hottest page in Préau: a warm one is answered before the router
(:data:`TODO_PAGE`, see ``web/warm.py``) straight from the per-process cache (no
database, no template), with an ETag; only a cold request reaches the handler. A pupil's
own page for one homework is kept rendered the same way (:func:`own_homework_page`).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from litestar import Request, Response, Router, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Stream

from preau import i18n
from preau.actions import classwork
from preau.actions.classwork.files import Download, Upload, download
from preau.actions.classwork.todo import CachedHomework, CachedTodo
from preau.actions.context import Services
from preau.actions.directory import get_person, list_groups, relatives
from preau.actions.sessions import Session
from preau.actions.zones import school_zone
from preau.asgi import COPY_TAG, Scope
from preau.cookies import CONFIRMATION_COOKIE, cookie_header
from preau.domain.bounds import check_moment
from preau.domain.classwork import (
    HandInAction,
    HandInState,
    HomeworkChanges,
    HomeworkCopy,
    HomeworkDraft,
    InstructionsFormat,
    TurnIn,
    attachment_disposition,
)
from preau.domain.errors import InvalidInput, NotAuthenticated, NotFound, PreauError
from preau.domain.hand_in_review import needs_review, safe_back
from preau.domain.people import STAFF_PROFILES, Actor, Profile
from preau.web.dependencies import AppServices, SignedInActor
from preau.web.guards import signed_in
from preau.web.params import IdPath, IdQuery, form_id, form_ids
from preau.web.render import (
    CSRF_MARK_BYTES,
    environment,
    page_bytes,
    reader_csrf,
    render,
)
from preau.web.render import translate_error as sentence
from preau.web.warm import HTML, Warm, WarmPage, WarmRead, page_for_reader

Req = Request[Any, Any, Any]

NOT_A_PUPIL = i18n.lazy("Only pupils have a to-do list. Parents see their children's.")
BAD_TIME = i18n.lazy("Write the time as a date and an hour, like 2026-11-23 08:00.")
BAD_NUMBER = i18n.lazy("Write a number, like 14 or 14.5.")
STATE_ACTIONS = {
    "missing": HandInAction.MARK_MISSING,
    "excused": HandInAction.MARK_EXCUSED,
    "reset": HandInAction.RESET,
}


# -- helpers -----------------------------------------------------------------------------


def moment_formatter(zone: ZoneInfo, locale: str) -> Any:
    def when(moment: datetime | None, style: str = "datetime") -> str:
        if moment is None:
            return ""
        if style == "day":
            return format_date(moment.astimezone(zone).date(), "EEEE d MMMM", locale=locale)
        if style == "input":
            return moment.astimezone(zone).strftime("%Y-%m-%dT%H:%M")
        return format_datetime(moment, "EEEE d MMMM, HH:mm", tzinfo=zone, locale=locale)

    return when


def size_text(size: int) -> str:
    if size < 1024:
        return f"{size} o" if i18n.current_locale.get() == "fr" else f"{size} B"
    if size < 1024 * 1024:
        return (
            f"{size / 1024:.0f} Ko"
            if i18n.current_locale.get() == "fr"
            else f"{size / 1024:.0f} KB"
        )
    unit = "Mo" if i18n.current_locale.get() == "fr" else "MB"
    return f"{size / 1024 / 1024:.1f} {unit}"


environment.globals["file_size"] = size_text


async def zone_for(services: Services, actor: Actor) -> ZoneInfo:
    return await school_zone(services, actor.school_id)


CHOOSE_GROUP = i18n.lazy("Choose a class or group.")


def local_time(value: str, field: str) -> datetime | None:
    value = value.strip()
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace(" ", "T"))
    except ValueError:
        raise InvalidInput(BAD_TIME, field=field) from None
    return check_moment(moment, field)


def number(value: str, field: str) -> float | None:
    value = value.strip().replace(",", ".")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        raise InvalidInput(BAD_NUMBER, field=field) from None


async def uploads_of(form: Any, name: str) -> list[Upload]:
    found = []
    for item in form.getall(name, []):
        if isinstance(item, UploadFile) and (item.filename or item.file):
            data = await item.read()
            if not item.filename and not data:
                continue  # the empty file input a browser sends when nothing is chosen
            found.append(Upload(name=item.filename or "", data=data))
    return found


# -- the to-do, warm ------------------------------------------------------------------------


def own_todo(services: Services, actor: Actor, scope: Scope) -> int | None:
    """Who a warm to-do is for: a pupil reading their own."""
    del services, scope
    return actor.person_id if actor.profile is Profile.PUPIL else None


def find_todo(services: Services, actor: Actor, pupil_id: int) -> CachedTodo | None:
    return services.todo_cache.lookup(actor.school_id, pupil_id, services.clock())


async def load_todo(services: Services, actor: Actor, pupil_id: int) -> CachedTodo:
    return await classwork.todo_of(services, actor, pupil_id)


def todo_page_answer(services: Services, entry: CachedTodo, scope: Scope) -> Warm | None:
    """The cached page in the reader's locale, with their own CSRF token."""
    page = entry.parts.get(("html", scope["state"]["locale"]))
    return page_for_reader(services, page, entry.etag, scope)


def render_todo_page(request: Req, actor: Actor, entry: CachedTodo) -> None:
    del actor
    locale = request.scope["state"]["locale"]
    entry.parts[("html", locale)] = page_bytes(
        request,
        "classwork/todo.html",
        todo=entry.todo,
        when=moment_formatter(entry.zone, locale),
        read_only=False,
    )


TODO_PAGE = WarmRead(
    path="/todo",
    media_type=HTML,
    key=own_todo,
    find=find_todo,
    load=load_todo,
    answer=todo_page_answer,
    render=render_todo_page,
)


@get("/todo", include_in_schema=False)
async def todo_page(request: Req, services: AppServices, actor: SignedInActor) -> Response[Any]:
    if actor.profile is Profile.PARENT:
        return Redirect("/children")
    if actor.profile is not Profile.PUPIL:
        return Redirect("/classwork")
    return await TODO_PAGE.respond(request, services, actor, actor.person_id)


@post("/todo/{homework_id:int}/done", include_in_schema=False)
async def todo_done(
    request: Req, services: AppServices, actor: SignedInActor, homework_id: IdPath
) -> Redirect:
    form = await request.form()
    await classwork.set_done(services, actor, homework_id, done=form.get("done") == "1")
    return Redirect(f"/todo#homework-{homework_id}")


# -- parents ---------------------------------------------------------------------------------


@get("/children", include_in_schema=False)
async def children_page(request: Req, services: AppServices, actor: SignedInActor) -> Response[Any]:
    if actor.profile is not Profile.PARENT:
        return Redirect("/todo")
    children = await relatives(services, actor, actor.person_id)
    if len(children) == 1:
        return Redirect(f"/children/{children[0].id}/todo")
    return render(request, "classwork/children.html", children=children)


@get("/children/{pupil_id:int}/todo", include_in_schema=False)
async def child_todo_page(
    request: Req, services: AppServices, actor: SignedInActor, pupil_id: IdPath
) -> Response[Any]:
    entry = await classwork.todo_of(services, actor, pupil_id)
    child = await classwork_person(services, actor, pupil_id)
    return render(
        request,
        "classwork/todo.html",
        todo=entry.todo,
        when=moment_formatter(entry.zone, i18n.current_locale.get()),
        read_only=True,
        child=child,
    )


async def classwork_person(services: Services, actor: Actor, person_id: int) -> Any:
    return await get_person(services, actor, person_id)


# -- one homework: the pupil's and parent's view ------------------------------------------


@get("/homework/{homework_id:int}", include_in_schema=False)
async def homework_page(
    request: Req,
    services: AppServices,
    actor: SignedInActor,
    homework_id: IdPath,
    pupil: IdQuery = None,
) -> Response[Any]:
    if actor.profile in STAFF_PROFILES:
        return await teacher_homework_page(request, services, actor, homework_id)
    if actor.profile is Profile.PUPIL and not request.scope["query_string"]:
        # The plain case, warm: no `pupil`, no `done=` (those go the long way); the
        # confirmation after turning in or taking back comes in a cookie.
        return await own_homework_page(request, services, actor, homework_id)
    return await pupil_homework_page(request, services, actor, homework_id, pupil)


# Replaced by a new key on every page sent: a form answered twice (a double click, a
# retry) turns in once, and two pages never share a key. Random for each process, like
# the CSRF mark, so instructions or a hand-in text cannot carry it.
IDEMPOTENCY_MARK = f"@@preau-idempotency-{secrets.token_hex(8)}@@".encode()
# Where the one-time confirmation goes ("Your work is turned in."), or nothing.
CONFIRMATION_MARK = f"@@preau-confirmation-{secrets.token_hex(8)}@@".encode()
CONFIRMATION_SECONDS = 60  # the redirect is followed at once; this only bounds a lost one


async def own_homework_page(
    request: Req, services: Services, actor: Actor, homework_id: int
) -> Response[bytes]:
    """A pupil's own page for one homework, rendered once per locale and kept with the
    cached homework and hand-in; each reader gets their CSRF token and a fresh
    idempotency key put into it, and the confirmation of what they just did if the
    redirect from the form left one in a cookie (cleared by this page). Never
    revalidated with an ETag: a page kept by the browser would turn in with a key
    already used. When warm and without a confirmation, :data:`OWN_HOMEWORK_PAGE`
    answers it before the router."""
    entry = await classwork.own_homework(services, actor, homework_id)
    locale = i18n.current_locale.get()
    page = entry.pages.get(locale)
    if page is None:
        page = page_bytes(
            request,
            "classwork/homework.html",
            work=entry.work,
            hand_in=entry.hand_in,
            when=moment_formatter(entry.zone, locale),
            read_only=False,
            idempotency_key=IDEMPOTENCY_MARK.decode(),
            confirmation_mark=CONFIRMATION_MARK.decode(),
            error=None,
            text=entry.hand_in.text,
        )
        entry.pages[locale] = page
    cookies_in = request.scope["state"]["cookies"]
    done = cookies_in.get(CONFIRMATION_COOKIE)
    confirmation = b""
    headers = {"cache-control": "no-store"}
    if done is not None:
        template = environment.get_template("classwork/_confirmation.html")
        confirmation = template.render(done=done).encode()
        headers["set-cookie"] = confirmation_cookie(services, homework_id, "", max_age=0)
    body = _own_page_for_reader(services, page, cookies_in, confirmation)
    if not confirmation:
        request.scope["state"][COPY_TAG] = copy_tag(entry, locale)
    return Response(body, media_type="text/html", headers=headers)


def _own_page_for_reader(
    services: Services, page: bytes, cookies: dict[str, str], confirmation: bytes
) -> bytes:
    return (
        page.replace(CSRF_MARK_BYTES, reader_csrf(services.settings.secret_key, cookies))
        .replace(IDEMPOTENCY_MARK, secrets.token_urlsafe(16).encode())
        .replace(CONFIRMATION_MARK, confirmation)
    )


def copy_tag(entry: CachedHomework, locale: str) -> bytes:
    """What the page was made from (the versions its entry was loaded under, the locale):
    the degraded layer keeps the pupil's copy of it again only when this changes, not for
    every fresh form key (``asgi.COPY_TAG``)."""
    return hashlib.blake2b(repr((entry.key, locale)).encode(), digest_size=10).hexdigest().encode()


HOMEWORK_PREFIX = "/homework/"


def warm_own_homework(services: Services, session: Session, scope: Scope) -> bytes | None:
    """The pupil's own homework page from a warm entry, as :func:`own_homework_page`
    makes it (its copy tag too); None for everything else: another profile, a query
    string (``pupil=``, ``done=``), a confirmation to show, another path under
    ``/homework/``, a cold entry or a page not rendered yet in the reader's locale."""
    actor = session.actor
    rest = scope["path"][len(HOMEWORK_PREFIX) :]
    if actor.profile is not Profile.PUPIL or scope["query_string"] or not rest.isdecimal():
        return None
    state = scope["state"]
    cookies = state["cookies"]
    if CONFIRMATION_COOKIE in cookies or not rest.isascii():
        return None
    entry = services.homework_cache.lookup(
        actor.school_id, actor.person_id, int(rest), services.clock()
    )
    locale = state["locale"]
    page = None if entry is None else entry.pages.get(locale)
    if page is None or entry is None:
        return None
    state[COPY_TAG] = copy_tag(entry, locale)
    return _own_page_for_reader(services, page, cookies, b"")


OWN_HOMEWORK_PAGE = WarmPage(
    prefix=HOMEWORK_PREFIX,
    media_type=HTML,
    cache_control=b"no-store",
    answer=warm_own_homework,
)


def confirmation_cookie(services: Services, homework_id: int, done: str, *, max_age: int) -> str:
    """The one-time confirmation for one homework's page, sent to that page only: the
    ``Set-Cookie`` value (written out, not Litestar's ``Cookie``, which a turn-in's
    redirect paid for in copies of its dataclass)."""
    return cookie_header(
        CONFIRMATION_COOKIE,
        done,
        max_age=max_age,
        secure=services.settings.cookie_secure,
        path=f"/homework/{homework_id}",
    ).decode("latin-1")


def back_to_homework(services: Services, homework_id: int, done: str) -> Redirect:
    """Back to the homework's plain address, which the pupil's page cache serves, with
    what was done in a short-lived cookie rather than in a query string."""
    return Redirect(
        f"/homework/{homework_id}",
        headers={
            "set-cookie": confirmation_cookie(
                services, homework_id, done, max_age=CONFIRMATION_SECONDS
            )
        },
    )


async def pupil_homework_page(
    request: Req,
    services: Services,
    actor: Actor,
    homework_id: int,
    pupil_id: int | None,
    *,
    error: PreauError | None = None,
    text: str = "",
) -> Response[Any]:
    work = await classwork.get_homework(services, actor, homework_id)
    if pupil_id is None:
        if actor.profile is Profile.PARENT:
            children = await relatives(services, actor, actor.person_id)
            for child in children:
                if await _set_for(services, actor, homework_id, child.id):
                    pupil_id = child.id
                    break
            else:
                raise NotFound("This homework does not exist or is not for you.")
        else:
            pupil_id = actor.person_id
    hand_in = await classwork.get_hand_in(services, actor, homework_id, pupil_id)
    zone = await zone_for(services, actor)
    return render(
        request,
        "classwork/homework.html",
        status_code=error.status if error else 200,
        work=work,
        hand_in=hand_in,
        when=moment_formatter(zone, i18n.current_locale.get()),
        read_only=actor.profile is not Profile.PUPIL,
        idempotency_key=secrets.token_urlsafe(16),
        confirmation_mark="",
        done=request.query_params.get("done", ""),  # as redirects said before the cookie
        error=sentence(error) if error else None,
        text=text or hand_in.text,
    )


async def _set_for(services: Services, actor: Actor, homework_id: int, pupil_id: int) -> bool:
    try:
        await classwork.get_hand_in(services, actor, homework_id, pupil_id)
    except PreauError:
        return False
    return True


@post("/homework/{homework_id:int}/turn-in", include_in_schema=False)
async def turn_in_page(
    request: Req, services: AppServices, actor: SignedInActor, homework_id: IdPath
) -> Response[Any]:
    form = await request.form()
    text = str(form.get("text", ""))
    try:
        await classwork.turn_in(
            services,
            actor,
            homework_id,
            TurnIn(text=text, idempotency_key=str(form.get("idempotency_key", "")) or None),
            await uploads_of(form, "files"),
        )
    except PreauError as error:
        if isinstance(error, NotFound | NotAuthenticated) or error.status == 403:
            raise
        return await pupil_homework_page(
            request, services, actor, homework_id, None, error=error, text=text
        )
    return back_to_homework(services, homework_id, "turned-in")


@post("/homework/{homework_id:int}/take-back", include_in_schema=False)
async def take_back_page(
    request: Req, services: AppServices, actor: SignedInActor, homework_id: IdPath
) -> Response[Any]:
    try:
        await classwork.take_back(services, actor, homework_id)
    except PreauError as error:
        if isinstance(error, NotFound | NotAuthenticated) or error.status == 403:
            raise
        return await pupil_homework_page(request, services, actor, homework_id, None, error=error)
    return back_to_homework(services, homework_id, "taken-back")


# -- teachers ------------------------------------------------------------------------------


@get("/classwork", include_in_schema=False)
async def teacher_page(
    request: Req,
    services: AppServices,
    actor: SignedInActor,
    group: IdQuery = None,
    week: FromQuery[str] = "",
) -> Response[Any]:
    if actor.profile is Profile.PUPIL:
        return Redirect("/todo")
    if actor.profile is Profile.PARENT:
        return Redirect("/children")
    teaching: list[Any] = await classwork.teachable_groups(services, actor)
    if actor.profile is not Profile.TEACHER:  # staff and administrators read any group's
        teaching = (await list_groups(services, actor, page_size=200)).items
    week_of = local_time(week + "T12:00", "week") if week else None
    if group is None and actor.profile is not Profile.TEACHER:
        weeks = []
    else:
        weeks = await classwork.teacher_homework(services, actor, group_id=group, week_of=week_of)
    zone = await zone_for(services, actor)
    return render(
        request,
        "classwork/teacher.html",
        weeks=weeks,
        groups=teaching,
        group=group,
        week=week,
        here=urlencode({"back": list_address(group, week)}),
        when=moment_formatter(zone, i18n.current_locale.get()),
        format_day=lambda day: format_date(day, "d MMMM y", locale=i18n.current_locale.get()),
    )


def list_address(group: int | None, week: str) -> str:
    """The teacher's list as shown, for the homework page's "back" link."""
    query = urlencode(
        {key: value for key, value in (("group", group or ""), ("week", week)) if value}
    )
    return f"/classwork?{query}" if query else "/classwork"


def _form_values(form: Any) -> dict[str, str]:
    names = (
        "group_id", "title", "instructions", "instructions_format", "publish_at", "due_at",
        "cutoff_at", "estimated_minutes", "hand_in_expected", "subject",
    )  # fmt: skip
    return {name: str(form.get(name, "")) for name in names}


def _minutes(value: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise InvalidInput(
            "The estimated time is between 1 and 600 minutes.", field="estimated_minutes"
        ) from None


def _format(value: str) -> InstructionsFormat:
    return InstructionsFormat.MARKDOWN if value == "markdown" else InstructionsFormat.TEXT


async def _homework_form(
    request: Req,
    services: Services,
    actor: Actor,
    *,
    values: dict[str, str],
    work: Any = None,
    error: PreauError | None = None,
) -> Response[str]:
    return render(
        request,
        "classwork/homework_form.html",
        status_code=error.status if error else 200,
        groups=await classwork.teachable_groups(services, actor),
        values=values,
        work=work,
        error=sentence(error) if error else None,
        error_field=error.field if error else None,
    )


@get("/classwork/new", include_in_schema=False)
async def new_homework_page(
    request: Req, services: AppServices, actor: SignedInActor, group: IdQuery = None
) -> Response[str]:
    values = {"group_id": str(group or ""), "hand_in_expected": "1", "instructions_format": "text"}
    return await _homework_form(request, services, actor, values=values)


@post("/classwork/new", include_in_schema=False)
async def create_homework_page(
    request: Req, services: AppServices, actor: SignedInActor
) -> Response[Any]:
    form = await request.form()
    values = _form_values(form)
    try:
        due = local_time(values["due_at"], "due_at")
        if due is None:
            raise InvalidInput("Give the due time.", field="due_at")
        group_id = form_id(values["group_id"], "group_id", CHOOSE_GROUP)
        pupils = form_ids(form.getall("pupil_ids", []), "pupil_ids")
        work = await classwork.create_homework(
            services,
            actor,
            HomeworkDraft(
                group_id=group_id,
                title=values["title"],
                instructions=values["instructions"],
                instructions_format=_format(values["instructions_format"]),
                publish_at=local_time(values["publish_at"], "publish_at"),
                due_at=due,
                cutoff_at=local_time(values["cutoff_at"], "cutoff_at"),
                estimated_minutes=_minutes(values["estimated_minutes"]),
                hand_in_expected=values["hand_in_expected"] == "1",
                subject=values["subject"] or None,
                pupil_ids=pupils or None,
            ),
            await uploads_of(form, "files"),
        )
    except PreauError as error:
        if error.status in (401, 403, 404) and error.field != "group_id":
            raise
        return await _homework_form(request, services, actor, values=values, error=error)
    return Redirect(f"/homework/{work.id}?done=created")


@get("/homework/{homework_id:int}/edit", include_in_schema=False)
async def edit_homework_page(
    request: Req, services: AppServices, actor: SignedInActor, homework_id: IdPath
) -> Response[str]:
    work = await classwork.get_homework(services, actor, homework_id)
    zone = await zone_for(services, actor)
    when = moment_formatter(zone, "fr")
    values = {
        "group_id": str(work.group_id),
        "title": work.title,
        "instructions": work.instructions,
        "instructions_format": work.instructions_format.value,
        "publish_at": when(work.publish_at, "input"),
        "due_at": when(work.due_at, "input"),
        "cutoff_at": when(work.cutoff_at, "input"),
        "estimated_minutes": str(work.estimated_minutes or ""),
        "hand_in_expected": "1" if work.hand_in_expected else "0",
        "subject": work.subject or "",
    }
    return await _homework_form(request, services, actor, values=values, work=work)


@post("/homework/{homework_id:int}/edit", include_in_schema=False)
async def update_homework_page(
    request: Req, services: AppServices, actor: SignedInActor, homework_id: IdPath
) -> Response[Any]:
    form = await request.form()
    values = _form_values(form)
    try:
        cutoff = local_time(values["cutoff_at"], "cutoff_at")
        keep = [str(file_id) for file_id in form.getall("keep_files", [])]
        await classwork.update_homework(
            services,
            actor,
            homework_id,
            HomeworkChanges(
                title=values["title"],
                instructions=values["instructions"],
                instructions_format=_format(values["instructions_format"]),
                publish_at=local_time(values["publish_at"], "publish_at"),
                due_at=local_time(values["due_at"], "due_at"),
                cutoff_at=cutoff,
                clear_cutoff=cutoff is None,
                estimated_minutes=_minutes(values["estimated_minutes"]),
                hand_in_expected=values["hand_in_expected"] == "1",
                subject=values["subject"],
                attachment_ids=keep,
            ),
            await uploads_of(form, "files"),
        )
    except PreauError as error:
        if error.status in (401, 403, 404):
            raise
        work = await classwork.get_homework(services, actor, homework_id)
        return await _homework_form(request, services, actor, values=values, work=work, error=error)
    return Redirect(f"/homework/{homework_id}?done=saved")


@post("/homework/{homework_id:int}/delete", include_in_schema=False)
async def delete_homework_page(
    services: AppServices, actor: SignedInActor, homework_id: IdPath
) -> Redirect:
    await classwork.delete_homework(services, actor, homework_id)
    return Redirect("/classwork?done=deleted")


@post("/homework/{homework_id:int}/copy", include_in_schema=False)
async def copy_homework_page(
    request: Req, services: AppServices, actor: SignedInActor, homework_id: IdPath
) -> Redirect:
    form = await request.form()
    group_id = form_id(form.get("group_id", ""), "group_id", CHOOSE_GROUP)
    copy = await classwork.copy_homework(
        services,
        actor,
        homework_id,
        HomeworkCopy(
            group_id=group_id,
            due_at=local_time(str(form.get("due_at", "")), "due_at"),
        ),
    )
    return Redirect(f"/homework/{copy.id}?done=copied")


async def teacher_homework_page(
    request: Req, services: Services, actor: Actor, homework_id: int
) -> Response[Any]:
    work = await classwork.get_homework(services, actor, homework_id)
    hand_ins = await classwork.hand_ins_of(services, actor, homework_id)
    zone = await zone_for(services, actor)
    counts = {s.value: sum(1 for h in hand_ins if h.state is s) for s in HandInState}
    back = safe_back(request.query_params.get("back"))
    return render(
        request,
        "classwork/homework_teacher.html",
        work=work,
        hand_ins=hand_ins,
        counts=counts,
        late=sum(1 for h in hand_ins if h.late),
        groups=await classwork.teachable_groups(services, actor),
        when=moment_formatter(zone, i18n.current_locale.get()),
        done=request.query_params.get("done", ""),
        back=back,
        back_query=("?" + urlencode({"back": back})) if back else "",
        first_to_review=next((h.pupil_id for h in hand_ins if needs_review(h.state)), None),
    )


@get("/homework/{homework_id:int}/hand-ins.zip", include_in_schema=False)
async def zip_page(
    services: AppServices, actor: SignedInActor, homework_id: IdPath
) -> Response[bytes]:
    return await zip_response(services, actor, homework_id)


async def zip_response(services: Services, actor: Actor, homework_id: int) -> Response[bytes]:
    name, data = await classwork.hand_ins_zip(services, actor, homework_id)
    return Response(
        data,
        media_type="application/zip",
        headers={
            "content-disposition": attachment_disposition(name),
            "cache-control": "private, no-store",
        },
    )


# -- files ------------------------------------------------------------------------------------


def download_response(found: Download) -> Response[Any]:
    """Always a download with the sniffed type; ``nosniff`` comes from the edge layer and
    a sandboxing policy stops the file from ever running as a page."""
    if found.redirect is not None:
        return Redirect(found.redirect, status_code=303)
    assert found.chunks is not None
    return Stream(
        found.chunks,
        media_type=found.view.content_type,
        headers={
            "content-disposition": attachment_disposition(found.view.name),
            "content-length": str(found.view.size),
            "cache-control": "private, max-age=3600",
            "content-security-policy": "default-src 'none'; sandbox",
        },
    )


@get("/files/{file_id:str}", include_in_schema=False)
async def file_page(
    services: AppServices, actor: SignedInActor, file_id: FromPath[str]
) -> Response[Any]:
    return download_response(await download(services, actor, file_id[:64]))


routes = [
    Router(
        "/",
        guards=[signed_in],
        route_handlers=[
            todo_page,
            todo_done,
            children_page,
            child_todo_page,
            homework_page,
            turn_in_page,
            take_back_page,
            teacher_page,
            new_homework_page,
            create_homework_page,
            edit_homework_page,
            update_homework_page,
            delete_homework_page,
            copy_homework_page,
            zip_page,
            file_page,
        ],
    )
]
