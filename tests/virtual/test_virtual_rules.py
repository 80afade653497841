"""The pure virtual-class rules: token format, placement by spare capacity, who joins."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

import pytest

from preau.domain.access import Decision, room_decision
from preau.domain.errors import InvalidInput
from preau.domain.people import Actor, Profile
from preau.domain.virtual import (
    Node,
    NodeLoad,
    Role,
    choose_node,
    core_token,
    janus_configuration,
    parse_nodes,
    room_token,
)

END = datetime(2026, 11, 23, 7, 55, tzinfo=UTC)


def test_tokens_are_in_janus_format() -> None:
    token = room_token("secret", END, 4242)
    data, _, mac = token.partition(":")
    assert data == f"{int(END.timestamp())},janus.plugin.videoroom,room=4242"
    expected = hmac.digest(b"secret", data.encode(), hashlib.sha1)
    assert base64.b64decode(mac) == expected
    assert core_token("secret", END).split(":")[0].endswith(",janus,janus.plugin.videoroom")


def nodes() -> list[Node]:
    return parse_nodes(
        "a|http://h:1/janus|http://h:2/admin|100|100000,"
        "b|http://h:3/janus|http://h:4/admin|300|100000"
    )


def load(name: str, participants: int = 0, bitrate: int = 0, **flags: bool) -> NodeLoad:
    return NodeLoad(
        name=name,
        healthy=flags.get("healthy", True),
        accepting=flags.get("accepting", True),
        participants=participants,
        bitrate=bitrate,
    )


def test_placement_picks_the_most_spare_capacity_and_skips_drained_or_dead_nodes() -> None:
    pool = nodes()
    loads = {"a": load("a"), "b": load("b")}
    # b has three times the participant capacity: 30 people leave it 90 % free, a 70 %.
    assert choose_node(pool, loads, 30, 1_000_000).name == "b"  # type: ignore[union-attr]  # None fails too
    loads["b"] = load("b", participants=250)
    assert choose_node(pool, loads, 30, 1_000_000).name == "a"  # type: ignore[union-attr]  # None fails too
    loads["a"] = load("a", accepting=False)
    assert choose_node(pool, loads, 30, 1_000_000).name == "b"  # type: ignore[union-attr]  # None fails too
    loads["b"] = load("b", healthy=False)
    assert choose_node(pool, loads, 30, 1_000_000) is None
    loads = {"a": load("a", bitrate=99_000_000), "b": load("b", participants=299)}
    assert choose_node(pool, loads, 30, 2_000_000) is None  # neither has room


def test_only_the_class_its_teacher_and_invited_staff_join() -> None:
    def role(profile: Profile, **facts: bool) -> tuple[Decision, Role | None]:
        return room_decision(
            Actor(person_id=1, school_id=1, profile=profile),
            room_school_id=1 if facts.get("school", True) else 2,
            is_host=facts.get("host", False),
            is_pupil_of_group=facts.get("pupil", False),
            is_guest=facts.get("guest", False),
        )

    assert role(Profile.PUPIL, pupil=True) == (Decision.ALLOW, Role.PUPIL)
    assert role(Profile.PUPIL) == (Decision.HIDE, None)
    assert role(Profile.PUPIL, pupil=True, school=False) == (Decision.HIDE, None)
    assert role(Profile.PARENT, pupil=True) == (Decision.HIDE, None)
    assert role(Profile.TEACHER, host=True) == (Decision.ALLOW, Role.TEACHER)
    assert role(Profile.STAFF) == (Decision.HIDE, None)
    assert role(Profile.STAFF, guest=True) == (Decision.ALLOW, Role.GUEST)
    assert role(Profile.PUPIL, guest=True) == (Decision.HIDE, None)


def test_the_configuration_needs_secrets_and_binds_the_chosen_address() -> None:
    node = nodes()[0]
    options = {
        "configs_folder": "/x",
        "bind": "10.1.2.3",
        "admin_secret": "a" * 16,
        "token_secret": "t" * 16,
        "room_key": "k" * 16,
        "rtp_ports": "20000-20999",
        "allow_origin": "https://ent.example",
    }
    files = janus_configuration(node, **options)
    assert 'ip = "10.1.2.3"' in files["janus.transport.http.jcfg"]
    assert 'admin_ip = "10.1.2.3"' in files["janus.transport.http.jcfg"]
    assert "token_auth = true" in files["janus.jcfg"]
    assert "libjanus_streaming.so" in files["janus.jcfg"]  # disabled
    assert "room:" not in files["janus.plugin.videoroom.jcfg"]  # no demo rooms
    with pytest.raises(InvalidInput):
        janus_configuration(node, **{**options, "admin_secret": "janusoverlord"})
    with pytest.raises(ValueError, match="PREAU_JANUS_NODES"):
        parse_nodes("a|http://h:1/janus")
