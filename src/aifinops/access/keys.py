"""API keys: generation (a public id plus a high-entropy secret, shown once), hashing and checking.

A key reads ``afk_<key_id>_<secret>``. ``key_id`` (12 hex characters) is stored in clear and names the key
(``keys list``, ``keys revoke``); only the SHA-256 of the secret is stored. The secret carries 256 bits of
randomness, so a plain hash is enough (no slow KDF needed) and the check is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from aifinops.core.errors import InputError, Unauthorized

__all__ = [
    "KEY_PREFIX",
    "ROLES",
    "Principal",
    "LOCAL_PRINCIPAL",
    "new_key",
    "parse_key",
    "hash_secret",
    "secret_matches",
    "check_role",
]

KEY_PREFIX = "afk"
#: admin: everything; finance: reads everything, writes nothing; team: reads its own team's data only.
ROLES = ("admin", "finance", "team")
_KEY = re.compile(rf"^{KEY_PREFIX}_([0-9a-f]{{12}})_([A-Za-z0-9_-]{{40,60}})$")
_TEAM = re.compile(r"^[^\x00-\x1f\x7f]{1,200}$")


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the key's id and name, its role and (for ``team``) its team."""

    key_id: str | None
    name: str
    role: str
    team: str | None = None
    local: bool = False  # keyless local mode on loopback

    @property
    def can_write(self) -> bool:
        """Only admins change anything (ingest, reprice, keys, config)."""
        return self.role == "admin"

    @property
    def scoped_team(self) -> str | None:
        """The team this principal is limited to, or None when it reads everything."""
        return self.team if self.role == "team" else None

    def to_dict(self) -> dict[str, object]:
        """JSON form (``GET /api/v1/whoami``)."""
        return {
            "key_id": self.key_id,
            "name": self.name,
            "role": self.role,
            "team": self.team,
            "local_mode": self.local,
        }


#: The principal of keyless local mode (loopback, no keys configured): the machine's own user.
LOCAL_PRINCIPAL = Principal(key_id=None, name="local", role="admin", local=True)


def check_role(role: str, team: str | None) -> tuple[str, str | None]:
    """Validate a role and its team: ``team`` keys need a team, the others take none."""
    if role not in ROLES:
        raise InputError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    if role == "team":
        if not team or not _TEAM.match(team):
            raise InputError("a team key needs --team NAME (1-200 printable characters)")
        return role, team
    if team:
        raise InputError(f"a {role} key reads every team; --team applies only to role team")
    return role, None


def hash_secret(secret: str) -> str:
    """The stored form of a key's secret."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def secret_matches(secret: str, stored_hash: str) -> bool:
    """Constant-time comparison of a presented secret with a stored hash."""
    return hmac.compare_digest(hash_secret(secret), stored_hash)


def new_key() -> tuple[str, str, str]:
    """A fresh key: ``(key_id, full_key, secret_hash)``. Show ``full_key`` once; store only the hash."""
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return key_id, f"{KEY_PREFIX}_{key_id}_{secret}", hash_secret(secret)


def parse_key(token: str) -> tuple[str, str]:
    """``(key_id, secret)`` of a presented key; a malformed key is Unauthorized (never echoed back)."""
    match = _KEY.match(token.strip())
    if match is None:
        raise Unauthorized(f"malformed API key: aifinops keys look like {KEY_PREFIX}_<id>_<secret>")
    return match.group(1), match.group(2)
