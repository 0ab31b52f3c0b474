"""The rate-limit fields of a response, as draft-ietf-httpapi-ratelimit-headers defines them:
sections 3 and 4 of draft-11 (https://datatracker.ietf.org/doc/draft-ietf-httpapi-ratelimit-headers/),
the Structured Fields form every draft since draft-08 uses. One item per limit the request
counted against, named by its class:

    RateLimit-Policy: "api";q=100;w=60
    RateLimit: "api";r=42;t=18

`q` is the quota and `w` its window in seconds; `r` what is left of it and `t` the seconds
within which no more than `r` requests will be allowed (with a sliding window, until the
window frees room for one more). A refused request also gets Retry-After, equal to `t`, never
earlier than the end of the effective window (draft-11, section 6).
"""

from collections.abc import Sequence

from relevo.ratelimits.limiter import Verdict


def header_fields(verdicts: Sequence[Verdict]) -> list[tuple[bytes, bytes]]:
    """The header fields (ASGI's raw pairs) telling the caller about its limits."""
    policies = ", ".join(f'"{v.policy.limit_class}";q={v.policy.rate.amount};w={v.policy.window}' for v in verdicts)
    states = ", ".join(f'"{v.policy.limit_class}";r={v.remaining};t={v.reset_seconds}' for v in verdicts)
    fields = [(b"ratelimit-policy", policies.encode()), (b"ratelimit", states.encode())]
    refused = [verdict.reset_seconds for verdict in verdicts if not verdict.allowed]
    if refused:
        fields.append((b"retry-after", str(max(1, *refused)).encode()))
    return fields
