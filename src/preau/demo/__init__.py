"""Seeding, not user actions: the demo school that ``preau demo`` creates (``school``) and the
académie-sized load-test data of ``preau demo --size`` (``academie``)."""
