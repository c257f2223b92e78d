"""The version of metakb: one place, read by the package and its artifacts."""

__version__ = "0.1.0"
