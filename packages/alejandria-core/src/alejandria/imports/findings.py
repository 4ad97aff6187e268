"""What reading an import's input found wrong, kept as data for the validation report and
said once each as a ``Notice`` for the sync's own output."""

from __future__ import annotations

from dataclasses import dataclass, field

from alejandria.models import Notice

#: A creator as the report groups posts: (the source it is stored as, its external id).
CreatorKey = tuple[str, str]


@dataclass(frozen=True)
class MissingFile:
    """A media file the input references that is not on disk."""

    creator: CreatorKey
    post: str
    path: str


@dataclass
class Findings:
    """Everything a reader noticed, in the order found. One ``Findings`` lives as long as its
    source (one import), so an unknown key is reported once for the whole input."""

    #: path → why it could not be read (corrupt, truncated, not JSON).
    corrupt: dict[str, str] = field(default_factory=dict)
    #: "where.key" (``post.likes``, ``media.thumb``) → the first file it was seen in.
    unknown_keys: dict[str, str] = field(default_factory=dict)
    missing: list[MissingFile] = field(default_factory=list)
    #: (what, why): records left out (a post without an id) or read partly.
    skipped: list[tuple[str, str]] = field(default_factory=list)
    #: The creators whose posts are in a file that could not be read, when it is known whose
    #: (a legacy ``<creator>_posts_detailed.json``): creator → those files.
    unreadable_of: dict[CreatorKey, list[str]] = field(default_factory=dict)

    def unknown(self, where: str, keys: set[str], path: str) -> Notice | None:
        """Record keys no mapping knows; a notice naming those not seen before, else None."""
        new = sorted(f"{where}.{key}" for key in keys if f"{where}.{key}" not in
                     self.unknown_keys)
        if not new:
            return None
        for name in new:
            self.unknown_keys[name] = path
        return Notice(message=f"unknown field(s) {', '.join(new)} (first in {path}): kept in "
                              "the metadata of what holds them, not imported as anything "
                              "else")

    def skip(self, subject: str, reason: str) -> Notice:
        self.skipped.append((subject, reason))
        return Notice(message=f"{subject}: {reason}")

    def missing_file(self, creator: CreatorKey, post: str, path: str) -> Notice:
        self.missing.append(MissingFile(creator, post, path))
        return Notice(message=f"{post}: media file not on disk: {path} (imported without it; "
                              "import again once it is there)")
