"""Exposures: every answer served to a person (inside an experiment or not), written off the
request path, and the clicks, add-to-carts and purchases attributed to them."""
