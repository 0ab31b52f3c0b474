"""Online performance: requests counted per minute and route, and the figures a shop reads of
what its recommendations did (from exposures, attributed outcomes and request statistics)."""
