"""fieldlog: field inspection logger for a construction quality and safety supervision station."""

__version__ = "0.1.0"
