"""CSV files as spreadsheets save them: the delimiter (comma, semicolon,
tab) and the encoding (UTF-8 with or without BOM, Windows-1252) are found,
and a file that cannot be read says why."""

import datetime as dt
from decimal import Decimal

import pytest

from rapport.clients import imports
from rapport.lib import csvimport as c

ROWS = [
    ["external_id", "first_name", "last_name", "tags", "email_ok", "notes"],
    ["C-1", "Zoë", "Müller", "family;hygiene", "true", "Prefers mornings, not Mondays"],
    ["C-2", "José", "Ñúñez", "", "false", ""],
]


def _csv(delimiter: str) -> str:
    def cell(value):
        # Quote what would split: a comma in a comma file, and so on.
        return f'"{value}"' if delimiter in value or ";" in value or "," in value else value

    return "".join(delimiter.join(cell(v) for v in row) + "\r\n" for row in ROWS)


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
@pytest.mark.parametrize(
    ("encoding", "prefix", "label"),
    [
        ("utf-8", b"", "UTF-8"),
        ("utf-8", b"\xef\xbb\xbf", "UTF-8 with BOM"),
        ("cp1252", b"", "Windows-1252"),
    ],
)
def test_each_delimiter_and_encoding_reads_the_same_contacts(delimiter, encoding, prefix, label):
    data = prefix + _csv(delimiter).encode(encoding)
    parsed = imports.parse_file(data, "contacts.csv")
    assert parsed.ok, parsed.errors
    assert parsed.delimiter == delimiter
    assert parsed.encoding == label
    first, second = (row.values for row in parsed.rows)
    assert first["first_name"] == "Zoë" and first["last_name"] == "Müller"
    assert first["tags"] == ["family", "hygiene"]
    assert first["notes"] == "Prefers mornings, not Mondays"
    assert second["last_name"] == "Ñúñez" and second["email_ok"] is False


def test_the_excel_semicolon_file_of_the_report_imports():
    # The repro of the trust notes: Excel's "CSV" in a comma-decimal locale.
    data = (
        "external_id;first_name;last_name;email;tags;email_ok\r\n"
        "C-1001;Zoë;Jones;zoe@example.com;family;true\r\n"
    ).encode("cp1252")
    parsed = imports.parse_file(data, "contacts.csv")
    assert parsed.ok, [str(e) for e in parsed.errors]
    assert parsed.read_as == "semicolon-separated, Windows-1252"


def test_commas_inside_quoted_cells_do_not_fool_the_detection():
    text = 'id,notes\nA,"one; two; three"\nB,"x; y"\n'
    kinds = {"people": c.Kind("people", (c.Column("id"), c.Column("notes")))}
    parsed = c.parse(text, "people.csv", kinds)
    assert parsed.ok and parsed.delimiter == ","
    assert parsed.rows[0].values["notes"] == "one; two; three"


def test_a_single_column_file_is_read_as_it_is():
    kinds = {"people": c.Kind("people", (c.Column("id", required=True),))}
    parsed = c.parse("id\nA\nB\n", "people.csv", kinds)
    assert parsed.ok and [r.values["id"] for r in parsed.rows] == ["A", "B"]


def test_problems_are_named():
    def first_error(data):
        return str(imports.parse_file(data, "contacts.csv").errors[0])

    assert "separated by a vertical bar (|)" in first_error(b"external_id|first_name\nC-1|Ann\n")
    assert "neither UTF-8 nor Windows-1252" in first_error(b"external_id\n\x81\n")
    assert "not a text file" in first_error(b"PK\x03\x04\x00\x00rest of a zip")
    assert "starts as UTF-8 but" in first_error(b"\xef\xbb\xbfexternal_id\n\xff\n")


def test_utf16_from_excel_unicode_text_is_read():
    data = "external_id\tfirst_name\r\nC-1\tZoë\r\n".encode("utf-16")
    parsed = imports.parse_file(data, "contacts.csv")
    assert parsed.ok, parsed.errors
    assert parsed.rows[0].values["first_name"] == "Zoë"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (["family", "hygiene"], "family, hygiene"),
        (True, "yes"),
        (False, "no"),
        (None, ""),
        (dt.date(2026, 3, 1), "2026-03-01"),
        (Decimal("12.50"), "12.50"),
        ("Ann", "Ann"),
    ],
)
def test_values_are_shown_as_stored_not_as_python(value, shown):
    assert c.display(value) == shown
