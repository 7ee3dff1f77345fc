"""Who may add and remove articles: anyone on a loopback bind; elsewhere only with RAG_ADMIN_TOKEN."""

from __future__ import annotations

import hmac
import ipaddress
import os
from dataclasses import dataclass
from typing import Mapping

TOKEN_ENV = "RAG_ADMIN_TOKEN"
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or a name for them; 0.0.0.0 (every interface) is not."""
    host = host.strip().strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class WriteAccess:
    """The rule for writes (upload, delete). Reading and asking are always open."""

    loopback: bool  # the app listens only on this machine: whoever can reach it is its user
    token: str = ""  # RAG_ADMIN_TOKEN; empty: writes are refused on any other bind

    @property
    def possible(self) -> bool:
        """Can anyone write at all? When not, the page does not offer the upload control."""
        return self.loopback or bool(self.token)

    @property
    def needs_token(self) -> bool:
        return not self.loopback and bool(self.token)

    def check(self, authorization: str | None) -> tuple[int, str] | None:
        """None when an `Authorization` header value may write, else (HTTP status, message)."""
        if self.loopback:
            return None
        if not self.token:
            return 403, (
                f"adding and removing articles is turned off: the app is not bound to a loopback address and "
                f"{TOKEN_ENV} is not set"
            )
        scheme, _, credentials = (authorization or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not self.token_matches(credentials.strip()):
            return 401, f"send 'Authorization: Bearer <token>' with the token in {TOKEN_ENV}"
        return None

    def token_matches(self, candidate: str) -> bool:
        # compare_digest: the time taken does not tell how much of a guess was right
        return bool(self.token) and hmac.compare_digest(candidate.encode(), self.token.encode())


def write_access(host: str, environ: Mapping[str, str] | None = None) -> WriteAccess:
    environ = os.environ if environ is None else environ
    return WriteAccess(is_loopback(host), environ.get(TOKEN_ENV, "").strip())
