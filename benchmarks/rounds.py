"""Configurations measured in alternating rounds, so that a noisy machine weighs on each alike,
and the median of each figure over a configuration's rounds."""

import statistics
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


def alternate(
    choices: Sequence[T], rounds: int, measure: Callable[[T], dict[str, float]]
) -> dict[T, list[dict[str, float]]]:
    """`measure` of every choice, round after round, each printed as it comes."""
    results: dict[T, list[dict[str, float]]] = {choice: [] for choice in choices}
    for n in range(rounds):
        for choice in choices:
            results[choice].append(measure(choice))
            print(f"round {n + 1}/{rounds} {choice}: {results[choice][-1]}")
    return results


def medians(rounds: list[dict[str, float]]) -> dict[str, float]:
    return {figure: statistics.median(r[figure] for r in rounds) for figure in rounds[0]}
