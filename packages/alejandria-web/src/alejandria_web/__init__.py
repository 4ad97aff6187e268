"""Alejandria's web app: ``create_app(archive=...)`` builds the Litestar application."""
