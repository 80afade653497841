"""Implementations of the ports in :mod:`preau.ports`, chosen by :mod:`preau.bootstrap`."""
