"""Accounts: who calls the API, their roles, passwords, access tokens and API keys."""
