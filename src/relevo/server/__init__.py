"""The server: the app factory that assembles every router, and the middleware around them."""
