"""Accord: the network platform for public-private cyber coordination."""

__version__ = "0.1.0"
