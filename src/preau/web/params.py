"""Path and query parameters with their bounds, for every handler of ``web/`` and ``api/``.

Litestar reads a parameter's bounds from its ``Parameter`` (a bare ``msgspec.Meta`` on a
handler argument is ignored), so these are the handler forms of the types in
:mod:`preau.domain.bounds`: a path ``{homework_id:int}`` is declared ``homework_id: IdPath``,
an optional id in the query ``group_id: IdQuery = None``, paging ``page: Page = 1``. A value
out of bounds is a 400 with the field named, before the handler runs, and the bounds are
in the OpenAPI document.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, TypeAlias

from litestar.params import PathParameter, QueryParameter

from preau.domain.bounds import MAX_ID, MAX_IDS, MAX_PAGE
from preau.domain.errors import InvalidInput
from preau.i18n import lazy

IdPath: TypeAlias = Annotated[int, PathParameter(ge=1, le=MAX_ID)]
IdQuery: TypeAlias = Annotated[int | None, QueryParameter(ge=1, le=MAX_ID)]
Page: TypeAlias = Annotated[int, QueryParameter(ge=1, le=MAX_PAGE)]
PageSize: TypeAlias = Annotated[int, QueryParameter(ge=1, le=200)]
# A search box: one line of at most 100 characters, no control character (PostgreSQL
# refuses a NUL in a text, and no name holds one).
Search: TypeAlias = Annotated[str, QueryParameter(max_length=100, pattern=r"^[^\x00-\x1f\x7f]*$")]
# A question's place in an exercise (from 0; an exercise holds at most 100).
Position: TypeAlias = Annotated[int, PathParameter(ge=0, le=999)]


NOT_AN_ID = lazy("Choose an item from the list: this value is not one of Préau's ids.")


def form_id(value: object, field: str, message: str = NOT_AN_ID) -> int:
    """A form field holding an id, checked like ``IdPath``: else a 400 with ``message``."""
    text = str(value).strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 19 and 1 <= int(text) <= MAX_ID):
        raise InvalidInput(message, field=field)
    return int(text)


def form_ids(values: Iterable[object], field: str, message: str = NOT_AN_ID) -> list[int]:
    """Several ids from a form (empty entries skipped), at most ``MAX_IDS``."""
    texts = [text for value in values if (text := str(value).strip())]
    if len(texts) > MAX_IDS:
        raise InvalidInput(message, field=field)
    return [form_id(text, field, message) for text in texts]
