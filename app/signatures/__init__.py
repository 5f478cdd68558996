"""Electronic signatures (21 CFR Part 11 §11.50 style)."""
