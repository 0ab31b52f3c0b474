"""Batch generation: recommendations for many users, computed by a job and stored."""
