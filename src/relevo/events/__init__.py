"""Events: the behaviour records (views, clicks, carts, purchases, ratings, custom)."""
