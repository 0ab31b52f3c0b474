"""What routers use: dependencies (session, settings, caller and its scopes) and the error shape."""
