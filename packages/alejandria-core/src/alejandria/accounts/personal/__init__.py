"""Personal organisation, private to each user: lists, reading status, notes, highlights.

Privacy by construction: every statement on personal data names the acting user in its own
``WHERE`` (or joins through a row that does), so another user's list, note or highlight id
behaves exactly like a missing one (``NotFound``, same message). Reading one's own data needs
no permission beyond being a user; every change needs ``Permission.OWN_DATA`` (readonly users
see their data and cannot change it). ``archive.personal(user)`` builds ``Personal``.
"""
