"""The selector normalisation rules of ``vigil.identity.selectors`` (its docstring), by value."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

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


# Dotted quads and their near misses: leading zeros, octets past 255, non-ASCII digits,
# too few or too many parts, stray whitespace and signs.
_OCTET_TEXT = st.one_of(
    st.integers(0, 300).map(str),
    st.from_regex(r"0[0-9]{1,3}", fullmatch=True),
    st.text(alphabet="0123456789\u0661\u00b2+- ", min_size=0, max_size=4),
)


@given(st.lists(_OCTET_TEXT, min_size=1, max_size=5).map(".".join))
@example("255.255.255.255")
@example("0.0.0.0")
@example("01.2.3.4")
@example("1.2.3.\u0664")
def test_an_ipv4_address_is_normalised_exactly_as_ipaddress_reads_it(raw: str) -> None:
    """The dotted-quad shortcut of ``normalise_ip`` gives what ``ipaddress`` gives, and
    refuses what it refuses."""
    try:
        expected = ipaddress.ip_address(raw.strip()).compressed
    except ValueError:
        with pytest.raises(SelectorError):
            normalise_ip(raw)
    else:
        assert normalise_ip(raw) == Normalised(expected, raw.strip())


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
