"""Sensitive-data detectors for sampled object text: card numbers (Luhn, python-stdnum), AWS access keys and
secrets, private keys, e-mail addresses, IBANs (checksum), US SSNs (issuance rules), each with Macie's idea of
keywords near a match (in the text around it, or in the CSV column / JSON key that holds it).

A match is never kept whole: `masked` shows only what identifies it to a person (last 4 digits, a key's prefix).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from stdnum import iban as stdnum_iban
from stdnum import luhn
from stdnum.us import ssn as stdnum_ssn


@dataclass(frozen=True)
class Detector:
    type: str
    pattern: re.Pattern[str]
    keywords: tuple[str, ...]
    validate: Callable[[str], bool]
    mask: Callable[[str], str]
    needs_keyword: bool = False


@dataclass(frozen=True)
class Match:
    type: str
    masked: str
    keyword: str | None


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value)


def _card(value: str) -> bool:
    digits = _digits(value)
    if not 13 <= len(digits) <= 19 or len(set(digits)) < 2:
        return False
    # issuer prefixes of the major schemes (Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay, Maestro)
    if not re.match(r"^(4|5[1-5]|2[2-7]|3[47]|6011|65|64[4-9]|35|30[0-5]|36|38|62|50|5[6-8]|6[0-9])", digits):
        return False
    return luhn.is_valid(digits)


def _secret(value: str) -> bool:
    return bool(re.search(r"[A-Z]", value) and re.search(r"[a-z]", value) and re.search(r"[0-9/+]", value))


def _ssn(value: str) -> bool:
    return stdnum_ssn.is_valid(value)


def _iban(value: str) -> bool:
    return stdnum_iban.is_valid(value)


def _mask_tail(value: str) -> str:
    digits = _digits(value)
    return "*" * (len(digits) - 4) + digits[-4:]


def _mask_head(value: str) -> str:
    return value[:4] + "*" * (len(value) - 4)


def _mask_email(value: str) -> str:
    user, _, domain = value.partition("@")
    return f"{user[:1]}***@{domain}"


DETECTORS: tuple[Detector, ...] = (
    Detector(
        "card_number",
        re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])"),
        ("card", "credit", "debit", "visa", "mastercard", "amex", "cc_num", "ccnum", "pan", "cvv", "expir"),
        _card,
        _mask_tail,
    ),
    Detector(
        "aws_access_key",
        re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}(?![A-Z0-9])"),
        ("aws", "access_key", "access key", "key_id", "keyid"),
        lambda _: True,
        _mask_head,
    ),
    Detector(
        "aws_secret_key",
        re.compile(r"(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"),
        ("aws_secret", "secret_access_key", "secret access key", "secretaccesskey", "aws secret"),
        _secret,
        lambda v: v[:2] + "*" * 38,
        needs_keyword=True,
    ),
    Detector(
        "private_key",
        re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----"),
        (),
        lambda _: True,
        lambda v: v,
    ),
    Detector(
        "iban",
        re.compile(r"(?<![A-Z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![A-Z0-9])"),
        ("iban", "account", "bank", "sepa", "bic"),
        _iban,
        lambda v: v.replace(" ", "")[:4] + "*" * (len(v.replace(" ", "")) - 8) + v.replace(" ", "")[-4:],
    ),
    Detector(
        "us_ssn",
        re.compile(r"(?<![\d-])\d{3}-\d{2}-\d{4}(?![\d-])"),
        ("ssn", "social security", "social_security", "taxpayer", "tin"),
        _ssn,
        _mask_tail,
    ),
    Detector(
        "us_ssn",
        re.compile(r"(?<!\d)\d{9}(?!\d)"),
        ("ssn", "social security", "social_security"),
        _ssn,
        _mask_tail,
        needs_keyword=True,
    ),
    Detector(
        "email",
        re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}(?![\w-])"),
        ("email", "e-mail", "mail", "contact"),
        lambda _: True,
        _mask_email,
    ),
)


def scan_text(text: str, distance: int = 60, context: str = "") -> Iterator[Match]:
    """Every validated match in `text`; `context` is a column or key name that counts as a nearby keyword."""
    context = context.lower()
    taken: list[tuple[int, int]] = []
    for detector in DETECTORS:
        for found in detector.pattern.finditer(text):
            value = found.group(0)
            if any(found.start() < end and start < found.end() for start, end in taken):
                continue  # a span already explained by an earlier detector (a card number is not also an SSN)
            if not detector.validate(value):
                continue
            window = text[max(0, found.start() - distance) : found.end() + distance].lower()
            keyword = next((k for k in detector.keywords if k in context or k in window), None)
            if detector.needs_keyword and keyword is None:
                continue
            taken.append((found.start(), found.end()))
            yield Match(detector.type, detector.mask(value), keyword)
