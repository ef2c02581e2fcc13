"""Small containers shared by requests and responses.

``MultiDict`` keeps every value of a repeated query or form field (as
aiohttp's ``request.GET`` did); ``Headers`` is a case-insensitive mapping.
Both are plain Python, built lazily by the request, and cheap to copy.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, MutableMapping


class MultiDict(Mapping[str, str]):
    """An immutable mapping whose keys may repeat; ``d[key]`` is the first value."""

    __slots__ = ("_first", "_items")

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: tuple[tuple[str, str], ...] = tuple(items)
        first: dict[str, str] = {}
        for key, value in self._items:
            first.setdefault(key, value)
        self._first = first

    def __getitem__(self, key: str) -> str:
        return self._first[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._first)

    def __len__(self) -> int:
        return len(self._first)

    def __contains__(self, key: object) -> bool:
        return key in self._first

    def __repr__(self) -> str:
        return f"MultiDict({list(self._items)!r})"

    def getone(self, key: str) -> str:
        """The first value of ``key`` (``KeyError`` when absent)."""
        return self._first[key]

    def getall(self, key: str) -> list[str]:
        """Every value of ``key`` in order (empty when absent)."""
        return [value for name, value in self._items if name == key]

    def multi_items(self) -> list[tuple[str, str]]:
        """All (key, value) pairs, repeats included, in order."""
        return list(self._items)

    def without(self, names: frozenset[str]) -> MultiDict:
        """A copy without the given keys."""
        return MultiDict(item for item in self._items if item[0] not in names)


class Headers(MutableMapping[str, str]):
    """A case-insensitive header mapping that remembers the spelling it was given.

    One value per name: the shim's services never need repeated headers.
    """

    __slots__ = ("_store",)

    def __init__(self, items: Mapping[str, str] | Iterable[tuple[str, str]] | None = None) -> None:
        self._store: dict[str, tuple[str, str]] = {}
        if items is not None:
            pairs = items.items() if isinstance(items, Mapping) else items
            for name, value in pairs:
                self._store[name.lower()] = (name, value)

    def __getitem__(self, name: str) -> str:
        return self._store[name.lower()][1]

    def __setitem__(self, name: str, value: str) -> None:
        self._store[name.lower()] = (name, value)

    def __delitem__(self, name: str) -> None:
        del self._store[name.lower()]

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._store.values())

    def __len__(self) -> int:
        return len(self._store)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._store

    def __repr__(self) -> str:
        return f"Headers({dict(self._store.values())!r})"

    def to_list(self) -> list[tuple[str, str]]:
        """(name, value) pairs as given, ready for ``start_response``."""
        return list(self._store.values())
