"""In-process adapters for the embedded, single-process mode and for fast tests."""
