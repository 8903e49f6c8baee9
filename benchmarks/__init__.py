"""Benchmarks (`make bench`): each prints medians and ratios measured in one run.

Machines here are shared and noisy, so no benchmark is a pass/fail unit test; each
prints its figures next to the goal from QUALITY.md and says whether the goal was met.
"""
