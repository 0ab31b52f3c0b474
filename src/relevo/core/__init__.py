"""Shared foundations: settings, database, errors, security, logging."""
