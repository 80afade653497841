"""End to end, on a network that blocks UDP (``weak_network_lab.py``): pupils reach the
class through TURN over TCP with credentials Préau minted, and hear the teacher; a
listen-only pupil sends nothing even when given the floor, and Janus sees no publisher
for them; an audio-only pupil receives no video, and a pupil on a 200 kbit/s line is put in
audio only with the reason shown; the teacher's camera is simulcast; a recorded class
becomes a playable video lesson."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.virtual_lab import Lab, logged_in_page, missing, teacher_starts_class, wait_for
from tests.browser.weak_network_lab import STATS, blocked_udp_lab, missing_turn, throttle
from tests.conftest import missing_service
from tests.virtual.janus_nodes import ADMIN_SECRET

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# The pages run inside the namespace, the test's own process outside it: ask through them.
FETCH_JSON = "async (path) => (await fetch(path, { credentials: 'same-origin' })).json()"
FETCH_BYTES = """async (path) => {
  const answer = await fetch(path, { credentials: 'same-origin' });
  const bytes = new Uint8Array(await answer.arrayBuffer());
  let text = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    text += String.fromCharCode.apply(null, bytes.subarray(i, i + 8192));
  }
  return btoa(text);
}"""


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    reason = missing() or missing_turn()
    if reason:
        missing_service(reason)
    with blocked_udp_lab(tmp_path, pupils=3) as running:
        yield running


def start_class(lab: Lab, browser: Any) -> tuple[Any, str]:
    teacher = teacher_starts_class(browser, lab.url)
    return teacher, teacher.url


def janus_participants(lab: Lab, node_name: str, janus_room: int) -> list[dict[str, Any]]:
    """VideoRoom ``listparticipants`` through the node's Admin API, asked from inside the
    namespace (where Janus listens)."""
    node = next(janus.node for janus in lab.nodes if janus.node.name == node_name)
    body = {
        "janus": "message_plugin",
        "transaction": "listparticipants",
        "admin_secret": ADMIN_SECRET,
        "plugin": "janus.plugin.videoroom",
        "request": {"request": "listparticipants", "room": janus_room},
    }
    answer = subprocess.run(
        [
            "ip", "netns", "exec", lab.netns, "curl", "-sf", "-m", "5",
            "-H", "content-type: application/json", "-d", json.dumps(body), node.admin_url,
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    found: list[dict[str, Any]] = json.loads(answer.stdout)["response"]["participants"]
    return found


def test_a_pupil_behind_a_udp_block_hears_the_teacher_through_turn_over_tcp(
    lab: Lab, netns_browser: Any
) -> None:
    teacher, room_url = start_class(lab, netns_browser)
    pupil = logged_in_page(netns_browser, lab.url, "pupil.a")
    pupil.goto(room_url)

    def hears() -> bool:
        stats = pupil.evaluate(STATS)
        return bool(stats["packets"] > 50 and stats["energy"] > 0)

    wait_for(hears, 60, "the pupil hearing the teacher through TURN")
    stats = pupil.evaluate(STATS)
    assert stats["candidates"], stats
    assert all(c == {"type": "relay", "relay": "tcp"} for c in stats["candidates"]), stats
    assert stats["frames"] > 0  # and sees them, at the layer its bandwidth allowed
    # The teacher's camera goes out in simulcast layers.
    assert teacher.evaluate(STATS)["outboundVideo"] >= 2


def test_listen_only_sends_nothing_and_audio_only_receives_no_video(
    lab: Lab, netns_browser: Any
) -> None:
    teacher, room_url = start_class(lab, netns_browser)
    listener = logged_in_page(netns_browser, lab.url, "pupil.a")
    listener.goto(room_url + "?mode=listen")
    audio_only = logged_in_page(netns_browser, lab.url, "pupil2.a")
    audio_only.goto(room_url + "?mode=audio")
    # A pupil on a 200 kbit/s line, who chose nothing: audio only is suggested, and why.
    slow = logged_in_page(netns_browser, lab.url, "pupil3.a")
    throttle(slow, 200)
    slow.goto(room_url)

    def both_hear() -> bool:
        return all(page.evaluate(STATS)["packets"] > 50 for page in (listener, audio_only))

    wait_for(both_hear, 60, "both pupils hearing the teacher")
    # The teacher gives the listen-only pupil the floor: the page still sends nothing.
    listener_id = listener.evaluate("window.preauClassroom.grant.display").split(":")[1]
    answer = teacher.evaluate(
        """async (id) => (await fetch(location.pathname.replace('/virtual/rooms/',
             '/api/v1/virtual/rooms/') + '/floor', { method: 'POST', credentials: 'same-origin',
             headers: { 'content-type': 'application/json',
                        'x-csrf-token': document.getElementById('classroom').dataset.csrf },
             body: JSON.stringify({ person_id: Number(id), allowed: true }) })).status""",
        listener_id,
    )
    assert answer == 204
    wait_for(
        lambda: "listen-only" in listener.locator("#status").inner_text(),
        15,
        "the listen-only pupil told the floor is theirs but the microphone stays off",
    )
    stats = listener.evaluate(STATS)
    assert stats["outbound"] == 0, stats
    assert stats["frames"] > 0  # listen-only still receives video
    assert "Listen only" in listener.locator("#mode").inner_text()
    grant = listener.evaluate("window.preauClassroom.grant")
    in_janus = janus_participants(lab, grant["node"], grant["janus_room"])
    mine = [p for p in in_janus if str(p.get("display", "")).startswith(f"pupil:{listener_id}:")]
    assert mine, in_janus
    assert not any(p.get("publisher") for p in mine), mine

    heard = audio_only.evaluate(STATS)
    assert heard["videoInbound"] == 0, heard
    assert heard["outbound"] == 0
    assert "Audio only" in audio_only.locator("#mode").inner_text()
    assert "You chose it" in audio_only.locator("#mode").inner_text()

    wait_for(lambda: slow.evaluate(STATS)["packets"] > 20, 30, "the slow pupil hearing")
    said = slow.locator("#mode").inner_text()
    assert "Audio only" in said, said
    assert "too little for video" in said, said
    assert slow.evaluate(STATS)["videoInbound"] == 0


def test_a_recorded_class_becomes_a_playable_video_lesson(lab: Lab, netns_browser: Any) -> None:
    if shutil.which("janus-pp-rec") is None or shutil.which("ffprobe") is None:
        missing_service("recording needs janus-pp-rec (janus-tools) and ffmpeg")
    teacher, room_url = start_class(lab, netns_browser)
    pupil = logged_in_page(netns_browser, lab.url, "pupil.a")
    pupil.goto(room_url)
    wait_for(lambda: pupil.evaluate(STATS)["frames"] > 0, 60, "the pupil seeing the teacher")
    record = teacher.locator("#record")
    record.click()
    wait_for(lambda: record.get_attribute("aria-pressed") == "true", 10, "recording to start")
    assert "Recording" in teacher.locator("#recording").inner_text()
    time.sleep(6)  # a short lesson
    record.click()

    def replay_ready() -> bool:
        return "ready" in teacher.locator("#recording").inner_text()

    wait_for(replay_ready, 90, "the recording made into a video lesson")
    replay = teacher.locator("#replay")
    assert replay.is_visible()
    homework_id = replay.get_attribute("href").rsplit("/", 1)[1]

    def transcoded() -> dict[str, Any] | None:
        body: dict[str, Any] = teacher.evaluate(FETCH_JSON, f"/api/v1/homework/{homework_id}/video")
        return body if body.get("state") == "ready" else None

    wait_for(lambda: transcoded() is not None, 120, "the replay transcoded")
    video = transcoded()
    assert video is not None
    source = min(video["sources"], key=lambda s: s["kbps"])
    data = base64.b64decode(teacher.evaluate(FETCH_BYTES, source["url"]))
    path = lab.folder / "replay.mp4"
    path.write_bytes(data)
    probe = json.loads(
        subprocess.run(
            ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams",
             str(path)],
            check=True,
            capture_output=True,
        ).stdout
    )  # fmt: skip
    kinds = {stream["codec_type"] for stream in probe["streams"]}
    assert {"video", "audio"} <= kinds, probe["streams"]
    assert float(probe["format"]["duration"]) > 3
    # The pupils of the class find it in their homework.
    assert pupil.evaluate(FETCH_JSON, f"/api/v1/homework/{homework_id}/video")["state"] == "ready"
