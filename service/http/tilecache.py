"""Rendered vector tiles kept in memory: a layer version never changes, so neither does any of its tiles."""

from __future__ import annotations

from collections import OrderedDict

TileKey = tuple[str, int, int, int, int]
"""(layer, layer version, z, x, y)"""


class TileCache:
    """Least-recently-used tiles within a byte budget; a re-import gives new keys, old ones age out."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self.hits = 0
        self.misses = 0
        self._tiles: OrderedDict[TileKey, bytes] = OrderedDict()

    def get(self, key: TileKey) -> bytes | None:
        """Return a tile (b"" for an empty one) or None when it is not held."""
        data = self._tiles.get(key)
        if data is None:
            self.misses += 1
            return None
        self._tiles.move_to_end(key)
        self.hits += 1
        return data

    def put(self, key: TileKey, data: bytes) -> None:
        """Keep a tile, dropping the least recently used ones beyond the budget."""
        if len(data) > self.max_bytes:
            return
        old = self._tiles.pop(key, None)
        if old is not None:
            self.size -= len(old)
        self._tiles[key] = data
        self.size += len(data)
        while self.size > self.max_bytes:
            _, dropped = self._tiles.popitem(last=False)
            self.size -= len(dropped)

    def __len__(self) -> int:
        return len(self._tiles)
