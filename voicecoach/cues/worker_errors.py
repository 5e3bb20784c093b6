"""What a speech backend raises inside the worker; the worker turns each into a reply kind."""


class EngineMissing(Exception):
    """The engine's package or system library is absent: reply ``missing``."""


class EngineTimeout(Exception):
    """A request ran past its timeout and was abandoned: reply ``timeout``."""
