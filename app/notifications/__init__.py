"""Mail to people: an outbox table written in the request's transaction, sent after commit."""
