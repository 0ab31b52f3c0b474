"""Users: the shoppers who receive recommendations, known by the shop's own ids."""
