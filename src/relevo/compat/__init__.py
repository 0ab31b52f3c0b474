"""The routes of the five source systems, with their exact shapes: thin adapters over the
domain services."""
