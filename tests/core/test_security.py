"""Password hashing, JWT access tokens and API-key digests."""

import hashlib

import jwt
import pytest

from relevo.core import security
from relevo.core.errors import Unauthenticated

SECRET = "test-secret-" + "k" * 53  # long enough for HS512 too


def make_token(*, minutes: int = 5, secret_key: str = SECRET) -> str:
    return security.create_access_token(account_id=42, username="alice", secret_key=secret_key, minutes=minutes)


# Passwords


def test_a_password_hash_verifies_the_password_only() -> None:
    password_hash = security.hash_password("correct-horse")

    assert password_hash.startswith("$argon2id$")
    assert "correct-horse" not in password_hash
    assert security.verify_password("correct-horse", password_hash)
    assert not security.verify_password("correct-horsf", password_hash)
    assert not security.verify_password("", password_hash)


def test_password_hashes_are_salted() -> None:
    assert security.hash_password("same-password") != security.hash_password("same-password")


@pytest.mark.parametrize("stored", ["", "plaintext", "$argon2id$broken"])
def test_a_corrupt_stored_hash_never_verifies(stored: str) -> None:
    assert security.verify_password("plaintext", stored) is False


# Access tokens


def test_an_access_token_round_trips_to_its_account_id() -> None:
    assert security.decode_access_token(make_token(), secret_key=SECRET).account_id == 42


def test_an_access_token_carries_the_standard_claims() -> None:
    claims = jwt.decode(make_token(minutes=30), SECRET, algorithms=["HS256"])

    assert claims["sub"] == "42"
    assert claims["name"] == "alice"
    assert claims["exp"] - claims["iat"] == 30 * 60


def test_an_expired_token_is_refused_as_expired() -> None:
    with pytest.raises(Unauthenticated) as refused:
        security.decode_access_token(make_token(minutes=-1), secret_key=SECRET)

    assert refused.value.error == "Token expired"
    assert refused.value.status_code == 401


@pytest.mark.parametrize(
    "token",
    [
        make_token(secret_key="some-other-secret-key-of-good-length"),
        "not.a.jwt",
        "",
        jwt.encode({"sub": "42"}, SECRET, algorithm="HS256"),
        jwt.encode({"sub": "alice", "exp": 4_102_444_800}, SECRET, algorithm="HS256"),
        jwt.encode({"sub": "42", "exp": 4_102_444_800}, SECRET, algorithm="HS512"),
    ],
    ids=["other secret", "garbage", "empty", "no expiry", "non-numeric subject", "other algorithm"],
)
def test_an_invalid_token_is_refused(token: str) -> None:
    with pytest.raises(Unauthenticated) as refused:
        security.decode_access_token(token, secret_key=SECRET)

    assert refused.value.error == "Invalid token"


# API keys


def test_a_new_api_key_is_prefixed_random_and_digested() -> None:
    key = security.generate_api_key()

    assert key.secret.startswith("rlv_")
    assert len(key.secret) >= 40
    assert key.prefix == key.secret[:12]
    assert key.digest == hashlib.sha256(key.secret.encode()).hexdigest()
    assert key.secret not in key.digest


def test_api_keys_are_unique() -> None:
    keys = {security.generate_api_key().secret for _ in range(50)}

    assert len(keys) == 50


def test_the_digest_is_stable_and_distinguishes_keys() -> None:
    key = security.generate_api_key()

    assert security.digest_api_key(key.secret) == key.digest
    assert security.digest_api_key(key.secret + "x") != key.digest


def test_api_keys_are_told_apart_from_jwts() -> None:
    assert security.is_api_key(security.generate_api_key().secret)
    assert not security.is_api_key(make_token())


def test_shared_secrets_are_compared_exactly() -> None:
    assert security.secrets_match("s3cret", "s3cret")
    assert not security.secrets_match("s3cret", "s3cre")
    assert not security.secrets_match("", "s3cret")


def test_publishable_keys_are_told_apart_from_secret_keys() -> None:
    key = security.generate_api_key(publishable=True)

    assert key.secret.startswith("pk_rlv_")
    assert not key.secret.startswith("rlv_")
    assert security.is_api_key(key.secret)
