"""Catalog: stores and their products."""
