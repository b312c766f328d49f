"""Command-line helpers shared by the benchmarks."""

from __future__ import annotations

import argparse


def count(text: str) -> int:
    """An ``argparse`` type: a whole number of at least 1 (dossiers, rounds, workers...)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is too small: give at least 1")
    return value
