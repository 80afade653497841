"""The pure parts of weak-network virtual classes: TURN credentials in coturn's REST form,
coturn's configuration, and which recorded tracks make a replay."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from preau.domain.errors import InvalidInput
from preau.domain.replay import Track, choose_tracks, publisher_of, target_extension
from preau.domain.turn import (
    CoturnOptions,
    coturn_configuration,
    ice_servers,
    parse_turn_urls,
)
from preau.virtual_cli import turn

NOW = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)
SECRET = "a-turn-secret-of-some-length"


def test_turn_credentials_name_the_person_and_expire_after_the_ttl() -> None:
    (server,) = ice_servers(
        secret=SECRET, urls=("turn:t.example:3478",), person_id=42, now=NOW, ttl_seconds=3600
    )
    expiry, person = server.username.split(":")
    assert int(expiry) == int(NOW.timestamp()) + 3600
    assert person == "42"
    expected = hmac.new(SECRET.encode(), server.username.encode(), hashlib.sha1).digest()
    assert base64.b64decode(server.credential) == expected
    assert server.urls == ("turn:t.example:3478",)


def test_no_turn_without_a_secret_or_an_address() -> None:
    assert ice_servers(secret="", urls=("turn:x:1",), person_id=1, now=NOW, ttl_seconds=60) == ()
    assert ice_servers(secret=SECRET, urls=(), person_id=1, now=NOW, ttl_seconds=60) == ()


def test_turn_urls_must_be_turn_uris() -> None:
    assert parse_turn_urls(" turn:a:3478?transport=tcp , turns:a:443 ") == (
        "turn:a:3478?transport=tcp",
        "turns:a:443",
    )
    with pytest.raises(ValueError, match="turn:"):
        parse_turn_urls("stun:a:3478")


def test_coturn_relays_only_to_public_addresses_and_the_janus_nodes() -> None:
    text = coturn_configuration(
        CoturnOptions(
            secret=SECRET,
            realm="preau",
            listen_ip="203.0.113.5",
            relay_ip="203.0.113.5",
            tls_port=443,
            cert="/etc/ssl/turn.pem",
            key="/etc/ssl/turn.key",
            janus_ips=("10.0.0.5",),
        )
    )
    lines = text.splitlines()
    assert "use-auth-secret" in lines
    assert f"static-auth-secret={SECRET}" in lines
    assert "denied-peer-ip=10.0.0.0-10.255.255.255" in lines
    assert "allowed-peer-ip=10.0.0.5" in lines
    assert "tls-listening-port=443" in lines
    assert "no-tls" not in lines
    assert "allow-loopback-peers" not in lines


def test_coturn_configuration_refuses_a_short_secret_or_tls_without_a_certificate() -> None:
    with pytest.raises(InvalidInput):
        coturn_configuration(CoturnOptions(secret="short", realm="p", listen_ip="", relay_ip=""))
    with pytest.raises(InvalidInput):
        coturn_configuration(
            CoturnOptions(secret=SECRET, realm="p", listen_ip="", relay_ip="", tls_port=443)
        )


def test_the_replay_is_the_publisher_with_the_most_media() -> None:
    # As Janus 1.1 names them: each stream of a publisher starts at its own moment.
    teacher = "videoroom-9-user-111"
    pupil = "videoroom-9-user-222"
    tracks = [
        Track(name=f"{teacher}-1700000000100-audio-0.mjr", kind="audio", codec="opus", size=40_000),
        Track(name=f"{teacher}-1700000000350-video-1.mjr", kind="video", codec="vp8", size=90_000),
        Track(name=f"{pupil}-1700000005000-audio-0.mjr", kind="audio", codec="opus", size=60_000),
        Track(name="notes.txt", kind="data", codec="", size=10),
    ]
    video, audio = choose_tracks(tracks)
    assert video is not None
    assert audio is not None
    assert video.name == f"{teacher}-1700000000350-video-1.mjr"
    assert audio.name == f"{teacher}-1700000000100-audio-0.mjr"
    assert publisher_of(audio.name) == teacher
    assert target_extension(video) == "webm"
    assert target_extension(audio) == "opus"
    assert choose_tracks([]) == (None, None)
    empty = Track(name=f"{teacher}-1-video-1.mjr", kind="video", codec="vp8", size=0)
    assert choose_tracks([empty]) == (None, None)


def test_turn_config_refuses_a_short_secret_with_a_sentence(tmp_path: Path) -> None:
    out = tmp_path / "turnserver.conf"
    result = CliRunner().invoke(
        turn,
        ["config", "--out", str(out), "--listen", "127.0.0.1"],
        env={"PREAU_TURN_SECRET": "short"},
    )
    assert result.exit_code == 2
    assert "PREAU_TURN_SECRET" in result.output
    assert not out.exists()
    written = CliRunner().invoke(
        turn,
        ["config", "--out", str(out), "--listen", "127.0.0.1"],
        env={"PREAU_TURN_SECRET": SECRET},
    )
    assert written.exit_code == 0, written.output
    assert f"static-auth-secret={SECRET}" in out.read_text()
    assert out.stat().st_mode & 0o777 == 0o600
