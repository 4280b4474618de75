"""The name cache's label comparison, vectorised: the same values as the plain loop it replaced (one numpy call per
shift, row offset and letter block, which cost 70 ms of CPU a frame on a JPEG'd 25-tile gallery)."""

from __future__ import annotations

import numpy as np
import pytest

from monitor.names import _HASH_HEIGHT, _label_difference, _max_block_difference

pytestmark = pytest.mark.unit


def _reference(a: np.ndarray, b: np.ndarray) -> float:
    def block(x: np.ndarray, y: np.ndarray) -> float:
        diff = np.abs(x - y).mean(axis=0)
        return float(max(chunk.mean() for chunk in np.array_split(diff, max(1, len(diff) // 8))))

    if a.shape[1] < b.shape[1]:
        a, b = b, a
    width, rows = b.shape[1], _HASH_HEIGHT - 2
    return min(block(a[1 + dy : 1 + dy + rows, s : s + width], b[1:-1])
               for s in range(a.shape[1] - width + 1) for dy in (-1, 0, 1))


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize(("width", "extra"), [(1, 0), (7, 1), (8, 0), (17, 2), (63, 1), (120, 0)])
def test_label_difference_equals_the_plain_loop(seed: int, width: int, extra: int) -> None:
    rng = np.random.default_rng(seed)
    a = rng.uniform(0, 255, (_HASH_HEIGHT, width + extra)).astype(np.float32)
    near = (a[:, :width] + rng.normal(0, 6, (_HASH_HEIGHT, width))).astype(np.float32)  # the same label, re-encoded
    other = rng.uniform(0, 255, (_HASH_HEIGHT, width)).astype(np.float32)
    for b in (near, other):
        assert _label_difference(a, b) == pytest.approx(_reference(a, b), rel=1e-5)
        assert _label_difference(b, a) == pytest.approx(_reference(b, a), rel=1e-5)
    assert _label_difference(a, a) == 0.0
    same = a[:, :width]
    assert _max_block_difference(same, near) == pytest.approx(
        max(c.mean() for c in np.array_split(np.abs(same - near).mean(axis=0), max(1, width // 8))), rel=1e-5)
