"""Redis adapters: shared state for many processes and machines."""
