"""The kinds of dataset a CSV file can be, apart from the ORM models so that the command line
can name them without loading the database layer."""

from enum import StrEnum


class DatasetType(StrEnum):
    interactions = "interactions"
    items = "items"
    users = "users"
