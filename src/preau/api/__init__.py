"""The JSON API under ``/api/v1``: same actions and authorization as the pages."""
