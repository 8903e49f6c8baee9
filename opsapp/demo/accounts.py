"""Demo stage 1: S3 domains, organisations and the accounts of CONTRACTS.md."""

from __future__ import annotations


def load(rng, summary):
    return {}
