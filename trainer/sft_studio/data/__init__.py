"""Data: dataset rows read from files or the Hub, turned into conversations (row formats, chat templates) and
encoded into examples (causal LM or sequence classification), split, weighted, stored compactly and packed.

Imports nothing of the package but errors.py: the config, the model and the training loop stand on it."""
