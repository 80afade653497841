"""Importing a OneRoster CSV roster into the directory; the entry point is
:func:`preau.actions.roster.importer.import_roster`.

``source`` (reading the upload), ``stored`` (what the database holds), ``run`` (one import's
shared state, refusals and per-file transaction), ``writes`` (batched statements), one module per
file applied (``schools``, ``school_years``, ``groups``, ``people`` with ``usernames`` and
``parent_links``, ``enrolments``), and ``importer`` (the order of it all and the stored report).
Import each name from the module that owns it.
"""
