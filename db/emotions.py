"""The seven FER2013 emotion classes, in the dataset's canonical index order.

This tuple is the product's single source of truth for label order: the database has one column per class, the
model's label map (``models/labels.json``) is written from it at training time and checked against it at load time.
"""

from typing import Final

EMOTIONS: Final[tuple[str, ...]] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
NEGATIVE: Final[frozenset[str]] = frozenset({"angry", "disgust", "fear", "sad"})
