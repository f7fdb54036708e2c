"""The ``memosys`` command-line interface (click); ``main`` is the console script."""

from memosys.cli.app import cli, main

__all__ = ["cli", "main"]
