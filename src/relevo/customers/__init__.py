"""Customers as buyers: their purchase history, read for customer-level models."""
