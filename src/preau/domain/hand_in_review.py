"""The teacher's review of a homework's hand-ins, as pure rules: where a pupil sits in the
class list (previous and next, optionally only those still to review), who comes next
after a return, which handed-in files a browser may show inline, and where "back" goes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

from preau.domain.classwork import HandInState, sniff_content_type

# The filter of the review pages: only the pupils whose work waits for the teacher.
TO_REVIEW = "to-review"

# What a browser shows with its own viewer, recognised from the bytes: never SVG or HTML
# (they run scripts), never a type the client named.
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"})
INLINE_IMAGES = INLINE_TYPES - {"application/pdf"}

# Where "back" may lead: pages of Préau only, a path, never another site.
BACK_PREFIXES = ("/classwork", "/home", "/homework/")
MAX_BACK = 300


@dataclass(frozen=True)
class ReviewPlace:
    """One pupil's place in the review: their neighbours (pupil ids) in the class list,
    their position (from 1) among the pupils shown, and how many are shown."""

    previous: int | None
    next: int | None
    position: int
    total: int


def needs_review(state: HandInState) -> bool:
    """Work turned in and not yet returned waits for the teacher."""
    return state is HandInState.TURNED_IN


def review_place(
    pupils: Sequence[tuple[int, HandInState]], pupil_id: int, *, to_review_only: bool
) -> ReviewPlace:
    """``pupils`` in the class list order, each with the state of their hand-in. With
    ``to_review_only`` the neighbours are the nearest pupils whose work waits for review;
    the pupil shown keeps their place even when their own work does not."""
    shown = [
        pid for pid, state in pupils if pid == pupil_id or not to_review_only or needs_review(state)
    ]
    if pupil_id not in shown:
        return ReviewPlace(previous=None, next=None, position=0, total=len(shown))
    index = shown.index(pupil_id)
    return ReviewPlace(
        previous=shown[index - 1] if index > 0 else None,
        next=shown[index + 1] if index + 1 < len(shown) else None,
        position=index + 1,
        total=len(shown),
    )


def next_to_review(pupils: Sequence[tuple[int, HandInState]], pupil_id: int) -> int | None:
    """After returning ``pupil_id``'s work: the next pupil in the list whose work waits,
    going round to the top of the list; None when nobody's does."""
    ids = [pid for pid, _ in pupils]
    start = ids.index(pupil_id) + 1 if pupil_id in ids else 0
    for pid, state in [*pupils[start:], *pupils[:start]]:
        if pid != pupil_id and needs_review(state):
            return pid
    return None


def inline_type(head: bytes) -> str | None:
    """The type to show a file inline as, from its first bytes, or None: it downloads."""
    kind = sniff_content_type(head, "")
    return kind if kind in INLINE_TYPES else None


def inline_disposition(name: str) -> str:
    """``Content-Disposition`` to show a file in the page, keeping its UTF-8 name."""
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\;' else "_" for c in name
    )
    return f"inline; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def safe_back(path: str | None) -> str | None:
    """``path`` if it is a page of Préau a "back" link may go to, else None."""
    if not path or len(path) > MAX_BACK or not path.startswith(BACK_PREFIXES):
        return None
    if path.startswith("//") or any(c in path for c in "\\\r\n\t") or not path.isprintable():
        return None
    return path
