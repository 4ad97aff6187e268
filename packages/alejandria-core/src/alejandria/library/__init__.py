"""The catalogue, read: posts, creators, collections, media and jobs for the web app's API.

``Library`` (``archive.library``) checks the acting user's role on every call and answers
with frozen dataclasses whose ``as_json()`` is ready for a JSON response; lists come in
keyset pages (``Page``) walked with an opaque cursor. One module per job: ``pages``
(pagination), ``posts``, ``creators`` (creators and collections), ``media``, ``jobs`` and
``service`` (the class); ``refs`` holds the small values they share.
"""
