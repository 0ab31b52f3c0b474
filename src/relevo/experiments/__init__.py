"""Experiments: A/B tests and interleaving tests of rankers, their exposures, outcomes and statistics."""
