"""The Monday-morning surge against ``make cluster``: a Locust scenario, one account per person.

    .venv/bin/python deploy/cluster.py up --size academie     # or: make cluster, then
                                                              # deploy/cluster.py seed
    MORNING_PEOPLE=var/cluster/people-academie.csv \\
    .venv/bin/locust -f bench/locust_morning.py --headless -u 50 -r 5 -t 60s \\
        --host http://127.0.0.1:8080
    make cluster-down

``bench/morning.py`` does all of this and writes the report. The people come from the file
the seeding step writes (``preau demo --size``: username, profile, school, password or
activation code, a device credential signed with the cluster's secret, their class or child).

Each Locust user is a stream of arrivals: every run of its task is one person's morning,
from a fresh browser. Most arrive on a device remembered on an earlier day and resume with
its device credential (no password); some type their password; a few activate their
account with the code from their letter. Then pupils open the to-do (page and API), open
two items (one with a worksheet when there is one), download an attachment and sometimes
turn work in (with the form's idempotency key, kept across retries); parents read their
child's to-do, one item and their messages; teachers look at the hand-ins of their
homework, set homework for one of their classes and sometimes post a class announcement.

Arrivals ramp up: with ``MORNING_USERS`` set, a load shape raises the number of people
present from 0 to that many over ``MORNING_RAMP_S`` seconds, holds it until
``MORNING_DURATION_S`` and stops (``-u``/``-r``/``-t`` are then ignored).

Everyone goes through the gate. A 429 or 503 with ``Retry-After`` is the gate (or a
worker's shedding) doing its job, and so is being sent to ``/gate/wait``: it is reported
under its own request type ``GATE``, the person waits as the waiting page would and tries
again. The run exits 0 when the gate's answers are the only failures.
"""

from __future__ import annotations

import csv
import json
import os
import random
import re
import time
from collections import deque
from http.cookiejar import Cookie
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from locust import FastHttpUser, LoadTestShape, between, constant_throughput, events, task

ROOT = Path(__file__).resolve().parent.parent
PEOPLE_FILE = Path(os.environ.get("MORNING_PEOPLE", ROOT / "var/cluster/people-academie.csv"))
DEMO_PASSWORD = "preau-demo-2026"  # noqa: S105 - the printed demo password
DEVICE_COOKIE = "preau_device"
# How people arrive (shares of arrivals; a pool that runs dry falls back to passwords).
ACTIVATION_SHARE = 0.03
PASSWORD_SHARE = 0.12  # the rest resume with a device credential
TURN_IN_SHARE = 0.3  # share of mornings a pupil turns something in
SET_HOMEWORK_SHARE = 0.5  # share of mornings a teacher sets homework
ANNOUNCE_SHARE = 0.2  # share of mornings a teacher posts a class announcement
MAX_GATE_WAITS = 8
MAX_WAIT_S = 10.0

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
IDEMPOTENCY = re.compile(r'name="idempotency_key" value="([^"]+)"')
HOMEWORK_LINK = re.compile(r'href="/homework/(\d+)"')
FILE_LINK = re.compile(r'href="(/files/[A-Za-z0-9]+)"')
ANNOUNCEMENT_LINK = re.compile(r'href="/announcements/(\d+)"')


class People:
    """The seeded accounts, by profile and by how each can arrive; each person is used by
    one simulated browser at a time (a pool is a queue: taken, then put back)."""

    def __init__(self, path: Path) -> None:
        self.pools: dict[tuple[str, str], deque[dict[str, str]]] = {}
        if not path.exists():
            return
        with path.open(encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        random.shuffle(rows)
        for row in rows:
            profile = (
                "teacher" if row["profile"] in ("teacher", "staff", "admin") else row["profile"]
            )
            if row["profile"] in ("staff", "admin"):
                continue  # staff have no morning routine here
            if row["activation_code"]:
                kind = "activation"
            elif row["device_token"]:
                kind = "device"
            else:
                kind = "password"
            self.pools.setdefault((profile, kind), deque()).append(row)

    def take(self, profile: str, kind: str) -> tuple[str, dict[str, str]] | None:
        for choice in (kind, "device", "password"):
            pool = self.pools.get((profile, choice))
            if pool:
                return choice, pool.popleft()
        return None

    def give_back(self, profile: str, kind: str, person: dict[str, str]) -> None:
        if kind == "activation":  # the code is spent: from now on a password account
            person = {**person, "activation_code": "", "password": DEMO_PASSWORD}
            kind = "password"
        self.pools.setdefault((profile, kind), deque()).append(person)


PEOPLE = People(PEOPLE_FILE)


@events.init.add_listener
def check_people_file(environment: Any, **_: Any) -> None:
    if not PEOPLE.pools:
        raise SystemExit(
            f"{PEOPLE_FILE} is missing or empty: seed first "
            "(.venv/bin/python deploy/cluster.py seed --size small), or set MORNING_PEOPLE."
        )


def device_cookie(host: str, token: str) -> Cookie:
    """The device credential as the browser kept it from an earlier day."""
    return Cookie(
        version=0,
        name=DEVICE_COOKIE,
        value=token,
        port=None,
        port_specified=False,
        domain=host,
        domain_specified=False,
        domain_initial_dot=False,
        path="/",
        path_specified=True,
        secure=False,
        expires=None,
        discard=False,
        comment=None,
        comment_url=None,
        rest={},
    )


class GateRefusal(Exception):
    """The gate's designed answer: 429/503 with Retry-After, or the waiting page."""


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


class Morning(FastHttpUser):
    abstract = True
    wait_time = between(1, 3)  # between two people arriving on this simulated browser
    profile = ""

    # Gate-aware requests

    def wait_like_the_waiting_page(self, retry_after: str | None) -> None:
        seconds = float(retry_after) if retry_after and retry_after.isdigit() else 2.0
        time.sleep(min(MAX_WAIT_S, random.uniform(seconds / 2, seconds)))

    def call(self, method: str, path: str, name: str | None = None, **kwargs: Any) -> Any:
        """One request through the gate: waits and retries on 429/503 or the waiting page."""
        name = name or path
        expected = kwargs.pop("expected", (200,))
        if method == "POST":
            # Follow a form's redirect separately: if the page after it is refused by the
            # gate, it is that page that is retried, never the form (a spent activation
            # code, a second login).
            kwargs.setdefault("allow_redirects", False)
        last: Any = None
        for _ in range(MAX_GATE_WAITS + 1):
            with self.client.request(
                method, path, name=name, catch_response=True, **kwargs
            ) as response:
                last = response
                status = response.status_code
                final = str(getattr(response, "url", "") or "")
                retry_after = response.headers.get("retry-after")
                if status in (429, 503) and retry_after:
                    response.success()  # reported below as the gate's, not as an error
                    report_gate(name, status, float(retry_after or 0))
                    self.wait_like_the_waiting_page(retry_after)
                    continue
                location = response.headers.get("location") or ""
                if status in (302, 303) and method == "POST" and "/gate/wait" not in location:
                    if "/login" in location and not path.startswith(("/login", "/activate")):
                        response.failure("sent to the login page: the session did not resume")
                        return response
                    response.success()
                    return self.call("GET", location, name=f"{name} → redirect")
                if "/gate/wait" in final or "/gate/wait" in location:
                    response.success()
                    report_gate(name, "queued", float(retry_after or 0))
                    self.wait_like_the_waiting_page(retry_after)
                    continue
                if "/login" in final and not path.startswith(("/login", "/activate")):
                    response.failure("sent to the login page: the session did not resume")
                    return last
                if status not in expected:
                    response.failure(f"HTTP {status}: {(response.text or '')[:200]}")
                    return response
                response.success()
                return response
        return response

    # Arriving

    def fresh_browser(self, device_token: str = "") -> None:
        """A new person at a browser that kept nothing, or only its device credential."""
        self.client.cookiejar.clear()
        if device_token:
            host = urlparse(self.host or "").hostname or "127.0.0.1"
            self.client.cookiejar.set_cookie(device_cookie(host, device_token))

    def csrf(self, page: Any) -> str:
        match = CSRF.search(page.text or "")
        return match.group(1) if match else ""

    def arrive(self) -> bool:
        draw = random.random()
        kind = (
            "activation"
            if draw < ACTIVATION_SHARE
            else "password"
            if draw < ACTIVATION_SHARE + PASSWORD_SHARE
            else "device"
        )
        taken = PEOPLE.take(self.profile, kind)
        if taken is None:
            return False
        self.kind, self.person = taken
        if self.kind == "device":
            self.fresh_browser(self.person["device_token"])
            return True
        self.fresh_browser()
        if self.kind == "activation":
            page = self.call("GET", "/activate")
            form = {
                "csrf_token": self.csrf(page),
                "username": self.person["username"],
                "code": self.person["activation_code"],
                "password": DEMO_PASSWORD,
                "password_again": DEMO_PASSWORD,
                "remember": "on",
            }
            answer = self.call("POST", "/activate", name="/activate [code]", data=form)
        else:
            page = self.call("GET", "/login")
            form = {
                "csrf_token": self.csrf(page),
                "username": self.person["username"],
                "password": self.person["password"],
                "next": "/home",
            }
            answer = self.call("POST", "/login", name="/login [password]", data=form)
        return bool(answer is not None and answer.status_code == 200)

    def leave(self) -> None:
        PEOPLE.give_back(self.profile, self.kind, self.person)

    def first_page(self, path: str, name: str | None = None) -> Any:
        """The morning's first page: a remembered device resumes its session here."""
        name = name or path
        return self.call(
            "GET", path, name=f"{name} [device resume]" if self.kind == "device" else name
        )

    def one_morning(self) -> None:
        if not self.arrive():
            if getattr(self, "person", None):
                self.leave()
            return
        try:
            self.routine()
        finally:
            self.leave()

    def routine(self) -> None:
        raise NotImplementedError


class Arrivals(Morning):
    """Each run of the task is a new person's morning."""

    abstract = True

    @task
    def morning(self) -> None:
        self.one_morning()


class Pupil(Arrivals):
    weight = 7
    profile = "pupil"

    def routine(self) -> None:
        page = self.first_page("/todo")
        todo = self.call("GET", "/api/v1/todo")
        items = [item for day in _json(todo).get("days", []) for item in day.get("items", [])]
        with_files = [i["homework_id"] for i in items if i.get("attachment_count")]
        ids = list(dict.fromkeys(HOMEWORK_LINK.findall(page.text or "")))
        opened = random.sample(ids, min(2, len(ids)))
        if with_files and not set(opened) & {str(i) for i in with_files}:
            opened = [str(random.choice(with_files)), *opened[:1]]
        downloaded = False
        for homework_id in opened:
            item = self.call("GET", f"/homework/{homework_id}", name="/homework/[id]")
            text = item.text or ""
            link = FILE_LINK.search(text)
            if link and not downloaded:
                self.call("GET", link.group(1), name="/files/[id]")
                downloaded = True
            if random.random() < TURN_IN_SHARE and 'action="/homework/' in text:
                self.turn_in(homework_id, text)

    def turn_in(self, homework_id: str, page: str) -> None:
        csrf, key = CSRF.search(page), IDEMPOTENCY.search(page)
        if not csrf or f'action="/homework/{homework_id}/turn-in"' not in page or key is None:
            return  # already turned in, or no hand-in expected
        self.call(
            "POST",
            f"/homework/{homework_id}/turn-in",
            name="/homework/[id]/turn-in",
            data={
                "csrf_token": csrf.group(1),
                "idempotency_key": key.group(1),  # the same key on every retry
                "text": "Exercices faits, photo du cahier jointe demain.",
            },
        )


class Parent(Arrivals):
    weight = 2
    profile = "parent"

    def routine(self) -> None:
        self.first_page("/home")
        child = self.person.get("child_id")
        page = self.call("GET", "/children", name="/children/[id]/todo")
        if child:
            self.call("GET", f"/api/v1/pupils/{child}/todo", name="/api/v1/pupils/[id]/todo")
        for homework_id in list(dict.fromkeys(HOMEWORK_LINK.findall(page.text or "")))[:1]:
            self.call("GET", f"/homework/{homework_id}", name="/homework/[id] [parent]")
        self.call("GET", "/api/v1/unread", name="/api/v1/unread")
        self.call("GET", "/messages")
        notices = self.call("GET", "/announcements")
        for announcement in ANNOUNCEMENT_LINK.findall(notices.text or "")[:1]:
            self.call("GET", f"/announcements/{announcement}", name="/announcements/[id]")


class Teacher(Arrivals):
    weight = 1
    profile = "teacher"

    def routine(self) -> None:
        page = self.first_page("/classwork")
        listing = self.call("GET", "/api/v1/homework")
        ids = [str(item["id"]) for week in _json_list(listing) for item in week.get("items", [])]
        ids = ids or list(dict.fromkeys(HOMEWORK_LINK.findall(page.text or "")))
        for homework_id in random.sample(ids, min(2, len(ids))):
            self.call(
                "GET",
                f"/api/v1/homework/{homework_id}/hand-ins",
                name="/api/v1/homework/[id]/hand-ins",
            )
        group = self.person.get("group_id")
        token = self.csrf(page)
        if not group or not token:
            return
        headers = {"X-CSRF-Token": token}
        if random.random() < SET_HOMEWORK_SHARE:
            due = time.strftime("%Y-%m-%dT17:00:00", time.localtime(time.time() + 2 * 86400))
            self.call(
                "POST",
                "/api/v1/homework",
                json={
                    "group_id": int(group),
                    "title": "Exercices pour jeudi",
                    "instructions": "Faire les exercices 4 à 7 de la fiche.",
                    "due_at": due,
                    "hand_in_expected": True,
                    "estimated_minutes": 30,
                },
                headers=headers,
                expected=(200, 201),
            )
        if random.random() < ANNOUNCE_SHARE:
            self.call(
                "POST",
                "/api/v1/announcements",
                json={
                    "title": "Cours à distance demain",
                    "body": "Bonjour, le cours de demain aura lieu en classe virtuelle.",
                    "group_ids": [int(group)],
                    "include_parents": True,
                },
                headers=headers,
                expected=(200, 201),
            )


def _json(response: Any) -> dict[str, Any]:
    try:
        value = json.loads(response.text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _json_list(response: Any) -> list[dict[str, Any]]:
    try:
        value = json.loads(response.text or "[]")
    except ValueError:
        return []
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


PROBES = {  # name: (profile, request) — one endpoint at a time, for its CPU cost
    "todo-api": ("pupil", "/api/v1/todo"),
    "todo-page": ("pupil", "/todo"),
    "homework": ("pupil", "/homework/[id]"),
    "file": ("pupil", "/files/[id]"),
    "hand-ins": ("teacher", "/api/v1/homework/[id]/hand-ins"),
}

if os.environ.get("MORNING_PROBE"):

    class Probe(Morning):  # run alone: `locust … Probe`
        """Signed in once (device credential), then one request over and over:
        ``bench/morning.py`` runs one short phase per probe to measure CPU per request."""

        # 15 requests/s per person stays under the gate's per-pass and per-account limits.
        wait_time = constant_throughput(15)
        probe = os.environ["MORNING_PROBE"]
        profile, label = PROBES[probe]

        def on_start(self) -> None:
            taken = PEOPLE.take(self.profile, "device")
            if taken is None:
                raise SystemExit("no seeded person with a device credential")
            self.kind, self.person = taken
            self.fresh_browser(self.person["device_token"])
            self.path = self.label
            if self.profile == "teacher":
                listing = self.call("GET", "/api/v1/homework", name="setup")
                ids = [str(i["id"]) for week in _json_list(listing) for i in week.get("items", [])]
                self.path = self.label.replace("[id]", ids[0] if ids else "0")
                return
            todo = _json(self.call("GET", "/api/v1/todo", name="setup"))
            items = [item for day in todo.get("days", []) for item in day.get("items", [])]
            attached = [i for i in items if i.get("attachment_count")] or items
            homework_id = str(attached[0]["homework_id"]) if attached else "0"
            self.path = self.label.replace("[id]", homework_id)
            if self.probe == "file":
                page = self.call("GET", f"/homework/{homework_id}", name="setup")
                link = FILE_LINK.search(page.text or "")
                self.path = link.group(1) if link else "/files/none"

        @task
        def repeat(self) -> None:
            self.call("GET", self.path, name=self.label)


if os.environ.get("MORNING_USERS"):

    class MorningRamp(LoadTestShape):
        """Arrivals ramp up to MORNING_USERS people at once, hold, then the run ends."""

        peak = int(os.environ["MORNING_USERS"])
        ramp_s = float(os.environ.get("MORNING_RAMP_S", "20"))
        duration_s = float(os.environ.get("MORNING_DURATION_S", "60"))

        def tick(self) -> tuple[int, float] | None:
            elapsed = self.get_run_time()
            if elapsed >= self.duration_s:
                return None
            users = max(1, round(self.peak * min(1.0, elapsed / self.ramp_s)))
            return users, max(1.0, self.peak / self.ramp_s)


@events.quitting.add_listener
def gate_refusals_are_not_errors(environment: Any, **_: Any) -> None:
    """Exit 0 when the only failures are the gate's designed answers."""
    errors = environment.stats.errors.values()
    if environment.stats.total.num_failures and all(e.method == "GATE" for e in errors):
        environment.process_exit_code = 0
