"""Importers: archives made by other tools, read from local files into the archive.

Each importer is a built-in source (``legacy``: the old system's JSON files, ``gallery-dl``: a
gallery-dl download tree with its metadata sidecars), so an import runs the same pipeline as
``alejandria sync`` (dedup, media processing, cursors, reports). A Patreon post found in
either format is stored as the ``patreon`` source stores it (``SyncTarget.stored_as``), under
its Patreon post id, so that a later ``alejandria sync patreon`` updates it instead of adding
a copy.

Modules: ``values`` (loosely typed values: dates, HTML, ids), ``jsonfiles`` (reading JSON
whole or naming why not), ``findings`` (what reading found wrong), ``legacy`` (the old
format and its field-name variants), ``gallery_dl`` (download trees), ``sources`` (the two
sources), ``report`` (input against archive) and ``service`` (an import from start to end).
"""
