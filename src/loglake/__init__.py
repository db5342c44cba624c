"""loglake: a security data lake for AWS logs."""

__version__ = "0.1.0"
