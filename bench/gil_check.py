"""Which sign-in work leaves the event loop's core: argon2's verify, pysaml2 in a thread,
pysaml2 in the SAML pool's worker process.

    .venv/bin/python bench/gil_check.py [--calls 20]

A pure-Python ticker thread stands for the event loop; it lets go of the GIL every 1000
ticks. The GIL's switch interval is raised to 5 s, so the main thread, once it holds the
GIL, keeps it until its work lets go of it (C code that releases it, a wait on another
process). While the main thread runs one kind of sign-in work, the ticker's ticks are
compared with its rate alone, measured just before: the share of the work's time during
which the GIL was free for the event loop. The load of the machine slows both measures
alike, so it changes this share little (compare the rows of one run)."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from argon2 import PasswordHasher, Type
from saml2 import BINDING_HTTP_POST
from saml2.metadata import entity_descriptor

from preau.actions.sso import saml_pool
from preau.actions.sso.saml import SamlServiceProvider
from preau.actions.sso.saml_pool import SamlWorkers
from preau.domain.sso import parse_saml_providers

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.sso.identity_providers import (
    IDP_ENTITY_ID,
    SamlIdentityProvider,
    idp_metadata,
    make_key_pair,
)  # after the path fix above: EduConnect's stand-in, as the SSO tests use it

ATTRIBUTES = {"FrEduCtId": ["fr-educonnect-1"], "givenName": ["Élève"], "sn": ["Banc"]}


class Ticker(threading.Thread):
    """Counts as fast as pure Python can, in its own thread: the event loop's stand-in."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.count = 0
        self.running = True

    def run(self) -> None:
        count = 0
        while self.running:
            count += 1
            self.count = count
            if count % 1000 == 0:
                time.sleep(0)  # lets go of the GIL, as an event loop does at each select


def measure(ticker: Ticker, name: str, work: Callable[[], object], calls: int) -> None:
    started, ticks = time.perf_counter(), ticker.count
    time.sleep(0.5)  # the ticker alone (this thread asleep, the GIL free)
    alone = (ticker.count - ticks) / (time.perf_counter() - started)
    wall, own, ticks = time.perf_counter(), time.thread_time(), ticker.count
    for _ in range(calls):
        work()
    wall, own = time.perf_counter() - wall, time.thread_time() - own
    free = (ticker.count - ticks) / wall / alone
    print(f"{name:<44} {1000 * own / calls:7.2f} ms {1000 * wall / calls:7.2f} ms {free:6.0%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=20)
    calls = parser.parse_args().calls
    folder = Path(tempfile.mkdtemp(prefix="preau-gil-"))
    idp_key, idp_cert = make_key_pair(folder, "idp")
    sp_key, sp_cert = make_key_pair(folder, "sp")
    (folder / "idp.xml").write_text(idp_metadata(idp_key, idp_cert))
    sp = SamlServiceProvider(
        base_url="http://bench.test",
        providers=parse_saml_providers(
            f"educonnect|ÉduConnect|{IDP_ENTITY_ID}|{folder / 'idp.xml'}|*"
        ),
        key_file=sp_key,
        cert_file=sp_cert,
        identifier_attributes=("FrEduCtId",),
    )
    client = saml_pool.build_client(sp.pool.config)
    idp = SamlIdentityProvider(idp_key, idp_cert, str(entity_descriptor(client.config)))

    def answers() -> list[tuple[str, str]]:
        made = []
        for _ in range(calls):
            request_id, info = client.prepare_for_authenticate(entityid=IDP_ENTITY_ID)
            location = str(dict(info["headers"])["Location"])
            made.append((idp.answer(location, ATTRIBUTES).form["SAMLResponse"], request_id))
        return made

    hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, type=Type.ID)
    stored = hasher.hash("correct horse battery")
    in_thread, in_pool = iter(answers()), iter(answers())
    pool = SamlWorkers(sp.pool.config, workers=1, queue=calls)
    loop = asyncio.new_event_loop()
    loop.run_until_complete(pool.warm())

    block = os.urandom(16 << 20)

    def sha256() -> None:  # C that releases the GIL (hashlib, over 2 kB): the reference
        hashlib.sha256(block).digest()

    def python() -> None:  # pure Python, the GIL held: the other reference
        total = 0
        for number in range(400_000):
            total += number

    def verify() -> None:
        hasher.verify(stored, "correct horse battery")

    def authn_request() -> None:
        client.prepare_for_authenticate(entityid=IDP_ENTITY_ID)

    def parse_here() -> None:
        response, request_id = next(in_thread)
        client.parse_authn_request_response(response, BINDING_HTTP_POST, {request_id: "/"})

    def parse_in_pool() -> None:
        response, request_id = next(in_pool)
        loop.run_until_complete(
            pool.run("answer", saml_pool.parse_answer, response, request_id, "/")
        )

    sys.setswitchinterval(5.0)  # the GIL is let go of only when the work lets go of it
    ticker = Ticker()
    ticker.start()
    print(f"load average {os.getloadavg()}, {os.cpu_count()} CPUs, {calls} calls each")
    print(f"{'work, from the main thread':<44} {'own CPU':>10} {'wall':>10} GIL free")
    measure(ticker, "sha256 of 16 MiB (C, releases the GIL)", sha256, calls)
    measure(ticker, "a pure-Python loop (holds the GIL)", python, calls)
    measure(ticker, "argon2id verify (m=19 MiB, t=2, p=1)", verify, calls)
    measure(ticker, "pysaml2 AuthnRequest, in this process", authn_request, calls)
    measure(ticker, "pysaml2 answer checked, in this process", parse_here, calls)
    measure(ticker, "pysaml2 answer checked, in the SAML pool", parse_in_pool, calls)
    ticker.running = False
    loop.run_until_complete(pool.close())
    loop.close()


if __name__ == "__main__":
    main()
