"""The project's exception types; the CLI's single error handler maps them to exit codes."""


class GuardError(Exception):
    """Base class: a problem with input or configuration, reported as one line."""


class InputError(GuardError):
    """Unreadable or malformed input (domain XML, facts, libvirt documents)."""


class ConfigError(GuardError):
    """Invalid configuration: unknown key, bad value, TOML syntax error."""
