"""Signed tokens: pure, so tested without fixtures."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from preau.domain.tokens import BadToken, Signer

SECRET = "a-secret-for-tests-only-0123456789abcdef"


@given(
    st.dictionaries(
        st.text(min_size=1, max_size=8).filter(lambda k: k != "exp"),
        st.integers() | st.text(max_size=20),
        max_size=5,
    )
)
def test_round_trip(payload: dict[str, object]) -> None:
    signer = Signer(SECRET, "session")
    token = signer.sign(payload, expires_at=2000)
    assert signer.verify(token, now=1000) == {**payload, "exp": 2000}


def test_expired_tokens_are_refused() -> None:
    signer = Signer(SECRET, "session")
    token = signer.sign({"pid": 1}, expires_at=1000)
    with pytest.raises(BadToken, match="expired"):
        signer.verify(token, now=1000)


def test_a_token_for_one_purpose_is_refused_for_another() -> None:
    token = Signer(SECRET, "device").sign({"pid": 1}, expires_at=2000)
    with pytest.raises(BadToken, match="signature"):
        Signer(SECRET, "session").verify(token, now=1000)


def test_another_secret_is_refused() -> None:
    token = Signer(SECRET, "session").sign({"pid": 1}, expires_at=2000)
    with pytest.raises(BadToken):
        Signer(SECRET + "x", "session").verify(token, now=1000)


@given(st.integers(min_value=0, max_value=200), st.sampled_from("AaZz09-_."))
def test_any_tampering_is_refused(position: int, replacement: str) -> None:
    signer = Signer(SECRET, "session")
    token = signer.sign({"pid": 1, "pro": "pupil"}, expires_at=2000)
    position %= len(token)
    tampered = token[:position] + replacement + token[position + 1 :]
    if tampered == token:
        return
    with pytest.raises(BadToken):
        signer.verify(tampered, now=1000)


@pytest.mark.parametrize("garbage", ["", ".", "abc", "a.b.c", "!!!.???", "x" * 5000])
def test_garbage_is_refused(garbage: str) -> None:
    with pytest.raises(BadToken):
        Signer(SECRET, "session").verify(garbage, now=1000)
