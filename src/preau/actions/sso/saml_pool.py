"""pysaml2's work for Préau's SAML service provider, in a small pool of worker processes.

pysaml2 is mostly pure Python (the answer's parsing, its check against the SAML schemas,
the AuthnRequest's building): in a thread it holds the GIL, so it would take its
milliseconds from the event loop of its own process. Here it runs in ``workers``
processes beside the app (forked from a forkserver that has already imported pysaml2),
each building its pysaml2 client once, from the settings, and keeping it.

The pool starts on the first SAML request and stops with the app; at most ``queue`` calls
wait for a worker, beyond that a sign-in is refused at once with :class:`SamlBusy` (503,
``Retry-After``), as the password hashing pool does. A worker that dies (killed, out of
memory) fails only the call it ran (:class:`SamlWorkerLost`, 503): the pool is replaced.

What the workers send back is plain data (strings, lists, dicts): pysaml2's objects stay in
the worker. Signatures are checked there by the ``signatures`` module, as before."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, TypeVar

from prometheus_client import Counter
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.metadata import entity_descriptor
from saml2.saml import name_id_from_string

from preau.actions.sso.signatures import security_context
from preau.domain.errors import ServiceUnavailable
from preau.i18n import lazy

log = logging.getLogger("preau.sso")

SAML_BUSY = lazy(
    "Préau is checking many sign-ins at this moment. Nothing was done: please try again in "
    "{seconds} seconds."
)
SAML_WORKER_LOST = lazy(
    "Préau could not finish checking this sign-in (its worker stopped). Nothing was done: go "
    "back to Préau's login page and sign in again."
)

saml_calls = Counter("preau_saml_calls_total", "pysaml2 calls run in the SAML workers.", ["kind"])
saml_refused = Counter(
    "preau_saml_refused_total", "SAML requests answered 503 because the SAML pool was full."
)
saml_workers_lost = Counter(
    "preau_saml_workers_lost_total", "SAML calls failed because their worker process died."
)

Result = TypeVar("Result")


class SamlBusy(ServiceUnavailable):
    """The SAML pool's queue is full: answered 503 with ``Retry-After``."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, seconds=retry_after)
        self.retry_after = retry_after


class SamlWorkerLost(ServiceUnavailable):
    """The worker running this call died: answered 503; the pool was replaced."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Refused(Exception):
    """pysaml2 refused a message (its many exception kinds, one meaning: not verified),
    sent back as one kind that always crosses the process boundary."""


# -- in a worker -----------------------------------------------------------------------

_config: dict[str, Any] | None = None
_client: Saml2Client | None = None


def _start_worker(config: dict[str, Any]) -> None:
    """The pool's initializer: the client itself is built on first use, so a metadata
    source that cannot be read fails one call, not the pool."""
    global _config, _client  # one client per worker process
    _config, _client = config, None


def build_client(config: dict[str, Any]) -> Saml2Client:
    settings = SPConfig()
    settings.load(dict(config))
    # pysaml2 checks the signature of a request received over the redirect binding only
    # when this (IdP-side) setting is on; for an SP that is the identity provider's
    # LogoutRequest, which must be signed: anyone could end anyone's session otherwise.
    settings.setattr("idp", "want_authn_requests_signed", True)
    client = Saml2Client(config=settings)
    # Signatures checked in process (signatures module), by every part that checks one.
    client.sec = security_context(settings)
    client.metadata.security = client.sec
    for source in client.metadata.metadata.values():
        source.security = client.sec
    return client


def _the_client() -> Saml2Client:
    global _client  # noqa: PLW0603 - built once per worker, kept
    if _client is None:
        if _config is None:
            raise RuntimeError("not a SAML worker")
        _client = build_client(_config)
    return _client


def _warm(seconds: float) -> int:
    """The client built, then this worker kept busy a moment, so that ``workers`` calls
    at once reach ``workers`` distinct processes."""
    _the_client()
    time.sleep(seconds)
    return os.getpid()


def _location(info: dict[str, Any]) -> str:
    return str(dict(info["headers"])["Location"])


@dataclass(frozen=True)
class Answer:
    """What Préau needs of a verified answer to its AuthnRequest."""

    issuer: str
    assertion_id: str
    name_id: str | None  # the NameID element, as XML (kept for single logout)
    name_id_text: str | None
    not_on_or_after: float
    session_index: str | None
    attributes: dict[str, list[str]]
    pid: int  # the worker that checked it


def metadata() -> str:
    return str(entity_descriptor(_the_client().config))


def prepare_authenticate(entity_id: str, relay_state: str) -> tuple[str, str, int]:
    """A signed AuthnRequest: its id, the identity provider's address carrying it, and
    the worker's pid."""
    request_id, info = _the_client().prepare_for_authenticate(
        entityid=entity_id, relay_state=relay_state
    )
    return str(request_id), _location(info), os.getpid()


def parse_answer(saml_response: str, request_id: str, next_path: str) -> Answer | None:
    """The answer checked by pysaml2 (signature, audience, validity, InResponseTo the one
    pending request given): None when it holds no assertion; :class:`Refused` when any
    check fails."""
    client = _the_client()
    try:
        response = client.parse_authn_request_response(
            saml_response, BINDING_HTTP_POST, {request_id: next_path}
        )
    except Exception as error:  # pysaml2 raises many kinds for one meaning: not verified
        raise Refused(f"{type(error).__name__}: {error}") from None
    if response is None or response.assertion is None:
        return None
    name_id = response.name_id
    # pysaml2 also keeps who signed in, in memory; Préau keeps it in the shared state. The
    # same person signing in twice at once (two devices) is removed by the first answer.
    if name_id is not None:
        with contextlib.suppress(KeyError):
            client.users.remove_person(name_id)
    info = response.session_info()
    return Answer(
        issuer=str(response.issuer()),
        assertion_id=str(response.assertion.id),
        name_id=str(name_id) if name_id is not None else None,
        name_id_text=str(name_id.text) if name_id is not None else None,
        not_on_or_after=float(info.get("not_on_or_after") or 0),
        session_index=info.get("session_index"),
        attributes={key: [str(value) for value in values] for key, values in response.ava.items()},
        pid=os.getpid(),
    )


def logout_request(entity_id: str, name_id: str, session_index: str | None) -> str | None:
    """The address of the identity provider's logout, with Préau's signed LogoutRequest,
    or None when its metadata has no logout service."""
    client = _the_client()
    locations = client.metadata.single_logout_service(entity_id, BINDING_HTTP_REDIRECT, "idpsso")
    if not locations:
        return None
    destination = locations[0]["location"]
    indexes = [session_index] if session_index else None
    _request_id, request = client.create_logout_request(
        destination,
        entity_id,
        name_id=name_id_from_string(name_id),
        session_indexes=indexes,
        sign=False,
    )
    return _location(
        client.apply_binding(BINDING_HTTP_REDIRECT, str(request), destination, "/login", sign=True)
    )


def logout_response_verified(response: str) -> bool:
    """The identity provider's answer to Préau's LogoutRequest, checked."""
    try:
        parsed = _the_client().parse_logout_request_response(response, BINDING_HTTP_REDIRECT)
    except Exception as error:  # pysaml2's many kinds of "not verified"
        raise Refused(f"{type(error).__name__}: {error}") from None
    return parsed is not None


def answer_logout_request(
    request: str, relay_state: str, sig_alg: str | None, signature: str | None
) -> tuple[str, str, str] | None:
    """The identity provider's own LogoutRequest, its signature checked, and Préau's
    signed answer built: (issuer, NameID's text, the answer's address), or None."""
    client = _the_client()
    try:
        parsed = client.parse_logout_request(
            request, BINDING_HTTP_REDIRECT, relay_state, sig_alg, signature
        )
        if parsed is None:
            return None
        message = parsed.message
        issuer = message.issuer.text if message.issuer is not None else ""
        name_id_text = str(message.name_id.text)
        logout_response = client.create_logout_response(
            message, [BINDING_HTTP_REDIRECT], status=None, sign=False
        )
        args = client.response_args(message, [BINDING_HTTP_REDIRECT])
        info = client.apply_binding(
            args["binding"],
            str(logout_response),
            args["destination"],
            relay_state,
            response=True,
            sign=True,
        )
    except Exception as error:  # pysaml2's many kinds of "not verified"
        raise Refused(f"{type(error).__name__}: {error}") from None
    return str(issuer or ""), name_id_text, _location(info)


# -- in the app ------------------------------------------------------------------------


class SamlWorkers:
    """The pool of ``workers`` processes, started on first use, with at most ``queue``
    calls waiting for one (counted in this event loop's process)."""

    RETRY_AFTER_SECONDS = 5

    def __init__(self, config: dict[str, Any], *, workers: int, queue: int) -> None:
        self.config = config
        self.workers = max(1, workers)
        self._capacity = self.workers + max(0, queue)
        self._executor: ProcessPoolExecutor | None = None
        self._admitted = 0  # running and waiting
        self._closed = False  # stopped with the app: no pool starts again

    @property
    def admitted(self) -> int:
        return self._admitted

    @property
    def started(self) -> bool:
        return self._executor is not None

    def pids(self) -> list[int]:
        """The worker processes running now (for the calibration's CPU accounting)."""
        executor = self._executor
        processes = getattr(executor, "_processes", None) or {}
        return sorted(int(pid) for pid in processes)

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            context = multiprocessing.get_context("forkserver")
            # The forkserver (one per app process, started once) imports pysaml2 and lxml
            # before forking workers, so a new worker is ready in milliseconds.
            context.set_forkserver_preload([__name__])
            self._executor = ProcessPoolExecutor(
                self.workers,
                mp_context=context,
                initializer=_start_worker,
                initargs=(self.config,),
            )
        return self._executor

    def _replace(self, executor: ProcessPoolExecutor) -> None:
        if self._executor is executor:
            self._executor = None
        executor.shutdown(wait=False, cancel_futures=True)

    def _release(self, _future: object = None) -> None:
        self._admitted -= 1

    def check_room(self) -> None:
        """Refuse at once (:class:`SamlBusy`) when the pool and its queue are full: called
        before anything is used up (an answer's pending request), so that trying again
        in a few seconds works."""
        if self._admitted >= self._capacity or self._closed:
            saml_refused.inc()
            raise SamlBusy(SAML_BUSY, retry_after=self.RETRY_AFTER_SECONDS)

    async def run(self, kind: str, work: Callable[..., Result], *args: Any) -> Result:
        """``work(*args)`` in a worker process. Refused at once when the pool and its
        queue are full; a worker's death fails this call only."""
        self.check_room()
        self._admitted += 1
        saml_calls.labels(kind).inc()
        future: Future[Result] | None = None
        executor = self._pool()
        for _attempt in range(2):
            try:
                future = executor.submit(work, *args)
                break
            except (BrokenProcessPool, RuntimeError):
                # Broken while idle (a worker was killed between calls): nothing of this
                # call was lost, so it goes to a new pool.
                self._replace(executor)
                executor = self._pool()
        if future is None:
            self._release()
            raise SamlWorkerLost(SAML_WORKER_LOST, retry_after=self.RETRY_AFTER_SECONDS)
        # Released when the work ends, even if this request is cancelled meanwhile: a
        # worker still busy with it counts.
        future.add_done_callback(self._release)
        try:
            return await asyncio.wrap_future(future)
        except BrokenProcessPool:
            saml_workers_lost.inc()
            log.warning("a SAML worker died during a %s call: the pool is replaced", kind)
            self._replace(executor)
            raise SamlWorkerLost(SAML_WORKER_LOST, retry_after=self.RETRY_AFTER_SECONDS) from None

    async def warm(self) -> list[int]:
        """Every worker started, its client built (for benchmarks: a server warms up on
        its first sign-ins)."""
        calls = [self.run("warm", _warm, 0.2) for _ in range(self.workers)]
        return sorted(set(await asyncio.gather(*calls)))

    async def close(self) -> None:
        """Stop the workers (waiting for them, so none outlives the app)."""
        self._closed = True
        executor, self._executor = self._executor, None
        if executor is not None:
            await asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True)
