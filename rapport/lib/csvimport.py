"""A small CSV validation engine: typed columns, all errors with file and line.

Framework-free so that it can be tested alone and reused by the command line
and the web upload alike. It only reads and validates; writing is the app's.
The standard library's csv module does the parsing — what it lacks, and what
this adds, is a schema: required and unknown columns, typed cells, and errors
that point at the physical line of the file where the record starts.
"""

import csv
import datetime as dt
import io
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import PurePath
from typing import Any

Parser = Callable[[str], Any]

MAX_ERRORS = 200  # per file: past this, more errors help nobody


@dataclass(frozen=True)
class Column:
    name: str
    parse: Parser = str
    required: bool = False


@dataclass(frozen=True)
class Kind:
    name: str
    columns: tuple[Column, ...]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]


@dataclass(frozen=True)
class RowError:
    file: str
    line: int
    message: str
    column: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.column + ': ' if self.column else ''}{self.message}"


@dataclass
class Row:
    line: int
    values: dict[str, Any]  # only the columns present in the file


@dataclass
class ParsedFile:
    name: str
    kind: Kind | None
    header: list[str] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    # How the file was read, for the preview to say (detected, see _open_text).
    encoding: str = ""
    delimiter: str = ","

    @property
    def read_as(self) -> str:
        return f"{DELIMITER_NAMES.get(self.delimiter, self.delimiter)}, {self.encoding}"

    @property
    def ok(self) -> bool:
        return not self.errors

    def error(self, line: int, message: str, column: str = "") -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(RowError(self.name, line, message, column))


# -- cell parsers: each returns a value or raises ValueError(reason) -------


def text(max_length: int) -> Parser:
    def parse(value: str) -> str:
        if len(value) > max_length:
            raise ValueError(f"longer than {max_length} characters")
        return value

    return parse


def integer(low: int, high: int) -> Parser:
    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a whole number") from None
        if not low <= number <= high:
            raise ValueError(f"must be between {low} and {high}, not {number}")
        return number

    return parse


def iso_date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value) if len(value) == 10 else _bad_date(value)
    except ValueError:
        return _bad_date(value)


def _bad_date(value: str):
    raise ValueError(f"{value!r} is not a date in the form YYYY-MM-DD")


def boolean(value: str) -> bool:
    lowered = value.lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    raise ValueError(f"must be true or false, not {value!r}")


def decimal(value: str) -> Decimal:
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None
    if not number.is_finite() or abs(number) >= Decimal("1e10"):
        raise ValueError(f"{value!r} is out of range")
    return number.quantize(Decimal("0.01"))


def choice(values: Iterable[str]) -> Parser:
    allowed = list(values)

    def parse(value: str) -> str:
        if value not in allowed:
            raise ValueError(f"{value!r} is not one of {', '.join(allowed)}")
        return value

    return parse


def semicolon_list(item: Parser = str) -> Parser:
    def parse(value: str) -> list:
        return [item(part.strip()) for part in value.split(";") if part.strip()]

    return parse


def email(value: str) -> str:
    # The full check is Django's; this catches the obvious mistakes early.
    if "@" not in value or " " in value or len(value) > 254:
        raise ValueError(f"{value!r} is not an email address")
    return value.lower()


# -- reading -------------------------------------------------------------


def detect_kind(name: str, header: list[str], kinds: dict[str, Kind]) -> Kind | None:
    """By file name first ("purchases-2026.csv"), else by the header."""
    stem = PurePath(name).stem.lower()
    for kind_name, kind in kinds.items():
        if stem == kind_name or stem.startswith(kind_name) or stem.endswith(kind_name):
            return kind
    columns = set(header)
    matches = [k for k in kinds.values() if set(k.required) <= columns <= set(k.names)]
    return matches[0] if len(matches) == 1 else None


# What spreadsheets write when asked for CSV: Excel in a locale whose decimal
# mark is a comma writes semicolons; "Text (tab delimited)" writes tabs.
DELIMITERS = (",", ";", "\t")
DELIMITER_NAMES = {",": "comma-separated", ";": "semicolon-separated", "\t": "tab-separated"}
# Encodings, in the order tried. UTF-8 is strict enough that a Windows-1252
# file (Excel's "CSV" on Windows: é is one byte, 0xE9) almost never passes
# for it, so trying UTF-8 first and Windows-1252 second is safe.
ENCODINGS = (("utf-8", "UTF-8"), ("cp1252", "Windows-1252"))
SNIFF_LINES = 50
SNIFF_BYTES = 64 * 1024


class Unreadable(ValueError):
    """The file cannot be decoded; the message names the problem."""


def decode(data: bytes) -> tuple[str, str]:
    """The text of a file and the name of its encoding: UTF-8 with or
    without a byte-order mark, UTF-16 with one (Excel's "Unicode text"),
    else Windows-1252."""
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "UTF-8 with BOM"
        except UnicodeDecodeError as error:
            raise Unreadable(
                f"starts as UTF-8 but byte {error.start + 3} is not UTF-8; "
                "save it again as CSV UTF-8"
            ) from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError:
            raise Unreadable("starts as UTF-16 but is not; save it as CSV UTF-8") from None
    if b"\x00" in data[:4096]:
        raise Unreadable("holds NUL bytes: it is not a text file (an .xlsx saved as .csv?)")
    first_error = None
    for codec, label in ENCODINGS:
        try:
            return data.decode(codec), label
        except UnicodeDecodeError as error:
            first_error = first_error or error
    raise Unreadable(
        f"is neither UTF-8 nor Windows-1252 (byte {first_error.start} cannot be read); "
        "save it as CSV UTF-8"
    )


def sniff_delimiter(text: str) -> str:
    """Comma, semicolon or tab: the one that splits the header into the most
    columns while the first rows have that many cells too. Quoted cells are
    respected (a comma inside "Smith, Jo" does not count)."""
    sample = text.splitlines()[:SNIFF_LINES]
    best, best_score = ",", (0, 0)
    for delimiter in DELIMITERS:
        try:
            rows = [r for r in csv.reader(sample, delimiter=delimiter) if any(c.strip() for c in r)]
        except csv.Error:
            continue
        if not rows:
            continue
        width = len(rows[0])
        if width < 2:
            continue
        consistent = sum(1 for r in rows[1:] if len(r) == width)
        # Rows that agree with the header first, then the widest header.
        score = (consistent, width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _delimiter_hint(header: list[str]) -> str:
    """When the header is one column holding separators Rapport does not
    read, say which (a pipe, say), rather than "unknown column 'a|b|c'"."""
    if len(header) != 1:
        return ""
    for mark, label in (("|", "a vertical bar (|)"), (":", "a colon")):
        if header[0].count(mark) >= 1:
            return (
                f"the columns seem to be separated by {label}; Rapport reads files "
                "separated by commas, semicolons or tabs"
            )
    return ""


def display(value) -> str:
    """A parsed value as it will be stored, for people to read: lists
    joined, true/false as yes/no, dates in ISO form, nothing as nothing."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(display(v) for v in value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


Source = "bytes | str | os.PathLike"  # content (bytes, str) or a path to the file


def _is_path(source) -> bool:
    return isinstance(source, os.PathLike)


def count_lines(source) -> int:
    """Lines in the file, less its header: the total a progress bar counts
    toward. Read in binary blocks, so it costs a fraction of a parse."""
    if _is_path(source):
        lines = 0
        with open(source, "rb") as handle:
            while block := handle.read(1 << 20):
                lines += block.count(b"\n")
        return max(lines - 1, 0)
    newline = b"\n" if isinstance(source, bytes) else "\n"
    return max(source.count(newline) - 1, 0)


@contextmanager
def _open_text(source, name: str, result: "ParsedFile"):
    """The file as text for the csv reader, its encoding and delimiter
    detected and noted on `result`: a path is read as it goes (the file is
    never all in memory, the detection reads its first block); content
    already in memory is decoded whole. Yields None when it cannot be read,
    the reason in result's errors."""
    if _is_path(source):
        with open(source, "rb") as handle:
            head = handle.read(SNIFF_BYTES)
        try:
            encoding, label = _encoding_of(head)
        except Unreadable as error:
            result.error(0, str(error))
            yield None
            return
        with open(source, encoding=encoding, newline="") as handle:
            sample = handle.read(SNIFF_BYTES)
            handle.seek(0)
            result.encoding, result.delimiter = label, sniff_delimiter(sample)
            yield handle
        return
    if isinstance(source, bytes):
        try:
            source, result.encoding = decode(source)
        except Unreadable as error:
            result.error(0, str(error))
            yield None
            return
    else:
        result.encoding = "text"
        if source.startswith("\ufeff"):
            source = source[1:]
    result.delimiter = sniff_delimiter(source[:SNIFF_BYTES])
    yield io.StringIO(source, newline="")


def _encoding_of(head: bytes) -> tuple[str, str]:
    """The codec to stream a file with, judged on its first block: as
    `decode` judges a whole file (a block may end inside a UTF-8 character,
    which is forgiven). A Windows-1252 byte later in a file that began as
    plain UTF-8 is reported with its line when the rows are read."""
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig", "UTF-8 with BOM"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16", "UTF-16"
    if b"\x00" in head[:4096]:
        raise Unreadable("holds NUL bytes: it is not a text file (an .xlsx saved as .csv?)")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 3:  # not just a character cut by the block's end
            return "cp1252", "Windows-1252"
    return "utf-8", "UTF-8"


def read_header(source, name: str, kinds: dict[str, Kind], kind: Kind | None = None) -> ParsedFile:
    """The header's checks only (kind, unknown, repeated and missing columns):
    the rows are read by `iter_rows`, as they stream."""
    result = ParsedFile(name, kind)
    try:
        with _open_text(source, name, result) as handle:
            if handle is None:
                return result
            header = [
                h.strip().lower() for h in next(csv.reader(handle, delimiter=result.delimiter))
            ]
    except StopIteration:
        result.error(0, "is empty: a header row is required")
        return result
    except csv.Error as error:
        result.error(1, f"cannot be read as CSV: {error}")
        return result
    except UnicodeDecodeError:
        result.error(1, "is not UTF-8 (line 1); save it as CSV UTF-8")
        return result
    hint = _delimiter_hint(header)
    if hint:
        result.header = header
        result.error(1, hint)
        return result
    kind = kind or detect_kind(name, header, kinds)
    result.kind, result.header = kind, header
    if kind is None:
        result.error(
            1,
            "cannot tell which kind of file this is; name it after its kind "
            f"({', '.join(kinds)}) or use that kind's columns",
        )
        return result
    columns = {c.name: c for c in kind.columns}
    for position, column in enumerate(header, start=1):
        if not column:
            result.error(1, f"column {position} has no name")
        elif column not in columns:
            result.error(
                1, f"unknown column {column!r} (a {kind.name} file has: {', '.join(kind.names)})"
            )
    if len(set(header)) != len(header):
        result.error(1, "a column appears twice in the header")
    for required in kind.required:
        if required not in header:
            result.error(1, f"required column {required!r} is missing")
    return result


def iter_rows(source, result: ParsedFile, *, keep_bad: bool = False) -> Iterator[Row]:
    """Stream the rows of a file whose header passed `read_header`.

    Every cell error is added to `result` with its line; a row with an
    error is not yielded (unless keep_bad), so that what follows sees only
    typed rows. Only one row is in memory at a time.
    """
    if result.kind is None or result.errors:
        return
    columns = {c.name: c for c in result.kind.columns}
    header = result.header
    plan = [(name, columns[name].parse, columns[name].required) for name in header]
    width = len(header)
    with _open_text(source, result.name, result) as handle:
        if handle is None:
            return
        reader = csv.reader(handle, delimiter=result.delimiter)
        line = 1
        try:
            next(reader)  # the header, checked already
            for cells in reader:
                start = line + 1
                line = reader.line_num
                # Blank lines are not rows (the first cell says so for most rows).
                if not cells or (not cells[0].strip() and not any(c.strip() for c in cells)):
                    continue
                if len(cells) != width:
                    result.error(start, f"has {len(cells)} cells, the header has {width}")
                    continue
                values = {}
                ok = True
                for (column_name, parse_cell, required), raw in zip(plan, cells, strict=True):
                    raw = raw.strip()
                    if not raw:
                        if required:
                            result.error(start, "is required", column_name)
                            ok = False
                        values[column_name] = None
                        continue
                    try:
                        values[column_name] = parse_cell(raw)
                    except ValueError as error:
                        result.error(start, str(error), column_name)
                        ok = False
                if ok or keep_bad:
                    yield Row(start, values)
        except csv.Error as error:
            result.error(line + 1, f"cannot be read as CSV: {error}")
        except UnicodeDecodeError:
            result.error(line + 1, f"is not UTF-8 (line {line + 1}); save it as CSV UTF-8")


def parse(
    data: bytes | str, name: str, kinds: dict[str, Kind], kind: Kind | None = None
) -> ParsedFile:
    """Validate a whole file into memory; never raises for bad content,
    reports instead. (Large files: read_header + iter_rows.)"""
    result = read_header(data, name, kinds, kind)
    result.rows = list(iter_rows(data, result, keep_bad=True))
    return result
