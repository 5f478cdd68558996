"""Controlled documents: types, numbering, revisions, review/approval, lifecycle."""
