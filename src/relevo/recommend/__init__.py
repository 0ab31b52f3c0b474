"""Recommendations in real time: the deployed model, the catalog and each user's latest
events, kept in every API server's memory so that answering needs no database round trip."""
