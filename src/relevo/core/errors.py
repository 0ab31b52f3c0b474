"""Domain errors shared by every package; the API maps each to one status code and body."""


class RelevoError(Exception):
    """Base of every expected error. `error` is a short title, `details` says what and where."""

    status_code = 400
    error = "Bad request"

    def __init__(self, details: str, *, error: str | None = None) -> None:
        super().__init__(details)
        self.details = details
        if error is not None:
            self.error = error


class InvalidArgument(RelevoError):
    status_code = 400
    error = "Invalid parameter"


class Unauthenticated(RelevoError):
    status_code = 401
    error = "Not authenticated"


class PermissionDenied(RelevoError):
    status_code = 403
    error = "Permission denied"


class NotFound(RelevoError):
    status_code = 404
    error = "Not found"


class AlreadyExists(RelevoError):
    status_code = 409
    error = "Already exists"


class Conflict(RelevoError):
    status_code = 409
    error = "Conflict"


class TooLarge(RelevoError):
    """The request is well formed but asks for more than this server can do (a training that
    would not fit in memory): 422, with the estimate in the details."""

    status_code = 422
    error = "Too large"


class TooManyRequests(RelevoError):
    """The caller already has as much under way as it may (pending and running jobs): try again
    once some of it is done."""

    status_code = 429
    error = "Too many requests"


class NotReady(RelevoError):
    """Something the request needs does not exist yet (no model trained): try again later."""

    status_code = 503
    error = "Service unavailable"
