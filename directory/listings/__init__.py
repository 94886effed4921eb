"""Domain services for listings: they own transactions and keep the index in sync."""
