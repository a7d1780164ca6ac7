"""Rendered vector tiles kept in memory: a layer version never changes, so neither does any of its tiles.

Each server process (`landwindow serve --workers N`) has its own cache and reads the layer's version from the
database with every tile, so a re-import is seen by every worker at its next tile: the new version is a new key.
The tiles of the versions before it are dropped when the first tile of a newer one is kept.
"""

from __future__ import annotations

from collections import OrderedDict

TileKey = tuple[str, int, int, int, int]
"""(layer, layer version, z, x, y)"""


class TileCache:
    """Least-recently-used tiles within a byte budget; a re-import gives new keys and drops the old ones."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self.hits = 0
        self.misses = 0
        self._tiles: OrderedDict[TileKey, bytes] = OrderedDict()
        self._newest: dict[str, int] = {}

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
        """Keep a tile, dropping the layer's older versions and the least recently used tiles beyond the budget."""
        if len(data) > self.max_bytes:
            return
        name, version = key[0], key[1]
        if version > self._newest.get(name, version):
            for old_key in [k for k in self._tiles if k[0] == name and k[1] < version]:
                self.size -= len(self._tiles.pop(old_key))
        self._newest[name] = max(version, self._newest.get(name, version))
        old = self._tiles.pop(key, None)
        if old is not None:
            self.size -= len(old)
        self._tiles[key] = data
        self.size += len(data)
        while self.size > self.max_bytes:
            _, dropped = self._tiles.popitem(last=False)
            self.size -= len(dropped)

    def newest(self, name: str) -> int | None:
        """Return the newest version of a layer this cache has held a tile of, or None."""
        return self._newest.get(name)

    def versions(self, name: str) -> set[int]:
        """Return the versions of a layer that have tiles held."""
        return {k[1] for k in self._tiles if k[0] == name}

    def __len__(self) -> int:
        return len(self._tiles)
