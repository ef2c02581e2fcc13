"""Provisioning a target's schema and merchants in PostgreSQL.

Each target gets its own schema on the shared server. ``provision_target``
(re)creates it from ``payments/migrations/*.sql`` and inserts the merchants;
``reset_target`` empties every table but ``merchants`` so each trial starts
from the same state.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass
from importlib import resources

import psycopg
from psycopg import sql as pgsql

from payments import sql
from payments.auth import hash_api_key

_SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


@dataclass(frozen=True, slots=True)
class MerchantSeed:
    id: str
    name: str
    api_key: str
    juspay_merchant_id: str
    juspay_api_key: str
    paytm_mid: str
    paytm_merchant_key: str  # 16 characters: an AES-128 key for Paytm checksums
    webhook_username: str
    webhook_password: str

    def __repr__(self) -> str:
        return f"MerchantSeed(id={self.id!r})"


def demo_merchants(n: int, seed: int, namespace: str = "") -> list[MerchantSeed]:
    """``n`` deterministic merchants; ``namespace`` makes gateway ids unique per target."""
    rng = random.Random(f"{seed}:{namespace}")

    def token(k: int) -> str:
        return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(k))

    suffix = f"_{namespace}" if namespace else ""
    out = []
    for i in range(1, n + 1):
        out.append(
            MerchantSeed(
                id=f"merchant_{i}",
                name=f"Demo merchant {i}",
                api_key=f"key_test_{token(24)}",
                juspay_merchant_id=f"jm{i}{suffix}",
                juspay_api_key=f"jk_{token(20)}",
                paytm_mid=f"PTM{i}{suffix}".upper(),
                paytm_merchant_key=token(16),
                webhook_username=f"hook_{i}",
                webhook_password=token(20),
            )
        )
    return out


def _check_schema(schema: str) -> None:
    if not _SCHEMA_RE.match(schema):
        raise ValueError(f"schema must be a lower-case identifier, got {schema!r}")


def migration_sql() -> list[tuple[str, str]]:
    """The migrations in order, as (file name, SQL text)."""
    folder = resources.files("payments") / "migrations"
    files = sorted(
        (p for p in folder.iterdir() if p.name.endswith(".sql")), key=lambda p: p.name
    )
    return [(p.name, p.read_text()) for p in files]


def provision_target(dsn: str, schema: str, merchants: list[MerchantSeed]) -> None:
    """Drop and recreate ``schema``, apply the migrations, insert ``merchants``."""
    _check_schema(schema)
    ident = pgsql.Identifier(schema)
    with psycopg.connect(dsn, autocommit=False) as conn:
        conn.execute(pgsql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(ident))
        conn.execute(pgsql.SQL("CREATE SCHEMA {}").format(ident))
        conn.execute(pgsql.SQL("SET LOCAL search_path TO {}").format(ident))
        for _name, text in migration_sql():
            conn.execute(text.encode())
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO merchants (id, name, api_key_hash, juspay_merchant_id,"
                " juspay_api_key, paytm_mid, paytm_merchant_key, webhook_username,"
                " webhook_password) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    (
                        m.id,
                        m.name,
                        hash_api_key(m.api_key),
                        m.juspay_merchant_id,
                        m.juspay_api_key,
                        m.paytm_mid,
                        m.paytm_merchant_key,
                        m.webhook_username,
                        m.webhook_password,
                    )
                    for m in merchants
                ],
            )
        conn.commit()


def reset_target(dsn: str, schema: str) -> None:
    """Empty every table of ``schema`` except ``merchants``."""
    _check_schema(schema)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(pgsql.SQL("SET search_path TO {}").format(pgsql.Identifier(schema)))
        conn.execute(sql.TRUNCATE_ALL.encode())


def drop_target(dsn: str, schema: str) -> None:
    """Remove ``schema`` and everything in it."""
    _check_schema(schema)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            pgsql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(pgsql.Identifier(schema))
        )


def schema_fingerprint() -> str:
    """A digest of the migrations, recorded in environment.json."""
    digest = hashlib.sha256()
    for name, text in migration_sql():
        digest.update(name.encode())
        digest.update(text.encode())
    return digest.hexdigest()[:16]
