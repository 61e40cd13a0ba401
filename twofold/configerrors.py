"""The error a wrong setting raises, in a module of its own so that the ``twofold``
command can catch it while importing the configuration fails with it."""


class ConfigurationError(RuntimeError):
    """A variable is set to something twofold cannot use."""
