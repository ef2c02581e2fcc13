"""``paybench export postman [--out FILE]``: the contract as a Postman collection."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def export_command(argv: Sequence[str]) -> int:
    """Dispatch ``paybench export WHAT ...``; returns the exit code."""
    from payments.postman import export_command as postman

    exporters = {"postman": postman}
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in exporters:
        print("usage: paybench export postman [--out FILE]", file=sys.stderr)
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    return int(exporters[argv[0]](list(argv[1:])))
