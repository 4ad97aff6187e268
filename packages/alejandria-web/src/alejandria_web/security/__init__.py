"""Who may call what: route access, sessions, tokens, CSRF and security headers."""
