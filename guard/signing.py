"""HMAC-SHA256 with the fleet key: what stamps (guard.guest.metadata) and waivers (guard.guest.waiver)
are signed with. Loaded only where a signature is made or checked (a configured key):
hmac and hashlib load OpenSSL, milliseconds the hook does not pay otherwise."""
import hashlib
import hmac

SIGNATURE_PREFIX = "hmac-sha256:"


def hmac_signature(key, message):
    """SIGNATURE_PREFIX and the HMAC-SHA256 of message (bytes) with the fleet key."""
    return SIGNATURE_PREFIX + hmac.new(key, message, hashlib.sha256).hexdigest()
