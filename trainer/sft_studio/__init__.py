"""SFT Studio trainer: the training subprocess behind the SFT Studio VS Code extension."""

__version__ = "0.1.0"
