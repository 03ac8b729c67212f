import pytest

from rapport.lib import phones


@pytest.mark.parametrize(
    "typed, region, e164",
    [
        ("(555) 222-3333", "US", "+15552223333"),
        ("555.222.3333", "US", "+15552223333"),
        ("+1 555 222 3333", "GB", "+15552223333"),
        ("07700 900123", "GB", "+447700900123"),
        ("0044 7700 900123", "GB", "+447700900123"),
        ("+44 (0)7700 900123", "US", "+447700900123"),
    ],
)
def test_numbers_typed_any_way_are_one_e164_number(typed, region, e164):
    assert phones.to_e164(typed, region) == e164


@pytest.mark.parametrize("typed", ["", "12", "222-3333", "call me", "+999 1234"])
def test_what_is_not_a_whole_number_is_refused(typed):
    with pytest.raises(phones.InvalidPhone):
        phones.to_e164(typed, "US")


def test_normalize_keeps_what_it_cannot_read():
    assert phones.normalize("ext. 12", "US") == "ext. 12"


def test_numbers_are_shown_the_local_way_at_home_and_internationally_elsewhere():
    assert phones.display("+15552223333", "US") == "(555) 222-3333"
    assert phones.display("+447700900123", "GB") == "07700 900123"
    assert phones.display("+447700900123", "US") == "+44 7700 900123"
    assert phones.display("not a number", "US") == "not a number"


def test_the_region_follows_the_time_zone():
    assert phones.region_for_time_zone("Europe/London") == "GB"
    assert phones.region_for_time_zone("America/New_York") == "US"
    assert phones.region_for_time_zone("Australia/Sydney") == "AU"
    assert phones.region_for_time_zone("UTC") == phones.FALLBACK_REGION
