"""OneRoster CSV (1.2, and the common 1.1 layout) read into typed records, every refusal a
sentence a school administrator can act on, and the import report. Pure: no I/O, no clock.

``reasons`` (refusals as translatable sentences), ``records`` (files, modes, typed records),
``table`` (one CSV file and the value checks), ``parse`` (one parser per file, the manifest,
the whole upload), ``checks`` (across rows and files, references), ``rules`` (used when
applying), ``report`` (what the import did). Import each name from the module that owns it.
"""
