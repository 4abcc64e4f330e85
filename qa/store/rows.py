"""Vector rows split over segments, read as one array."""

from __future__ import annotations

import numpy as np


class RowView:
    """Rows of a vector file split over segments, read as if one array (global row numbers)."""

    def __init__(self, parts: list[np.ndarray], dim: int) -> None:
        self.parts = parts
        self.offsets = np.cumsum([0] + [len(p) for p in parts])
        self.shape = (int(self.offsets[-1]), dim)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, rows) -> np.ndarray:
        if isinstance(rows, slice) and rows.step in (None, 1):
            lo, hi, _ = rows.indices(len(self))
            p = int(np.searchsorted(self.offsets, lo, side="right") - 1)
            if hi <= self.offsets[p + 1]:  # within one segment (as one article's rows always are): a view, no copy
                return self.parts[p][lo - self.offsets[p]:hi - self.offsets[p]]
        rows = np.arange(len(self))[rows] if isinstance(rows, slice) else np.asarray(rows)
        if rows.dtype == bool:
            rows = np.flatnonzero(rows)
        out = np.empty((len(rows), self.shape[1]), np.float32)
        part = np.searchsorted(self.offsets, rows, side="right") - 1
        for p in np.unique(part):
            here = part == p
            out[here] = self.parts[p][rows[here] - self.offsets[p]]
        return out

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        return np.vstack([np.asarray(p) for p in self.parts]).astype(dtype or np.float32, copy=False)
