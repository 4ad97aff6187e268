"""Accounts: users and roles, passwords, login throttling, TOTP 2FA, API tokens, the audit log.

The rules live here, in the service layer, so the Python API, the CLI and the web app enforce
the same ones: every call that changes or reveals account data takes the acting user
(``alejandria.models.Actor``; ``None`` is the installation itself: the CLI, a script).
``build_accounts`` wires the services over an open archive's database.
"""
