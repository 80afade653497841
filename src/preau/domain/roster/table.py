"""Reading one OneRoster CSV file: its first line of column names, each record by line, the
columns every file shares (sourcedId, status, dateLastModified) and the checks on single values
that every row parser uses. A row the checks refuse becomes a :class:`RejectedRow`."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime

import msgspec

from preau.domain.bounds import in_school_range
from preau.domain.roster.reasons import N_, RejectedRow, reject
from preau.domain.roster.records import FileMode, FileStatus, ParsedFile, RecordT


class Table(msgspec.Struct):
    file: str
    columns: dict[str, int]  # lower-case column name -> position
    records: list[tuple[int, list[str]]]  # (spreadsheet line, stripped values)

    def has(self, column: str) -> bool:
        return column.lower() in self.columns


def read_table(
    file: str, data: bytes, required: Sequence[str]
) -> tuple[Table | None, list[RejectedRow]]:
    """Decode UTF-8 (with or without BOM), read the header and every record.

    A file that cannot be read at all gives ``None`` and one reason; a record that cannot be
    read gives a rejected row and the others are still read.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        return None, [
            reject(
                file,
                0,
                N_(
                    "the file is not UTF-8 text (the first problem is on line {line}). Save it "
                    "again as “CSV UTF-8” from your spreadsheet and import it again."
                ),
                line=line,
            )
        ]
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        header = []
    except csv.Error as error:
        return None, [
            reject(file, 1, N_("the first line could not be read as CSV ({error})."), error=error)
        ]
    columns = _columns(file, header, required)
    if isinstance(columns, RejectedRow):
        return None, [columns]
    records, rejected = _records(file, reader, expected=len(header))
    return Table(file, columns, records), rejected


def _columns(file: str, header: list[str], required: Sequence[str]) -> dict[str, int] | RejectedRow:
    """Each column's position by its lower-case name, or why the first line cannot be used."""
    names = [name.strip().lstrip("\ufeff").lower() for name in header]
    if not any(names):
        return reject(
            file,
            0,
            N_("the file is empty: it should start with a line of column names."),
        )
    columns: dict[str, int] = {}
    for position, name in enumerate(names):
        if not name:
            continue
        if name in columns:
            return reject(
                file,
                1,
                N_("the column '{column}' appears twice in the first line."),
                column=header[position].strip(),
            )
        columns[name] = position
    missing = [column for column in required if column.lower() not in columns]
    if missing:
        if len(missing) == 1:
            template = N_(
                "the column {columns} is missing from the first line, so the file was not "
                "read. Add the column (it may be left empty where it is optional)."
            )
        else:
            template = N_(
                "the columns {columns} are missing from the first line, so the file was not "
                "read. Add the columns (they may be left empty where they are optional)."
            )
        return reject(file, 1, template, columns=", ".join(missing))
    return columns


def _records(
    file: str, reader: Iterator[list[str]], *, expected: int
) -> tuple[list[tuple[int, list[str]]], list[RejectedRow]]:
    """The records after the first line, by spreadsheet line; one that cannot be read (bad
    quotes, a different number of values) is refused and the others are still read."""
    rejected: list[RejectedRow] = []
    records: list[tuple[int, list[str]]] = []
    line = 1
    while True:
        line += 1
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            rejected.append(
                reject(
                    file,
                    line,
                    N_("this line could not be read as CSV ({error}); check its quotes."),
                    error=error,
                )
            )
            continue
        if not values or (len(values) == 1 and not values[0].strip()):
            continue  # a blank line
        if len(values) != expected:
            rejected.append(
                reject(
                    file,
                    line,
                    N_(
                        "this line has {found} values but the first line has {expected} "
                        "columns. Look for a missing comma, or a comma inside a value that "
                        "is not between quotes."
                    ),
                    found=len(values),
                    expected=expected,
                )
            )
            continue
        records.append((line, [value.strip() for value in values]))
    return records, rejected


class Row:
    """Column access by name for one record (absent columns read as empty)."""

    __slots__ = ("columns", "line", "values")

    def __init__(self, columns: Mapping[str, int], line: int, values: list[str]) -> None:
        self.columns = columns
        self.line = line
        self.values = values

    def __getitem__(self, column: str) -> str:
        position = self.columns.get(column)
        return "" if position is None else self.values[position]


class RowError(Exception):
    """Raised inside a row parser: the row is rejected with this reason."""

    def __init__(self, template: str, **params: object) -> None:
        super().__init__(template)
        self.template = template
        self.params = params


# ---------------------------------------------------------------------------------------------
# Checks on single values, shared by the row parsers


def split_list(value: str) -> tuple[str, ...]:
    """OneRoster lists are comma-separated inside one (quoted) value."""
    if not value:
        return ()
    return tuple(dict.fromkeys(item.strip() for item in value.split(",") if item.strip()))


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EMPTY = N_("the column {column} is empty; it is required.")


def read_date(value: str, column: str) -> date:
    if _DATE.match(value):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            pass
        else:
            if in_school_range(day):
                return day
            raise RowError(
                N_("the date '{value}' in {column} is outside the years 2000 to 2100."),
                value=value,
                column=column,
            )
    raise RowError(
        N_("the date '{value}' in {column} is not a date; write it as YYYY-MM-DD."),
        value=value,
        column=column,
    )


def _check_date_last_modified(value: str) -> None:
    if not value:
        return
    try:
        if _DATE.match(value):
            date.fromisoformat(value)
        else:
            datetime.fromisoformat(value)
    except ValueError:
        raise RowError(
            N_(
                "the date '{value}' in dateLastModified is not a date and time; write it as "
                "YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ."
            ),
            value=value,
        ) from None


def read_name(value: str, column: str, limit: int = 100) -> str:
    name = optional_text(value, column, limit)
    if name is None:
        raise RowError(_EMPTY, column=column)
    if any(unicodedata.category(character).startswith("C") for character in name):
        raise RowError(
            N_("the value in {column} contains invisible control characters."), column=column
        )
    return name


def optional_text(value: str, column: str, limit: int) -> str | None:
    value = " ".join(value.split())
    if not value:
        return None
    if len(value) > limit:
        raise RowError(
            N_("the value in {column} is longer than {limit} characters."),
            column=column,
            limit=limit,
        )
    return value


def read_required(row: Row, column: str) -> str:
    value = row[column.lower()]
    if not value:
        raise RowError(_EMPTY, column=column)
    return value


# ---------------------------------------------------------------------------------------------
# One file


def _status(row: Row, file: str, mode: FileMode) -> bool:
    """True when the row is marked ``tobedeleted``."""
    status = row["status"].lower()
    if status == "tobedeleted":
        if mode is FileMode.BULK:
            raise RowError(
                N_(
                    "the status is 'tobedeleted' but the manifest marks {file} as bulk; "
                    "deletions are only read from delta files."
                ),
                file=file,
            )
        return True
    if status == "active":
        return False
    if not status:
        if mode is FileMode.DELTA:
            raise RowError(
                N_("the status is empty, but in a delta file every row says active or tobedeleted.")
            )
        return False
    raise RowError(
        N_("the status '{value}' is not a OneRoster status; use active or tobedeleted."),
        value=row["status"],
    )


def parse_file(
    file: str,
    mode: FileMode,
    data: bytes | None,
    required: Sequence[str],
    parse_row: Callable[[Row, bool], RecordT],
) -> ParsedFile[RecordT]:
    """Read one file of the upload and each of its rows with ``parse_row(row, deleted)``."""
    if mode is FileMode.ABSENT:
        return ParsedFile(file, mode, FileStatus.ABSENT)
    if data is None:
        return ParsedFile(
            file,
            mode,
            FileStatus.REFUSED,
            problem=reject(
                file,
                0,
                N_(
                    "the manifest marks this file as {mode}, but it is not in the upload. Add "
                    "the file, or mark it as absent in manifest.csv."
                ),
                mode=mode,
            ),
        )
    columns = list(required)
    if mode is FileMode.DELTA:
        columns.append("status")
    table, rejected = read_table(file, data, columns)
    if table is None:
        return ParsedFile(file, mode, FileStatus.REFUSED, problem=rejected[0])
    unreadable_rows = len(rejected)
    parsed: ParsedFile[RecordT] = ParsedFile(file, mode, FileStatus.APPLIED, rejected=rejected)
    first_line: dict[str, int] = {}
    for line, values in table.records:
        row = Row(table.columns, line, values)
        source_id = row["sourcedid"]
        try:
            _check_new_source_id(row, first_line)
            first_line[source_id] = line
            deleted = _status(row, file, mode)
            _check_date_last_modified(row["datelastmodified"])
            parsed.records.append(parse_row(row, deleted))
        except RowError as error:
            parsed.rejected.append(reject(file, line, error.template, **error.params))
            if source_id and first_line.get(source_id) == line:
                parsed.refused[source_id] = line
    parsed.rows = len(table.records) + unreadable_rows
    parsed.rejected.sort(key=lambda rejected_row: rejected_row.line)
    return parsed


def _check_new_source_id(row: Row, first_line: Mapping[str, int]) -> None:
    source_id = read_required(row, "sourcedId")
    if source_id in first_line:
        raise RowError(
            N_(
                "the sourcedId '{source_id}' is already used on line {first_line}; "
                "each row needs its own sourcedId."
            ),
            source_id=source_id,
            first_line=first_line[source_id],
        )
