"""Pure rules of video lessons: what a probe must show, the renditions made, byte ranges,
the stretches watched, captions. No database, no ffmpeg."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from preau.domain.errors import InvalidInput
from preau.domain.lessons import (
    NOT_A_VIDEO,
    TOO_LONG,
    RangeNotSatisfiable,
    VideoInfo,
    byte_range,
    check_captions,
    read_probe,
    renditions_for,
    seconds_watched,
    watched,
)

PROBE = {
    "streams": [
        {"codec_type": "video", "width": 1280, "height": 720},
        {"codec_type": "audio"},
    ],
    "format": {"duration": "612.4"},
}


def test_a_probe_gives_the_video_and_refuses_the_rest() -> None:
    info = read_probe(PROBE)
    assert (info.width, info.height, info.duration_s, info.has_audio) == (
        1280, 720, Decimal("612.4"), True,
    )  # fmt: skip
    for probe, reason in (
        ({"streams": [{"codec_type": "audio"}], "format": {"duration": "3"}}, NOT_A_VIDEO),
        ({"streams": [{"codec_type": "video", "width": 10, "height": 10}]}, NOT_A_VIDEO),
        (
            {
                "streams": [{"codec_type": "video", "width": 1, "height": 1,
                             "disposition": {"attached_pic": 1}}],
                "format": {"duration": "3"},
            },
            NOT_A_VIDEO,
        ),  # an MP3's cover art is not a video
        ({**PROBE, "format": {"duration": "10801"}}, TOO_LONG),
        ({**PROBE, "format": {"duration": "N/A"}}, NOT_A_VIDEO),
    ):  # fmt: skip
        with pytest.raises(InvalidInput) as refused:
            read_probe(probe)
        assert refused.value.message == reason


def test_renditions_never_upscale_and_always_include_a_light_one() -> None:
    def names(height: int) -> list[str]:
        info = VideoInfo(
            duration_s=Decimal(1), width=height * 16 // 9, height=height, has_audio=True
        )
        return [r.name for r in renditions_for(info)]

    assert names(1080) == ["low", "medium", "high"]
    assert names(480) == ["low", "medium"]
    assert names(144) == ["low"]
    assert all(r.total_kbps <= 300 for r in renditions_for(read_probe(PROBE)) if r.name == "low")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-99", (0, 99)),
        ("bytes=100-", (100, 999)),
        ("bytes=-10", (990, 999)),
        ("bytes=-5000", (0, 999)),
        ("bytes=900-5000", (900, 999)),
        ("bytes=0-1,5-6", None),  # several ranges: the whole file
        ("items=0-1", None),
    ],
)
def test_byte_ranges(header: str | None, expected: tuple[int, int] | None) -> None:
    assert byte_range(header, 1000) == expected


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=5-2", "bytes=-0"])
def test_unsatisfiable_ranges(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable):
        byte_range(header, 1000)


@given(
    st.lists(
        st.tuples(st.integers(0, 300), st.integers(0, 60)).map(lambda p: (p[0], p[0] + p[1])),
        max_size=30,
    )
)
def test_watched_stretches_merge_and_never_exceed_the_video(
    stretches: list[tuple[int, int]],
) -> None:
    intervals: list[tuple[int, int]] = []
    for start, end in stretches:
        intervals = watched(intervals, start, min(end, 360), 360)
        again = watched(intervals, start, min(end, 360), 360)
        assert again == intervals  # the same report twice counts once
    assert seconds_watched(intervals) <= 360
    assert all(b[0] > a[1] + 1 for a, b in itertools.pairwise(intervals))


def test_progress_outside_the_video_is_refused() -> None:
    with pytest.raises(InvalidInput):
        watched([], 10, 5, 60)
    with pytest.raises(InvalidInput):
        watched([], 0, 500, 60)


def test_captions_are_webvtt() -> None:
    assert check_captions("\ufeffWEBVTT\n\n00:00.000 --> 00:01.000\nSalut".encode()).startswith(
        "WEBVTT"
    )
    for bad in (b"1\n00:00:00,000 --> 00:00:01,000\nSRT", b"WEBVTTX\n", "é".encode("latin-1")):
        with pytest.raises(InvalidInput):
            check_captions(bad)
