"""Seeding, not user actions: the demo school that ``preau demo`` creates (``school``), the
académie-sized load-test data of ``preau demo --size`` (``academie``) and the credentials it
re-issues on every run (``credentials``); the demo school's term of marks (``marks``)."""
