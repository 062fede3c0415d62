"""The model: loading it and its tokenizer (local or from the Hub), LoRA, mixed precision, FSDP sharding,
per-example attention, the loss functions and the FLOP count.

Imports data/ (templates, classification heads, IGNORE_INDEX) and config.py; never train/ or above."""
