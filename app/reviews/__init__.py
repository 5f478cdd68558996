"""Management review (管理评审, ISO 9001 9.3)."""
