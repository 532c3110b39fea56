"""digitize: handwritten numbers in scanned forms, read into a CSV."""

__version__ = "0.1.0"
