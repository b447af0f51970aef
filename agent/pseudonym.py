"""People are kept at rest only as keyed pseudonyms.

A pseudonym is a keyed HMAC-SHA256 of the lower-cased e-mail address, so the
ledger cannot be reversed or joined with other data without the secret key.
Interaction ids get a short keyed digest too (message ids often embed host
names or addresses); it only serves to recognise an interaction seen before.
"""

from __future__ import annotations

import hashlib
import hmac


class Pseudonymiser:
    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the pseudonymisation key must be at least 16 bytes")
        self._key = key
        digest_key = hashlib.sha256(b"bridgework/interaction-id\x00" + key).digest()
        self._digest_base = hashlib.blake2b(digest_size=8, key=digest_key)  # copied per use
        self._cache: dict[str, str] = {}

    def person(self, email: str) -> str:
        """A stable 32-hex-digit pseudonym for a person."""
        found = self._cache.get(email)
        if found is None:
            found = hmac.new(self._key, email.strip().lower().encode(), hashlib.sha256).hexdigest()[:32]
            self._cache[email] = found
        return found

    def interaction(self, source_id: str) -> int:
        """A 63-bit keyed digest of an interaction id (fits a signed 64-bit integer)."""
        h = self._digest_base.copy()
        h.update(source_id.encode())
        return int.from_bytes(h.digest(), "big") >> 1

    def cursor_key(self, key: str) -> str:
        """Sync cursor names carry mailbox addresses (``google:mail:ada@x``): keep them keyed."""
        return "c-" + hmac.new(self._key, b"cursor\x00" + key.encode(), hashlib.sha256).hexdigest()[:32]

    def fingerprint(self) -> str:
        """Identifies the key without revealing it, so a changed key is noticed."""
        return hmac.new(self._key, b"bridgework/key-fingerprint", hashlib.sha256).hexdigest()[:16]
