"""User administration (admin)."""
