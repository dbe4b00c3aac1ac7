"""The keys already seen in one file, for the in-file duplicate check, in little memory.

A million-row list must be checked without holding a million rows: only each accepted row's
duplicate keys are kept, with the row number and customer name that a refusal message names.
A ``dict[str, tuple[int, str]]`` costs about 300 bytes per key; this open-addressing table
(linear probing) of 64-bit fingerprints and offsets into one byte heap, where each record holds
the key, the row and the name, costs about 90 (140 just after the table doubles). Lookups are
exact: a fingerprint match is confirmed against the stored key, so two keys that share a
fingerprint are both kept.
"""

from __future__ import annotations

import struct
from array import array
from typing import Final

__all__ = ["SeenIndex"]

_INITIAL: Final = 1 << 10
_NAME_BYTES: Final = 120
"""Names are kept to this many UTF-8 bytes: enough to recognize a customer in a message."""
_LENGTH: Final = struct.Struct("<I")
_ROW_NAME: Final = struct.Struct("<QB")


def _fingerprint(key: str) -> int:
    # ``hash`` of a str is SipHash with a per-process secret key: not predictable from a file.
    return hash(key) or 1


class SeenIndex:
    """Maps a duplicate key to the (row, name) of the first row that had it."""

    def __init__(self) -> None:
        self._prints = array("q", bytes(8 * _INITIAL))
        self._offsets = array("q", bytes(8 * _INITIAL))
        self._heap = bytearray()
        self._mask = _INITIAL - 1
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def get(self, key: str) -> tuple[int, str] | None:
        """The (row, name) recorded for ``key``, or ``None``."""
        slot = self._find(key, _fingerprint(key), key.encode())
        if self._prints[slot] == 0:
            return None
        return self._record(self._offsets[slot])[1:]

    def add(self, key: str, row: int, name: str) -> bool:
        """Record ``key`` for ``row``; ``False`` (and nothing changes) if it is already there."""
        fingerprint = _fingerprint(key)
        encoded = key.encode()
        slot = self._find(key, fingerprint, encoded)
        if self._prints[slot] != 0:
            return False
        name_bytes = name.encode()[:_NAME_BYTES]
        offset = len(self._heap)
        heap = self._heap
        heap += _LENGTH.pack(len(encoded))
        heap += encoded
        heap += _ROW_NAME.pack(row, len(name_bytes))
        heap += name_bytes
        self._prints[slot] = fingerprint
        self._offsets[slot] = offset
        self._count += 1
        if self._count * 4 > (self._mask + 1) * 3:
            self._grow()
        return True

    def _find(self, key: str, fingerprint: int, encoded: bytes) -> int:
        """The slot holding ``key``, else the empty slot where it would go."""
        prints, mask = self._prints, self._mask
        slot = fingerprint & mask
        while True:
            found = prints[slot]
            if found == 0:
                return slot
            if found == fingerprint and self._key_at(self._offsets[slot]) == encoded:
                return slot
            slot = (slot + 1) & mask

    def _key_at(self, offset: int) -> bytes:
        (length,) = _LENGTH.unpack_from(self._heap, offset)
        return bytes(self._heap[offset + 4 : offset + 4 + length])

    def _record(self, offset: int) -> tuple[bytes, int, str]:
        heap = self._heap
        (length,) = _LENGTH.unpack_from(heap, offset)
        key = bytes(heap[offset + 4 : offset + 4 + length])
        at = offset + 4 + length
        row, name_length = _ROW_NAME.unpack_from(heap, at)
        name = heap[at + 9 : at + 9 + name_length].decode(errors="ignore")
        return key, row, name

    def _grow(self) -> None:
        old_prints, old_offsets = self._prints, self._offsets
        size = (self._mask + 1) * 2
        self._prints = array("q", bytes(8 * size))
        self._offsets = array("q", bytes(8 * size))
        self._mask = size - 1
        prints, offsets, mask = self._prints, self._offsets, self._mask
        for fingerprint, offset in zip(old_prints, old_offsets):
            if fingerprint == 0:
                continue
            slot = fingerprint & mask
            while prints[slot] != 0:
                slot = (slot + 1) & mask
            prints[slot] = fingerprint
            offsets[slot] = offset
