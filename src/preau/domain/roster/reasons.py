"""Why a row or a file was refused, as a translatable sentence a school administrator can act on.

Reasons are English templates with named placeholders: the French lives in
``translations/fr/LC_MESSAGES/roster.po`` and :meth:`RejectedRow.describe` formats either.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec


def N_(template: str) -> str:  # noqa: N802 - the gettext convention for "extract, translate later"
    """Mark a reason template for extraction; it is translated when the report is shown."""
    return template


class RejectedRow(msgspec.Struct, frozen=True):
    """One refused row (or a whole file when ``line`` is 0), with why, in words.

    ``line`` counts as a spreadsheet does: the header is line 1, the first record line 2.
    """

    file: str
    line: int
    template: str
    params: dict[str, str] = msgspec.field(default_factory=dict)

    @property
    def reason(self) -> str:
        return self.template.format(**self.params)

    def describe(self, translate: Callable[[str], str] = str) -> str:
        """The full sentence, e.g. ``users.csv line 14: the role 'wizard' is not …``."""
        params = {
            key: translate(value) if key in _TRANSLATED_PARAMS else value
            for key, value in self.params.items()
        }
        reason = translate(self.template).format(**params)
        if self.line:
            return translate(N_("{file} line {line}: {reason}")).format(
                file=self.file, line=self.line, reason=reason
            )
        return translate(N_("{file}: {reason}")).format(file=self.file, reason=reason)

    def __str__(self) -> str:
        return self.describe()


#: What a "{kind}" placeholder names; translated with the sentence around it.
KIND_SCHOOL = N_("school")
KIND_CLASS = N_("class")
KIND_USER = N_("user")
_TRANSLATED_PARAMS = frozenset({"kind"})


def reject(file: str, line: int, template: str, /, **params: object) -> RejectedRow:
    return RejectedRow(file, line, template, {key: str(value) for key, value in params.items()})
