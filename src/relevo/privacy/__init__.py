"""Shopper privacy: erasing and exporting what Relevo holds about one shopper, audited."""
