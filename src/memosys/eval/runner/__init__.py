"""Shared machinery of the harnesses: timing, memory, and the run loop."""
