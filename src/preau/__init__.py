"""Préau: a digital school workspace (ENT) built to hold a national closure morning."""

__version__ = "0.1.0"
