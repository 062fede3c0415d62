"""Launchers: Slurm (the sbatch script, submission, job state) and hyperparameter sweeps (the `sweep:` block,
its trials).

Imports run/, train/ (the best-metric rules) and config.py."""
