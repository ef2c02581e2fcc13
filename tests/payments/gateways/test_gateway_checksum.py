"""Paytm checksums interoperate with Paytm's own ``paytmchecksum`` package."""

from __future__ import annotations

import itertools

import paytmchecksum
import pytest
from paytmchecksum import PaytmChecksum as reference

from payments.gateways import checksum
from payments.gateways.errors import ChecksumError

KEY = "Wv8zN3aQ5pL1xR7t"
BODY = '{"mid":"MID1","orderId":"ord_1","txnAmount":{"value":"10.50","currency":"INR"}}'
PARAMS = {"ORDERID": "ord_1", "MID": "MID1", "TXNAMOUNT": "10.50", "BANKNAME": None, "X": "null"}


def test_our_string_checksum_verifies_with_paytmchecksum() -> None:
    """A checksum we make over a JSON body is accepted by paytmchecksum."""
    sig = checksum.generate_for_string(BODY, KEY)
    assert len(sig) == 108
    assert paytmchecksum.verifySignature(BODY, KEY, sig)


def test_paytmchecksum_string_checksum_verifies_with_ours() -> None:
    """A checksum paytmchecksum makes over a JSON body is accepted by us."""
    sig = paytmchecksum.generateSignature(BODY, KEY)
    assert checksum.verify_string(BODY, KEY, sig)
    assert not checksum.verify_string(BODY + " ", KEY, sig)


def test_params_checksums_interoperate_both_ways() -> None:
    """Form-parameter checksums agree in both directions, None/"null" as empty."""
    ours = checksum.generate_for_params(PARAMS, KEY)
    assert paytmchecksum.verifySignature(dict(PARAMS), KEY, ours)
    theirs = paytmchecksum.generateSignature(dict(PARAMS), KEY)
    assert checksum.verify_params(PARAMS, KEY, theirs)
    assert checksum.params_string(PARAMS) == reference.getStringByParams(dict(PARAMS))


def test_fixed_salt_gives_the_reference_bytes() -> None:
    """With the same salt our checksum is byte-identical to paytmchecksum's."""
    assert checksum.generate_for_string(BODY, KEY, lambda: "aB3x") == (
        reference.calculateChecksum(BODY, KEY, "aB3x")
    )


def test_injected_salt_is_deterministic() -> None:
    """An injected salt source makes checksums reproducible."""
    salts = itertools.cycle(["AAAA", "BBBB"])
    first = checksum.generate_for_string(BODY, KEY, lambda: next(salts))
    second = checksum.generate_for_string(BODY, KEY, lambda: next(salts))
    assert first != second
    assert first == checksum.generate_for_string(BODY, KEY, lambda: "AAAA")


def test_checksumhash_field_is_ignored() -> None:
    """CHECKSUMHASH itself is never part of the signed string."""
    sig = checksum.generate_for_params(PARAMS, KEY)
    assert checksum.verify_params({**PARAMS, "CHECKSUMHASH": sig}, KEY, sig)


@pytest.mark.parametrize("bad", ["", "not base64!", "QUFBQQ==", "A" * 108])
def test_malformed_checksums_are_false_not_errors(bad: str) -> None:
    """Garbage, truncated or wrong-length checksums verify as False."""
    assert not checksum.verify_string(BODY, KEY, bad)


def test_wrong_key_does_not_verify() -> None:
    """A checksum made with another merchant's key is rejected."""
    sig = checksum.generate_for_string(BODY, "AnotherKey123456")
    assert not checksum.verify_string(BODY, KEY, sig)


def test_bad_key_length_is_an_error() -> None:
    """Keys that are not AES key sizes raise ChecksumError when signing."""
    with pytest.raises(ChecksumError):
        checksum.generate_for_string(BODY, "short")
