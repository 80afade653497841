"""Implementations of the :class:`preau.ports.FileStore` port: local disk and S3."""
