"""Datasets: uploaded CSV files of interactions, items or users, validated and imported."""
