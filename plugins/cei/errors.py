"""Expected failures: the CLI prints their message as one line and exits non-zero."""


class CeiError(Exception):
    """A run could not do its job for a reason an operator can act on (no traceback)."""


class WarehouseError(CeiError):
    """The warehouse is unreachable, refuses the credentials, or cannot be started."""


class GateFailed(CeiError):
    """A critical quality expectation failed; publishing stops."""


class RunLocked(CeiError):
    """Another run holds the warehouse."""
