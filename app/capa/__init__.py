"""Nonconformity and corrective action (CAPA), ISO 9001 10.2: docs/adr/0044."""
