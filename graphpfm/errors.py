"""The errors graphpfm raises for expected failures: each names the input at fault and says
what to do. All derive from :class:`GraphpfmError` and from the built-in type a caller would
catch without knowing graphpfm (:class:`ValueError`, :class:`FileNotFoundError`)."""
from __future__ import annotations


class GraphpfmError(Exception):
    """Base class of graphpfm's expected failures (bad input, not a bug)."""


class DataError(GraphpfmError, ValueError):
    """A dataset, file of molecules or graph that cannot be used as given."""


class ConfigError(GraphpfmError, ValueError):
    """An option, or a combination of options, outside its valid range."""


class CheckpointError(GraphpfmError, ValueError):
    """A checkpoint that cannot be read, or does not fit the data or model it is used with."""


class ResumeError(ConfigError):
    """A run that cannot be resumed as asked: finished, or started with other options."""
