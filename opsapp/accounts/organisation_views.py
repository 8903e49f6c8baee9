"""Organisation pages (profile, size class, members, documents)."""
