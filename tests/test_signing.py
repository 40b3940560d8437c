"""One signer for the portal's signed values (portal.signing): flash cookies, calendar feed links
and share links are signed by it, and a signature made for one use never opens another."""

from __future__ import annotations

import base64
import hashlib
import hmac

from portal import signing
from portal.calendar import feed as ical
from portal.negotiation.links import rules as links_rules
from portal.web import flash

SECRET = "a-secret-key-that-is-long-enough-for-the-portal"


def test_a_signature_is_bound_to_its_purpose_its_parts_and_the_key():
    signature = signing.sign(SECRET, "calendar-feed", 7, "nonce")
    assert signing.verify(signature, SECRET, "calendar-feed", 7, "nonce")
    assert not signing.verify(signature, SECRET, "share-link", 7, "nonce")
    assert not signing.verify(signature, SECRET, "calendar-feed", 8, "nonce")
    assert not signing.verify(signature, SECRET + "x", "calendar-feed", 7, "nonce")
    assert len(signing.sign(SECRET, "flash", "body", size=16)) == 22


def test_calendar_links_already_in_calendars_keep_working():
    """The feed URL lives in people's calendar apps: its signature is the one made before the signer moved."""
    before = base64.urlsafe_b64encode(
        hmac.new(SECRET.encode(), b"calendar-feed:7:" + b"n" * 32, hashlib.sha256).digest()).decode().rstrip("=")
    assert ical.read_token(f"7.{'n' * 32}.{before}", SECRET) == (7, "n" * 32)


def test_the_three_signed_values_use_the_one_signer():
    token = ical.make_token(7, "n" * 32, SECRET)
    assert token.endswith(signing.sign(SECRET, "calendar-feed", 7, "n" * 32))
    share = links_rules.make_token(SECRET, 3, 2, random_part="r" * 43)
    assert share == "r" * 43 + "." + signing.sign(SECRET, "share-link", "r" * 43, 3, 2, size=16)
    cookie = flash.encode([["success", "Saved."]], SECRET)
    body, signature = cookie.rsplit(".", 1)
    assert signing.verify(signature, SECRET, "flash", body, size=16)
    assert flash.decode(cookie, SECRET) == [["success", "Saved."]]
    assert flash.decode(f"{body}.{signing.sign(SECRET, 'share-link', body, size=16)}", SECRET) == []  # another purpose's signature
