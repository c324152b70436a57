"""The deterministic content of crash-test object `k{i}`."""
import random


def content(i):
    rng = random.Random(i)
    return rng.randbytes(rng.choice([0, 1, 1000, 4096, 70_000, 300_000]))
