"""Vigil: open, offline investigation platform."""

__version__ = "0.1.0"
