"""Customer complaints and service recovery (docs/adr/0046)."""
