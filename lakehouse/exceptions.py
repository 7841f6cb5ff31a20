"""Errors of the shared core.

LakehouseError
├── InvalidNameError     a table, layer or file name that is not allowed
├── ConfigurationError   settings that cannot work (or are unsafe outside development mode)
└── contracts.ContractsUnreadable   a dbt YAML file that may declare contracts does not parse
"""


class LakehouseError(Exception):
    """Base of every error the lakehouse raises on purpose."""


class InvalidNameError(LakehouseError, ValueError):
    pass


class ConfigurationError(LakehouseError):
    pass
