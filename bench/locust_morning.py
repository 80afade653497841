"""The Monday-morning surge against ``make cluster``: a Locust scenario.

    make cluster
    .venv/bin/locust -f bench/locust_morning.py --headless -u 20 -r 5 -t 30s \\
        --host http://127.0.0.1:8080
    make cluster-down

Each simulated person lives several "mornings" (one per task run). Most resume with a
device credential: they log in once with "keep me logged in" when they start, then each
morning starts a fresh session (every cookie gone but the device's) and the device cookie
resumes it without a password. The others type their password every morning. Pupils open
the to-do (page and API), open two items and sometimes turn work in; parents read their
child's to-do; teachers look at the hand-ins of the homework they set.

Everyone goes through the gate. A 429 or 503 with ``Retry-After`` is the gate (or a
worker's shedding) doing its job: it is reported under its own name, the user waits as
the waiting page would (``Retry-After``, with jitter) and tries again. Being sent to
``/gate/wait`` is handled the same way.

All simulated people share the demo school's accounts (``make cluster`` seeds them), so
two pupils may turn in the same homework at once: the second gets 409 "already turned in",
which is counted as the expected answer it is.
"""

from __future__ import annotations

import random
import re
import time
from typing import Any

from locust import FastHttpUser, between, events, task

PASSWORD = "preau-demo-2026"  # noqa: S105 - the demo school's printed password
PUPIL, PARENT, TEACHER = "eleve.demo", "parent.demo", "prof.demo"
DEVICE_COOKIE = "preau_device"
REMEMBER_SHARE = 0.8  # most devices were remembered on a previous day
TURN_IN_SHARE = 0.3  # share of mornings a pupil turns something in
MAX_GATE_WAITS = 5
MAX_WAIT_S = 10.0

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
IDEMPOTENCY = re.compile(r'name="idempotency_key" value="([^"]+)"')
HOMEWORK_LINK = re.compile(r'href="/homework/(\d+)"')
CHILD_TODO = re.compile(r"/children/(\d+)/todo")


def report_gate(name: str, status: int | str, retry_after: float) -> None:
    """Record a gate refusal as a failure of its own kind, so it is told apart from errors."""
    events.request.fire(
        request_type="GATE",
        name=f"{status} {name}",
        response_time=0,
        response_length=0,
        exception=GateRefusal(f"gate: {status}, waited Retry-After {retry_after:g} s"),
        context={},
    )


class GateRefusal(Exception):
    """The gate's designed answer: 429/503 with Retry-After, or the waiting page."""


class Morning(FastHttpUser):
    abstract = True
    wait_time = between(1, 3)
    username = ""

    def on_start(self) -> None:
        self.remembered = random.random() < REMEMBER_SHARE
        if self.remembered:
            # The first day on this device: a password once, "keep me logged in" ticked.
            self.log_in(remember=True)

    # Gate-aware requests

    def wait_like_the_waiting_page(self, retry_after: str | None) -> None:
        seconds = float(retry_after) if retry_after and retry_after.isdigit() else 2.0
        time.sleep(min(MAX_WAIT_S, random.uniform(seconds / 2, seconds)))

    def call(self, method: str, path: str, name: str | None = None, **kwargs: Any) -> Any:
        """One request through the gate: waits and retries on 429/503 or the waiting page."""
        name = name or path
        expected = kwargs.pop("expected", (200,))
        for _ in range(MAX_GATE_WAITS + 1):
            with self.client.request(
                method, path, name=name, catch_response=True, **kwargs
            ) as response:
                status = response.status_code
                final = str(getattr(response, "url", "") or "")
                if status in (429, 503) and response.headers.get("retry-after"):
                    response.success()  # reported below as the gate's, not as an error
                    retry_after = response.headers.get("retry-after")
                    report_gate(name, status, float(retry_after or 0))
                    self.wait_like_the_waiting_page(retry_after)
                    continue
                if "/gate/wait" in final:
                    response.success()
                    report_gate(name, "queued", float(response.headers.get("retry-after") or 0))
                    self.wait_like_the_waiting_page(response.headers.get("retry-after"))
                    continue
                if "/login" in final and not path.startswith("/login"):
                    response.failure("sent to the login page: the session did not resume")
                    return response
                if status not in expected:
                    response.failure(f"HTTP {status}")
                    return response
                response.success()
                return response
        return response

    # Sessions

    def fresh_session(self, keep_device: bool) -> None:
        """A new morning: the browser kept at most the device cookie."""
        jar = self.client.cookiejar
        for cookie in list(jar):
            if not (keep_device and cookie.name == DEVICE_COOKIE):
                jar.clear(cookie.domain, cookie.path, cookie.name)

    def log_in(self, remember: bool) -> None:
        page = self.call("GET", "/login")
        match = CSRF.search(page.text or "")
        if not match:
            return
        form = {
            "csrf_token": match.group(1),
            "username": self.username,
            "password": PASSWORD,
            "next": "/home",
        }
        if remember:
            form["remember"] = "on"
        self.call("POST", "/login", name="/login [password]", data=form)

    def start_morning(self) -> None:
        self.fresh_session(keep_device=self.remembered)
        if not self.remembered:
            self.log_in(remember=False)

    def first_page(self, path: str) -> Any:
        """The morning's first page: a remembered device resumes its session here."""
        name = f"{path} [device resume]" if self.remembered else path
        return self.call("GET", path, name=name)


class Pupil(Morning):
    weight = 7
    username = PUPIL

    @task
    def morning(self) -> None:
        self.start_morning()
        page = self.first_page("/todo")
        self.call("GET", "/api/v1/todo")
        ids = list(dict.fromkeys(HOMEWORK_LINK.findall(page.text or "")))
        opened = random.sample(ids, min(2, len(ids)))
        for homework_id in opened:
            item = self.call("GET", f"/homework/{homework_id}", name="/homework/[id]")
            if random.random() < TURN_IN_SHARE and 'action="/homework/' in (item.text or ""):
                self.turn_in(homework_id, item.text or "")

    def turn_in(self, homework_id: str, page: str) -> None:
        csrf, key = CSRF.search(page), IDEMPOTENCY.search(page)
        if not csrf:
            return
        if key is None:  # already turned in: take it back, as a pupil fixing a mistake would
            self.call(
                "POST",
                f"/homework/{homework_id}/take-back",
                name="/homework/[id]/take-back",
                data={"csrf_token": csrf.group(1)},
                expected=(200, 409),
            )
            return
        self.call(
            "POST",
            f"/homework/{homework_id}/turn-in",
            name="/homework/[id]/turn-in",
            data={
                "csrf_token": csrf.group(1),
                "idempotency_key": key.group(1),
                "text": "Exercices faits, photo du cahier jointe demain.",
            },
            expected=(200, 409),  # 409: another simulated device of eleve.demo was first
        )


class Parent(Morning):
    weight = 2
    username = PARENT

    @task
    def morning(self) -> None:
        self.start_morning()
        self.first_page("/home")
        children = self.call("GET", "/children", name="/children/[id]/todo")
        match = CHILD_TODO.search(str(getattr(children, "url", "")) or "") or CHILD_TODO.search(
            children.text or ""
        )
        if match:
            self.call(
                "GET", f"/api/v1/pupils/{match.group(1)}/todo", name="/api/v1/pupils/[id]/todo"
            )
            for homework_id in list(dict.fromkeys(HOMEWORK_LINK.findall(children.text or "")))[:1]:
                self.call("GET", f"/homework/{homework_id}", name="/homework/[id]")


class Teacher(Morning):
    weight = 1
    username = TEACHER

    @task
    def morning(self) -> None:
        self.start_morning()
        page = self.first_page("/classwork")
        listing = self.call("GET", "/api/v1/homework")
        ids = list(dict.fromkeys(HOMEWORK_LINK.findall(page.text or "")))
        if not ids:
            ids = [str(item) for item in re.findall(r'"id":\s*(\d+)', listing.text or "")]
        for homework_id in ids[:2]:
            self.call(
                "GET",
                f"/api/v1/homework/{homework_id}/hand-ins",
                name="/api/v1/homework/[id]/hand-ins",
            )
            self.call("GET", f"/homework/{homework_id}", name="/homework/[id] [teacher]")


@events.quitting.add_listener
def gate_refusals_are_not_errors(environment: Any, **_: Any) -> None:
    """Exit 0 when the only failures are the gate's designed answers."""
    errors = environment.stats.errors.values()
    if environment.stats.total.num_failures and all(e.method == "GATE" for e in errors):
        environment.process_exit_code = 0
