"""The selector normalisation rules of ``vigil.identity.selectors`` (its docstring), by value."""

from __future__ import annotations

import pytest

from vigil.identity.selectors import (
    Normalised,
    SelectorError,
    normalise,
    normalise_email,
    normalise_ip,
    normalise_phone,
    normalise_username,
)


def test_email_is_casefolded_and_keeps_what_was_written() -> None:
    assert normalise_email("  Orin.Vaskel+Tag@Mailbox.EXAMPLE ") == Normalised(
        "orin.vaskel+tag@mailbox.example", "Orin.Vaskel+Tag@Mailbox.EXAMPLE"
    )


@pytest.mark.parametrize("raw", ["no-at-sign", "@example.com", "someone@", "two words@x.y"])
def test_broken_email_is_refused(raw: str) -> None:
    with pytest.raises(SelectorError):
        normalise_email(raw)


@pytest.mark.parametrize(
    ("raw", "region", "value"),
    [
        ("(416) 555-0142", "CA", "+14165550142"),
        ("+44 20 7946 0958", None, "+442079460958"),
        ("+44 20 7946 0958", "CA", "+442079460958"),  # an explicit + wins over the region
        ("030 901820", "de", "+4930901820"),
    ],
)
def test_phone_becomes_e164(raw: str, region: str | None, value: str) -> None:
    result = normalise_phone(raw, region)
    assert (result.value, result.display, result.warning) == (value, raw.strip(), None)


@pytest.mark.parametrize(("raw", "region"), [("555-0142", None), ("0142 ext 7", "ZZ")])
def test_unparseable_phone_is_kept_as_written_with_a_warning(raw: str, region: str | None) -> None:
    result = normalise_phone(raw, region)
    assert result.value == raw and result.warning and "kept as written" in result.warning


@pytest.mark.parametrize("raw", ["none", "n/a", "call me maybe"])
def test_a_phone_without_a_digit_is_no_selector(raw: str) -> None:
    """It names nobody: as a selector it would link everyone who typed the same word."""
    with pytest.raises(SelectorError, match="no digit"):
        normalise_phone(raw, "CA")


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        (" 24.114.0.10 ", "24.114.0.10"),
        ("2001:DB8:0:0::1", "2001:db8::1"),
        ("2001:0db8:0000:0000:0000:ff00:0042:8329", "2001:db8::ff00:42:8329"),
    ],
)
def test_ip_is_canonical(raw: str, value: str) -> None:
    assert normalise_ip(raw).value == value


@pytest.mark.parametrize("raw", ["999.1.1.1", "24.114.0", "not-an-ip", "2001:db8:::1", ""])
def test_impossible_ip_is_refused(raw: str) -> None:
    with pytest.raises(SelectorError, match="impossible IP"):
        normalise_ip(raw)


def test_username_keeps_the_raw_form_and_compares_casefolded() -> None:
    assert normalise_username(" S0n_0f_G0d ") == Normalised("s0n_0f_g0d", "S0n_0f_G0d")
    assert normalise_username("Straße").value == normalise_username("STRASSE").value
    with pytest.raises(SelectorError):
        normalise_username("   ")


def test_verbatim_kinds_are_only_stripped() -> None:
    assert normalise("camera", " Canon EOS 5D 0420 ").value == "Canon EOS 5D 0420"
    assert normalise("device", "IMEI-356938035643809").value == "IMEI-356938035643809"
    with pytest.raises(SelectorError):
        normalise("shoe-size", "42")
