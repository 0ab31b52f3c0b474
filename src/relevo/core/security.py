"""Password hashing (argon2), JWT access tokens and API keys (random, stored as SHA-256)."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from relevo.core.errors import Unauthenticated

API_KEY_PREFIX = "rlv_"
PUBLISHABLE_KEY_PREFIX = "pk_rlv_"  # a key safe to put in a web page (accounts/publishable.py)
_JWT_ALGORITHM = "HS256"
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def create_access_token(*, account_id: int, username: str, secret_key: str, minutes: int) -> str:
    now = datetime.now(UTC)
    claims = {"sub": str(account_id), "name": username, "iat": now, "exp": now + timedelta(minutes=minutes)}
    return jwt.encode(claims, secret_key, algorithm=_JWT_ALGORITHM)


@dataclass(frozen=True)
class TokenClaims:
    account_id: int
    issued_at: datetime  # naive UTC, to the second


def decode_access_token(token: str, *, secret_key: str) -> TokenClaims:
    """What a valid token says; Unauthenticated if it is forged, malformed or expired."""
    try:
        options = {"require": ["sub", "exp", "iat"]}
        claims = jwt.decode(token, secret_key, algorithms=[_JWT_ALGORITHM], options=options)
        issued_at = datetime.fromtimestamp(claims["iat"], UTC).replace(tzinfo=None)
        return TokenClaims(account_id=int(claims["sub"]), issued_at=issued_at)
    except jwt.ExpiredSignatureError as exc:
        raise Unauthenticated("the access token has expired; log in again", error="Token expired") from exc
    except (jwt.PyJWTError, ValueError, TypeError, OverflowError) as exc:
        raise Unauthenticated("the access token is not valid", error="Invalid token") from exc


@dataclass(frozen=True)
class NewApiKey:
    secret: str  # shown to the caller once, never stored
    prefix: str
    digest: str


def generate_api_key(*, publishable: bool = False) -> NewApiKey:
    secret = (PUBLISHABLE_KEY_PREFIX if publishable else API_KEY_PREFIX) + secrets.token_urlsafe(32)
    return NewApiKey(secret=secret, prefix=secret[:12], digest=digest_api_key(secret))


def digest_api_key(secret: str) -> str:
    # API keys carry 256 random bits, so a fast hash is safe and keeps lookups cheap.
    return hashlib.sha256(secret.encode()).hexdigest()


def is_api_key(token: str) -> bool:
    return token.startswith((API_KEY_PREFIX, PUBLISHABLE_KEY_PREFIX))


def secrets_match(given: str, expected: str) -> bool:
    return secrets.compare_digest(given.encode(), expected.encode())
