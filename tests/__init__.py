"""Test suite: mirrors the package; database tests run on SQLite and PostgreSQL."""
