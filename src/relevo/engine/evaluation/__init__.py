"""Offline evaluation, kept apart from the algorithms: splits, metrics, and a model's score."""
