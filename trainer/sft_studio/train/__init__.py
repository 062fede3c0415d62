"""Training: the recipe (setup, train, evaluate, save) and what it runs: micro-batching, the optimizer and
schedules, data parallelism, evaluation, generations, the best-checkpoint tracking and checkpoints.

Imports data/, model/, run/ and config.py."""
