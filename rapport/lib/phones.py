"""Phone numbers: one form for storing and comparing (E.164), another for people.

A number is stored, compared and suppressed as E.164 (`+15552223333`): a STOP
from `+15552223333` must stop texts to the contact whose number was typed as
`(555) 222-3333`. What a person types is read in the workspace's region (its
default country), and shown back in that country's national format, or in
international format for a number from elsewhere. `phonenumbers` (Google's
libphonenumber) does the parsing and formatting.
"""

import functools
from importlib import resources
from pathlib import Path

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

FALLBACK_REGION = "US"


class InvalidPhone(ValueError):
    pass


def regions() -> list[str]:
    """Every region libphonenumber knows (ISO 3166-1 alpha-2), sorted."""
    return sorted(phonenumbers.SUPPORTED_REGIONS)


def region_choices() -> list[tuple[str, str]]:
    """(region, "United Kingdom (+44)") pairs, sorted by name."""
    names = _country_names()
    choices = []
    for region in regions():
        code = phonenumbers.country_code_for_region(region)
        choices.append((region, f"{names.get(region, region)} (+{code})"))
    return sorted(choices, key=lambda choice: choice[1])


def parse(raw: str, region: str) -> phonenumbers.PhoneNumber:
    """The number a person typed, read in `region` unless it starts with `+`
    (or an international prefix such as 00). Raises InvalidPhone."""
    text = (raw or "").strip()
    if not text:
        raise InvalidPhone("no number")
    try:
        number = phonenumbers.parse(text, (region or FALLBACK_REGION).upper())
    except NumberParseException as error:
        raise InvalidPhone(f"{text!r} is not a phone number") from error
    # Possible (the right length for its country), not necessarily valid:
    # libphonenumber's list of assigned ranges trails reality (a new area
    # code, the 555 numbers of examples), and the provider has the last word.
    if not _possible(number):
        raise InvalidPhone(f"{text!r} is not a phone number in {_region_name(region)}")
    return number


def to_e164(raw: str, region: str) -> str:
    """`(555) 222-3333` in US → `+15552223333`. Raises InvalidPhone."""
    return phonenumbers.format_number(parse(raw, region), PhoneNumberFormat.E164)


def normalize(raw: str, region: str) -> str:
    """E.164 when the text is a valid number, else the text as typed,
    stripped (nothing is thrown away; such a number can never be texted)."""
    try:
        return to_e164(raw, region)
    except InvalidPhone:
        return (raw or "").strip()


def is_e164(value: str) -> bool:
    if not value or not value.startswith("+"):
        return False
    try:
        number = phonenumbers.parse(value, None)
    except NumberParseException:
        return False
    return _possible(number) and phonenumbers.format_number(number, PhoneNumberFormat.E164) == value


def display(value: str, region: str) -> str:
    """How a person reads a stored number: national format at home
    (`(555) 222-3333`), international for elsewhere (`+44 7700 900123`);
    anything that is not a valid number is shown as it was typed."""
    if not value:
        return ""
    try:
        number = phonenumbers.parse(value, (region or FALLBACK_REGION).upper())
    except NumberParseException:
        return value
    if not _possible(number):
        return value
    home_code = phonenumbers.country_code_for_region((region or FALLBACK_REGION).upper())
    home = number.country_code == home_code
    style = PhoneNumberFormat.NATIONAL if home else PhoneNumberFormat.INTERNATIONAL
    return phonenumbers.format_number(number, style)


def search_digits(text: str, region: str) -> str | None:
    """What to look for in stored numbers when someone searches with a piece
    of a number ("222-3333", "07700 900123"): the E.164 form of a whole
    number, or the bare digits of a part (at least four), else None."""
    try:
        return to_e164(text, region)
    except InvalidPhone:
        pass
    digits = "".join(ch for ch in text if ch.isdigit()).lstrip("0")
    return digits if len(digits) >= 4 else None


def region_for_time_zone(time_zone: str) -> str:
    """The country a time zone belongs to (Europe/London → GB), from the IANA
    zone table; the fallback for zones of no one country (UTC)."""
    return _zone_countries().get(time_zone, FALLBACK_REGION)


def _possible(number: phonenumbers.PhoneNumber) -> bool:
    # Not "possible local only": a number without its area code is not one
    # that can be dialled from anywhere.
    reason = phonenumbers.is_possible_number_with_reason(number)
    return reason == phonenumbers.ValidationResult.IS_POSSIBLE


def _region_name(region: str) -> str:
    return _country_names().get((region or "").upper(), region or FALLBACK_REGION)


def _tzdata_file(name: str) -> str:
    # The tzdata package ships the IANA tables; a system copy is the fallback.
    try:
        return resources.files("tzdata").joinpath("zoneinfo", name).read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        path = Path("/usr/share/zoneinfo") / name
        return path.read_text(encoding="utf-8") if path.exists() else ""


@functools.cache
def _zone_countries() -> dict[str, str]:
    found = {}
    for line in _tzdata_file("zone.tab").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) >= 3 and parts[0] in phonenumbers.SUPPORTED_REGIONS:
            found[parts[2]] = parts[0]
    return found


@functools.cache
def _country_names() -> dict[str, str]:
    names = {}
    for line in _tzdata_file("iso3166.tab").splitlines():
        if line.startswith("#") or "\t" not in line:
            continue
        code, name = line.split("\t", 1)
        names[code] = name.strip()
    return names
