"""The name and version every Vyked service and client carries."""

from __future__ import annotations


class ServiceIdentity:
    """``name`` (lower-cased), ``version`` (a string) and ``properties``, as Vyked exposed them."""

    def __init__(self, service_name: str, service_version: str | int) -> None:
        self._service_name = service_name.lower()
        self._service_version = str(service_version)

    @property
    def name(self) -> str:
        """The service name, lower-cased."""
        return self._service_name

    @property
    def version(self) -> str:
        """The service version, as a string."""
        return self._service_version

    @property
    def properties(self) -> tuple[str, str]:
        """``(name, version)``."""
        return self._service_name, self._service_version
