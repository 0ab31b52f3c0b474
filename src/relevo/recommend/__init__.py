"""Recommendations in real time: the deployed model and the catalog kept in every API server's
memory, the user's events since training read as each request needs them, and every answer
able to say why."""
