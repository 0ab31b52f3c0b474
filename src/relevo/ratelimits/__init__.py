"""Rate limits: which requests count against which limit, whose counter they count on, where
the counters live, and how a response tells the caller (docs/api.md, "Rate limits")."""
