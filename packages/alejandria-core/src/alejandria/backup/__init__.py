"""Backups of an archive, their verification and restore, and the plain export.

A backup location holds every snapshot and one pool of blobs shared by all of them::

    <location>/blobs/ab/cd/<sha256>          media and derived files, by content, never changed
    <location>/snapshots/<name>/database.dump  pg_dump, custom format
    <location>/snapshots/<name>/manifest.json  what the snapshot needs (written last)
    <location>/tmp/                          files being copied

Media are content-addressed and never change, so a backup copies only the blobs the location
lacks (``blobs``) and a snapshot is a dump plus a manifest naming its blobs (``manifest``).
Retention (``retention``) drops snapshots and then the blobs no kept manifest names.
``create`` makes a snapshot, ``verify`` proves one restores, ``restore`` puts one back into an
archive, ``export`` writes a plain folder for people leaving. ``pgtools`` runs the
``pg_dump``/``pg_restore`` of the server's own major version.
"""

from __future__ import annotations

from alejandria.errors import AlejandriaError


class BackupError(AlejandriaError):
    """A backup, verification or restore that cannot go on; the message says what to do."""


__all__ = ["BackupError"]
