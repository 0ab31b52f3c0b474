"""Customer models: features built from a purchase history as of a date, and the built-in
model of a customer's spend over the coming days."""
