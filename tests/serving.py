"""Run `lineage-graph serve` in its own process, as users do, for tests and benchmarks."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from lineage_graph.db.connection import resolve_password
from lineage_graph.settings import Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def served_api(settings: Settings, log: Path | None = None) -> Iterator[str]:
    """Start the API against `settings`' Neo4j, wait until /healthz answers 200, yield its URL,
    then stop it with SIGTERM (a clean shutdown)."""
    port = free_port()
    env = dict(os.environ)
    env.update(NEO4J_URI=settings.bolt_uri, NEO4J_USER=settings.neo4j_user,
               NEO4J_PASSWORD=resolve_password(settings), NEO4J_DATABASE=settings.neo4j_database)
    with open(log or os.devnull, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "lineage_graph", "serve", "--port", str(port)],
            env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the API did not start (see {log})")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=60)


@contextmanager
def api_process(settings: Settings, spool: Path, log: Path,
                **env_extra: str) -> Iterator[subprocess.Popen[bytes]]:
    """`lineage-graph serve` in its own process with its own spool; ready when /healthz answers
    at all (200, or 503 while Neo4j is down: it must start anyway). Its URL is ``proc.url``."""
    port = free_port()
    env = dict(os.environ, NEO4J_URI=settings.bolt_uri, NEO4J_USER=settings.neo4j_user,
               NEO4J_PASSWORD=resolve_password(settings), NEO4J_DATABASE=settings.neo4j_database,
               LINEAGE_GRAPH_SPOOL_DIR=str(spool), LINEAGE_GRAPH_NEO4J_RETRY_SECONDS="2",
               LINEAGE_GRAPH_PORT=str(port), **env_extra)
    with open(log, "a") as out:
        proc = subprocess.Popen([sys.executable, "-m", "lineage_graph", "serve"], env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    proc.url = f"http://127.0.0.1:{port}"  # type: ignore[attr-defined]
    deadline = time.monotonic() + 90
    while True:
        try:
            httpx.get(f"{proc.url}/healthz", timeout=10)  # type: ignore[attr-defined]
            break
        except httpx.TransportError as exc:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the API did not start: {log.read_text()}") from exc
            time.sleep(0.2)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=60)
