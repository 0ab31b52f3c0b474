"""Web origins (scheme, host and port, as a browser's Origin header names a page's): one check
for the settings (RELEVO_CORS_ORIGINS) and for the origins a publishable key is used from."""

from urllib.parse import urlsplit


def origin_or_error(text: str) -> str:
    """`text` as a browser writes an origin (`https://shop.example`, `http://127.0.0.1:8080`,
    lower case, no trailing slash); ValueError saying what is wrong otherwise."""
    origin = text.strip().rstrip("/").lower()
    try:
        parts = urlsplit(origin)
        parts.port  # noqa: B018 (raises on a port that is not a number)
    except ValueError:
        raise ValueError(f"{text!r} is not an origin: write it as https://shop.example") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{text!r} is not an origin: write it as https://shop.example (http or https, a host)")
    if parts.path or parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"{text!r} is not an origin: only scheme, host and port, e.g. https://shop.example:8443")
    return origin
