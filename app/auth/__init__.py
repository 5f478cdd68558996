"""Login, logout, lockout, session timeout, passwords and API tokens."""
