"""Inference: what a predictor model answers for customers as of a date."""
