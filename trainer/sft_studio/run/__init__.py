"""The run folder's contract: events.jsonl and status.json, control.jsonl, the folder's name and lock, who a
process is, metric sinks and the fault-injection points.

Imports nothing of the package but errors.py: every other room writes or reads a run folder through it."""
