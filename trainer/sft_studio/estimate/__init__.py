"""Estimates without training: the replay of a step's peak memory (peak.py, split by phase), the dry run
(`train --dry-run`) and the memory report (`estimate CONFIG`).

Imports data/, model/, train/ and config.py."""
