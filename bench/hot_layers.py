"""The cost of each layer on the hottest reads, in process: the warm to-do (JSON) and its
``304``, called straight on the ASGI application (no server, no socket) in a loop, from
each layer inwards, so that the difference between two lines is one layer's own cost.

    .venv/bin/python bench/hot_layers.py [--config embedded|services] [--auth cookie|bearer]
        [--profile] [--count N]

Times are the best of several runs (a loaded machine only slows runs down); for figures
that do not move with the load, count instructions instead:
``valgrind --tool=callgrind --callgrind-out-file=... .venv/bin/python bench/hot_layers.py
--count 2000 --once``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hot_paths

TODO = "/api/v1/todo"


def layers(app: Any) -> list[tuple[str, Any]]:
    """The application, then each layer inside it down to the router (outermost first)."""
    found = []
    while app is not None:
        found.append((type(app).__name__, app))
        app = getattr(app, "app", None)
        if found[-1][0] == "WarmReads":
            break
    return found


async def run(
    config: str, auth: str, count: int, *, profile: bool, once: bool, callgrind: str
) -> None:
    with tempfile.TemporaryDirectory(prefix="preau-bench-layers-") as temporary:
        folder = Path(temporary)
        if config == "embedded":
            url = f"sqlite+aiosqlite:///{folder / 'hot.sqlite3'}"
        else:
            name = os.environ.get("PREAU_BENCH_DATABASE", "preau_bench_layers")
            url = await hot_paths.postgres_url(name)
        files = folder / "files"
        cookies, _ = await hot_paths.prepare(url, files)
        os.environ.update({"HOT_DATABASE": url, "HOT_FILES": str(files), "HOT_CONFIG": config})
        app = hot_paths.preau_factory()
        headers = {k.encode(): v.encode() for k, v in hot_paths.headers_for(cookies, auth).items()}
        header_list = [(b"host", b"127.0.0.1"), *headers.items()]

        sent: list[Any] = []

        async def send(message: Any) -> None:
            sent.append(message)

        async def receive() -> Any:
            return {"type": "http.request", "body": b"", "more_body": False}

        def scope(extra: list[tuple[bytes, bytes]]) -> dict[str, Any]:
            return {
                "type": "http",
                "asgi": {"version": "3.0"},
                "http_version": "1.1",
                "method": "GET",
                "scheme": "http",
                "path": TODO,
                "raw_path": TODO.encode(),
                "query_string": b"",
                "root_path": "",
                "headers": header_list + extra,
                "client": ("127.0.0.1", 40000),
                "server": ("127.0.0.1", 8000),
                "state": {},
            }

        lifespan: asyncio.Queue[Any] = asyncio.Queue()
        await lifespan.put({"type": "lifespan.startup"})
        replies: list[Any] = []

        async def lifespan_send(message: Any) -> None:
            replies.append(message)

        task = asyncio.create_task(
            app(
                {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}},
                lifespan.get,
                lifespan_send,
            )
        )
        while not replies:  # noqa: ASYNC110 - the application's own lifespan answers
            await asyncio.sleep(0.01)
        # Warm up: the router fills the cache, the gate's hot cache learns the cookie.
        for _ in range(3):
            sent.clear()
            await app(scope([]), receive, send)
        status = sent[0]["status"]
        etag = dict(sent[0]["headers"])[b"etag"]
        assert status == 200, sent[0]
        cases = {"to-do 200": [], "to-do 304": [(b"if-none-match", etag)]}
        if callgrind:
            stack = layers(app)
            start = dict(stack)[os.environ.get("HOT_LAYERS_FROM", "Edge")]
            scopes = [scope(cases[callgrind]) for _ in range(count)]
            if [name for name, layer in stack].index(type(start).__name__) > [
                name for name, layer in stack
            ].index("SessionMiddleware"):
                await prime_state(stack, scopes)
            await counted(start, scopes, receive, send)
            await lifespan.put({"type": "lifespan.shutdown"})
            await task
            return
        stack = layers(app)
        for case, extra in cases.items():
            sent.clear()
            await app(scope(extra), receive, send)
            expected = 200 if case.endswith("200") else 304
            assert sent[0]["status"] == expected, (case, sent[0]["status"])
            if once:
                for _ in range(count):
                    await app(scope(extra), receive, send)
                    sent.clear()
                continue
            if profile:
                profiler = cProfile.Profile()
                profiler.enable()
                for _ in range(count):
                    await app(scope(extra), receive, send)
                    sent.clear()
                profiler.disable()
                print(f"== {case}")
                pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
                continue
            previous = None
            print(f"== {config} {auth}, {case}: µs per request from each layer inwards (best of 7)")
            for layer_name, layer in stack:
                best = float("inf")
                for _ in range(7):
                    scopes = [scope(extra) for _ in range(count)]
                    if stack.index((layer_name, layer)) > stack.index(
                        next(s for s in stack if s[0] == "SessionMiddleware")
                    ):
                        await prime_state(stack, scopes)
                    started = time.perf_counter()
                    for one in scopes:
                        await layer(one, receive, send)
                    best = min(best, time.perf_counter() - started)
                    sent.clear()
                micro = best / count * 1e6
                own = "" if previous is None else f"  (layer above: {previous - micro:5.2f})"
                print(f"  {layer_name:18s} {micro:6.2f}{own}")
                previous = micro
        await lifespan.put({"type": "lifespan.shutdown"})
        await task


async def counted(app: Any, scopes: list[dict[str, Any]], receive: Any, send: Any) -> None:
    """Under ``valgrind --tool=callgrind --instr-atstart=no``: the requests alone are
    counted. This process writes ``$HOT_LAYERS_READY`` and waits for ``$HOT_LAYERS_GO``,
    which the caller creates once it has turned instrumentation on
    (``callgrind_control -i on PID``). Each request is driven by hand (it never waits).
    ``$HOT_LAYERS_FROM`` names the layer called (the outermost by default)."""
    ready, go = os.environ["HOT_LAYERS_READY"], os.environ["HOT_LAYERS_GO"]
    with open(ready, "w") as file:  # noqa: ASYNC230 - nothing else runs
        file.write(str(os.getpid()))
    while not os.path.exists(go):  # noqa: ASYNC240 - nothing else runs
        time.sleep(0.05)  # noqa: ASYNC251 - nothing else runs
    for each in scopes:
        coroutine = app(each, receive, send)
        try:
            coroutine.send(None)
        except StopIteration:
            continue
        raise RuntimeError("a warm read waited")
    os._exit(0)  # nothing after the requests is counted


async def prime_state(stack: list[tuple[str, Any]], scopes: list[dict[str, Any]]) -> None:
    """The state the session layer leaves in the scope, for the layers inside it."""
    session_layer = next(layer for name, layer in stack if name == "SessionMiddleware")
    inner = session_layer.app

    async def capture(scope: Any, receive: Any, send: Any) -> None:
        return None

    session_layer.app = capture
    try:
        for one in scopes:
            await session_layer(one, None, None)
    finally:
        session_layer.app = inner


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", choices=("embedded", "services"), default="embedded")
    parser.add_argument("--auth", choices=("cookie", "bearer"), default="cookie")
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--profile", action="store_true", help="cProfile the whole stack")
    parser.add_argument("--once", action="store_true", help="one pass, nothing printed")
    parser.add_argument(
        "--callgrind", choices=("to-do 200", "to-do 304"), help="count one case (see counted)"
    )
    arguments = parser.parse_args()
    asyncio.run(
        run(
            arguments.config,
            arguments.auth,
            arguments.count,
            profile=arguments.profile,
            once=arguments.once,
            callgrind=arguments.callgrind or "",
        )
    )


if __name__ == "__main__":
    main()
