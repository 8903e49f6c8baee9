"""The monthly monitoring report job (being written)."""
