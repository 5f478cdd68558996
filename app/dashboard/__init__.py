"""The home page: what needs attention, with real counts."""
