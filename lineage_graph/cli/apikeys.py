"""`lineage-graph apikey`: create, list and revoke API keys."""

from __future__ import annotations

from typing import Annotated

import typer

from lineage_graph.cli.common import console, ensure_neo4j, load_settings, open_database, out
from lineage_graph.settings import Settings

apikey_app = typer.Typer(help="API keys (scopes ingest, read, admin).", no_args_is_help=True)


def _keys(settings: Settings):  # type: ignore[no-untyped-def]
    from lineage_graph.auth.keys import ApiKeyService

    ensure_neo4j(settings)
    return ApiKeyService(open_database(settings))


@apikey_app.command("create")
def apikey_create(
    name: Annotated[str, typer.Option(help="Who or what uses the key, e.g. airflow-prod.")],
    scope: Annotated[list[str], typer.Option(
        help="ingest (POST events, scenes, labels), read (queries), admin (everything); "
             "repeat for several.")],
) -> None:
    """Create a key and print it ONCE: only its hash is stored."""
    settings = load_settings()
    keys = _keys(settings)
    record, key = keys.create(name, scope)
    console.print(f"created key {record['keyId']} ({name}, scopes: {', '.join(record['scopes'])})"
                  "; it is shown once, store it now:", highlight=False)
    out.print(key, highlight=False)


@apikey_app.command("list")
def apikey_list() -> None:
    """Keys with their id, name, scopes, creation time and revocation (never the key)."""
    settings = load_settings()
    rows = _keys(settings).list()
    for row in rows:
        state = f"revoked {row['revokedAt']}" if row.get("revokedAt") else "active"
        out.print(f"{row['keyId']}  {row['name']}  {','.join(row['scopes'])}  "
                  f"created {row['createdAt']}  {state}", highlight=False)


@apikey_app.command("revoke")
def apikey_revoke(key_id: Annotated[str, typer.Argument(help="The key id (see list).")]) -> None:
    """Revoke a key: refused from then on (within a few seconds on running APIs)."""
    settings = load_settings()
    row = _keys(settings).revoke(key_id)
    out.print(f"revoked {row['keyId']} ({row['name']})", highlight=False)
