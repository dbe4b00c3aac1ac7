"""Phone numbers from customer lists, normalized to E.164 with :mod:`phonenumbers`.

People write Vietnamese numbers as ``0912 345 678``, ``0912.345.678``, ``84912345678``,
``+84 912-345-678`` or, when a spreadsheet ate the leading zero, ``912345678``; all of them are
``+84912345678`` (ITU-T E.164). :class:`PhoneNormalizer` never raises on any text: it returns the
E.164 string or an :class:`InvalidPhone` carrying the original value and the reason.

Speed: a customer list has one number per row and ``phonenumbers.parse`` plus
``is_valid_number`` costs about 50 µs, which alone would spend five of the ten seconds allowed
for a 100,000-row import. The common shapes in the default region (a trunk ``0``, the bare
country code, ``+`` and the country code, each with spaces, dots, dashes or parentheses) are
therefore recognized directly and checked against the same ``phonenumbers`` metadata that
``is_valid_number`` uses (the general description, then each number type, with their possible
lengths); anything else, and anything the shortcut does not accept, goes through
``phonenumbers.parse`` itself. A property test holds the two paths to the same answers.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Final

import phonenumbers
from phonenumbers import NumberParseException, PhoneMetadata, PhoneNumberFormat
from phonenumbers.phonenumberutil import ValidationResult

__all__ = ["DEFAULT_REGION", "InvalidPhone", "PhoneNormalizer", "normalize_phone"]

DEFAULT_REGION: Final = "VN"
MAX_PHONE_TEXT: Final = 64
"""Longer cell text is refused without parsing (``phonenumbers`` itself stops at 250)."""

_SEPARATORS: Final = re.compile(r"[\s.\-()]+")

_PARSE_REASONS: Final = {
    NumberParseException.INVALID_COUNTRY_CODE: "unknown country code",
    NumberParseException.NOT_A_NUMBER: "not a number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
    NumberParseException.TOO_SHORT_NSN: "too short",
    NumberParseException.TOO_LONG: "too long",
}
_POSSIBLE_REASONS: Final = {
    ValidationResult.INVALID_COUNTRY_CODE: "unknown country code",
    ValidationResult.TOO_SHORT: "too short",
    ValidationResult.TOO_LONG: "too long",
    ValidationResult.INVALID_LENGTH: "wrong number of digits",
}


@dataclass(frozen=True, slots=True)
class InvalidPhone:
    """A cell that is not a phone number: ``original`` as written, ``reason`` for people."""

    original: str
    detail: str

    @property
    def reason(self) -> str:
        """``'0912' is not a valid phone number (too short)``."""
        return f"{self.original!r} is not a valid phone number ({self.detail})"

    def __str__(self) -> str:
        return self.reason


class _RegionPatterns:
    """The validity test of ``phonenumbers.is_valid_number`` for one region, precompiled.

    A national significant number is valid when it matches the region's general description
    and at least one number type (fixed line, mobile, toll free, ...), each match also
    requiring the description's possible lengths (``phonenumberutil._number_type_helper``).
    """

    def __init__(self, region: str) -> None:
        metadata = PhoneMetadata.metadata_for_region(region)
        if metadata is None:
            raise ValueError(f"unknown phone region {region!r}")
        self.country_code = str(metadata.country_code)
        self.trunk_prefix = metadata.national_prefix or ""
        # The shortcut only understands a plain trunk prefix that is stripped as is, and a
        # country code that belongs to this region alone (not +1, shared by NANPA regions).
        self.usable = (
            metadata.national_prefix_for_parsing in (None, self.trunk_prefix)
            and metadata.national_prefix_transform_rule is None
            and phonenumbers.region_codes_for_country_code(metadata.country_code) == (region,)
        )
        self.max_national = max(metadata.general_desc.possible_length, default=0)
        general = self._desc(metadata.general_desc)
        types = [
            d
            for d in map(
                self._desc,
                (
                    metadata.mobile,
                    metadata.fixed_line,
                    metadata.toll_free,
                    metadata.premium_rate,
                    metadata.shared_cost,
                    metadata.voip,
                    metadata.personal_number,
                    metadata.pager,
                    metadata.uan,
                    metadata.voicemail,
                ),
            )
            if d is not None
        ]
        # One regex per length: the general description as a lookahead, then any number type
        # whose possible lengths admit that length (an empty list admits every length).
        self._by_length: dict[int, re.Pattern[str]] = {}
        if general is not None:
            general_lengths, general_pattern = general
            for length in general_lengths:
                alternatives = [p for lengths, p in types if not lengths or length in lengths]
                if alternatives:
                    self._by_length[length] = re.compile(
                        f"(?=(?:{general_pattern})$)(?:{'|'.join(f'(?:{a})' for a in alternatives)})"
                    )

    @staticmethod
    def _desc(desc: object) -> tuple[frozenset[int], str] | None:
        pattern = getattr(desc, "national_number_pattern", None)
        if desc is None or not pattern:
            return None
        lengths = frozenset(n for n in getattr(desc, "possible_length", ()) or () if n > 0)
        return lengths, pattern

    def is_valid(self, nsn: str) -> bool:
        """Same answer as ``is_valid_number`` for a national significant number of this region."""
        pattern = self._by_length.get(len(nsn))
        return pattern is not None and pattern.fullmatch(nsn) is not None


class PhoneNormalizer:
    """Turns cell text into E.164, with ``region`` (ISO 3166 code) for national numbers.

    Stateless after construction and safe to share between threads.
    """

    def __init__(self, region: str = DEFAULT_REGION) -> None:
        self.region = region
        self._patterns = _RegionPatterns(region)

    def normalize(self, text: str) -> str | InvalidPhone:
        """E.164 (``+84912345678``) or :class:`InvalidPhone`; never raises."""
        original = text
        text = text.strip()
        if not text:
            return InvalidPhone(original, "empty")
        if len(text) > MAX_PHONE_TEXT:
            return InvalidPhone(original, "too long")
        fast = self._shortcut(text)
        if fast is not None:
            return fast
        return self._parse(original, text)

    def _shortcut(self, text: str) -> str | None:
        p = self._patterns
        if not p.usable:
            return None
        compact = text if text.isdigit() else _SEPARATORS.sub("", text)
        if compact.startswith("+"):
            if not compact.startswith(p.country_code, 1):
                return None
            nsn = compact[1 + len(p.country_code) :]
        elif p.trunk_prefix and compact.startswith(p.trunk_prefix):
            nsn = compact[len(p.trunk_prefix) :]
        elif compact.startswith(p.country_code) and len(compact) > p.max_national:
            nsn = compact[len(p.country_code) :]
        else:
            return None
        if not (nsn.isascii() and nsn.isdigit()) or nsn.startswith("0"):
            return None
        if not p.is_valid(nsn):
            return None
        return f"+{p.country_code}{nsn}"

    def _parse(self, original: str, text: str) -> str | InvalidPhone:
        try:
            number = phonenumbers.parse(text, self.region)
        except NumberParseException as exc:
            return InvalidPhone(original, _PARSE_REASONS.get(exc.error_type, "not a number"))
        if number.extension:
            return InvalidPhone(original, f"has an extension ({number.extension}) that cannot be dialled")
        if not phonenumbers.is_valid_number(number):
            possible = phonenumbers.is_possible_number_with_reason(number)
            detail = _POSSIBLE_REASONS.get(possible, "no such number in its country's numbering plan")
            return InvalidPhone(original, detail)
        return phonenumbers.format_number(number, PhoneNumberFormat.E164)


@functools.lru_cache(maxsize=8)
def _normalizer(region: str) -> PhoneNormalizer:
    return PhoneNormalizer(region)


def normalize_phone(text: str, region: str = DEFAULT_REGION) -> str | InvalidPhone:
    """:meth:`PhoneNormalizer.normalize` with a normalizer kept per region; never raises
    except ``ValueError`` for an unknown ``region``."""
    return _normalizer(region).normalize(text)
