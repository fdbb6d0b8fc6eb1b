"""Errors a user can cause. The CLI turns them into one line on stderr and an exit code."""


class GanctlError(Exception):
    """A failure the user can act on: shown as one line, exit code 1."""

    exit_code = 1


class UsageError(GanctlError):
    """Bad options or arguments: exit code 2."""

    exit_code = 2

