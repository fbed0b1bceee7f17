"""Provision, start and stop a local Neo4j Community 5.26 server without Docker.

Layout under ``Settings.home`` (default ``~/.local/share/lineage-graph``)::

    neo4j/<version>/lib-<pom>/     the server jars (and Neo4j Browser), resolved once by Maven
                                   (shared cache; <pom>: digest of the resolved pom, so a
                                   change of dependencies resolves a new set and never
                                   deletes jars a running server uses)
    instances/<name>/conf/neo4j.conf
    instances/<name>/data/ logs/   the database and Neo4j's own logs
    instances/<name>/neo4j.pid     pid of the running server
    instances/<name>/console.log   the JVM's stdout/stderr
    instances/<name>/password      the generated password, mode 0600

The password is generated once, written only to that file and set with Neo4j's own admin tool
before the first start, so the server never runs with the default credentials. The admin tool
reads it from a Java argument file of mode 0600 (removed right after), never from the command
line, which every local user can read in ``ps``. The instance directory and everything Neo4j
writes under it are private to the user (mode 0700, umask 077). ``down`` signals the recorded pid
only when that process is still this instance's Neo4j (a pid is reused after a reboot).
"""

from __future__ import annotations

import os
import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path

from lineage_graph.errors import ManagedNeo4jError
from lineage_graph.local_server import (
    PRIVATE_UMASK,
    ServerProcess,
    jar_dir,
    last_error_line,
    packaged_pom,
    port_open,
    require_java,
    resolve_jars,
)
from lineage_graph.private_files import write_private
from lineage_graph.settings import Settings

ENTRY_POINT = "org.neo4j.server.CommunityEntryPoint"
ADMIN_TOOL = "org.neo4j.cli.AdminTool"
FALLBACK = "set NEO4J_URI to an existing Neo4j"
START_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class ServerStatus:
    running: bool
    pid: int | None
    uri: str
    instance_dir: Path
    log: Path
    browser_url: str  # Neo4j Browser on the loopback HTTP connector


class ManagedNeo4j:
    """One managed Neo4j instance, described by a :class:`Settings`."""

    def __init__(self, settings: Settings) -> None:
        if not settings.managed:
            raise ManagedNeo4jError(
                "NEO4J_URI is set: lineage-graph uses that Neo4j and manages none; "
                "unset NEO4J_URI to use the managed local server"
            )
        self.settings = settings
        self.pom_text = packaged_pom("lineage_graph.neo4j_server", "NEO4J_VERSION",
                                     settings.neo4j_version)
        self.lib_dir = jar_dir(settings.home / "neo4j" / settings.neo4j_version, self.pom_text)
        self.dir = settings.instance_dir
        self.conf_dir = self.dir / "conf"
        self.pid_file = self.dir / "neo4j.pid"
        self.console_log = self.dir / "console.log"
        self.password_file = self.dir / "password"
        self.process = ServerProcess("Neo4j", self.pid_file, self.console_log, ENTRY_POINT,
                                     f"--home-dir={self.dir}", ManagedNeo4jError)

    # -- public operations -------------------------------------------------------------------

    def up(self, progress: bool = True) -> ServerStatus:
        """Make sure the server runs and answers Bolt; idempotent."""
        self.process.ensure_running(self.settings.bolt_port, "Bolt", START_TIMEOUT_S,
                                    lambda: self._start_new(progress))
        return self.status()

    def _start_new(self, progress: bool) -> None:
        # Before anything is checked, downloaded or written: Neo4j itself would exit at start-up
        # with nothing in its console saying which port it could not bind.
        for port, variable, hint in (
                (self.settings.bolt_port, "LINEAGE_GRAPH_NEO4J_BOLT_PORT",
                 " or NEO4J_URI to that server"),
                (self.settings.http_port, "LINEAGE_GRAPH_NEO4J_HTTP_PORT", "")):
            if port_open(port):
                raise ManagedNeo4jError(f"port {port} is taken by another process; set "
                                        f"{variable} to a free port{hint}")
        java = require_java("Neo4j 5.26", ManagedNeo4jError, FALLBACK)
        self.ensure_jars(progress=progress)
        self._write_conf()
        password_is_new = self._ensure_password_file()
        if password_is_new or not (self.dir / "data" / "dbms" / "auth.ini").exists():
            self._set_initial_password(java)
        self._start(java)

    def down(self) -> bool:
        """Stop the server cleanly (SIGTERM, then SIGKILL after a timeout). True if it ran."""
        return self.process.stop(STOP_TIMEOUT_S)

    def status(self) -> ServerStatus:
        pid = self.process.running_pid()
        return ServerStatus(
            running=pid is not None,
            pid=pid,
            uri=self.settings.bolt_uri,
            instance_dir=self.dir,
            log=self.console_log,
            browser_url=f"http://127.0.0.1:{self.settings.http_port}/browser/",
        )

    def password(self) -> str:
        try:
            return self.password_file.read_text(encoding="utf-8").strip()
        except FileNotFoundError as exc:
            raise ManagedNeo4jError(
                "the managed Neo4j has no password yet: run `lineage-graph neo4j up` first"
            ) from exc

    def ensure_jars(self, progress: bool = True) -> Path:
        """Resolve the server jars from Maven Central into the shared cache, once."""
        return resolve_jars(self.pom_text, self.lib_dir, f"Neo4j {self.settings.neo4j_version}",
                            ManagedNeo4jError, FALLBACK, progress)

    # -- internals ---------------------------------------------------------------------------

    def _make_private_dirs(self) -> None:
        for directory in (self.dir, self.conf_dir, self.dir / "logs", self.dir / "data"):
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        # An instance made by an older version has the umask's modes: take group and other
        # access away from everything under it (a few dozen store files; runs before a start).
        for root, dirs, files in os.walk(self.dir):
            for name in (*dirs, *files):
                path = Path(root) / name
                if not path.is_symlink():
                    path.chmod(path.stat().st_mode & 0o700)
        self.dir.chmod(0o700)

    def _write_conf(self) -> None:
        s = self.settings
        self._make_private_dirs()
        lines = [
            "# Written by lineage-graph; edits are overwritten at the next `neo4j up`.",
            "server.default_listen_address=127.0.0.1",
            "server.default_advertised_address=127.0.0.1",
            f"server.bolt.listen_address=127.0.0.1:{s.bolt_port}",
            f"server.http.listen_address=127.0.0.1:{s.http_port}",
            "server.http.enabled=true",
            "server.https.enabled=false",
            f"server.directories.data={self.dir / 'data'}",
            f"server.directories.logs={self.dir / 'logs'}",
            f"server.directories.run={self.dir}",
            f"server.memory.heap.initial_size={s.heap_size}",
            f"server.memory.heap.max_size={s.heap_size}",
            f"server.memory.pagecache.size={s.pagecache_size}",
            # Bounded transaction logs: the retention beyond what recovery needs, pruned at
            # each checkpoint. Community checkpoints by time and transaction count only (the
            # volume policy is Enterprise's): every 2 minutes or 10,000 transactions.
            f"db.tx_log.rotation.retention_policy={s.tx_log_retention}",
            "db.tx_log.rotation.size=64M",
            "db.checkpoint.interval.time=2m",
            "db.checkpoint.interval.tx=10000",
            "dbms.security.auth_enabled=true",
            # A runaway query must not hang the API forever.
            "db.transaction.timeout=120s",
            "dbms.usage_report.enabled=false",
        ]
        write_private(self.conf_dir / "neo4j.conf", "\n".join(lines) + "\n")

    def _ensure_password_file(self) -> bool:
        if self.password_file.exists():
            return False
        self._make_private_dirs()
        fd = os.open(self.password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(secrets.token_urlsafe(24))
        return True

    def _java_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["NEO4J_HOME"] = str(self.dir)
        env["NEO4J_CONF"] = str(self.conf_dir)
        return env

    def admin_command(self, java: str, argfile: Path) -> list[str]:
        """The admin tool's command line: the password is in ``argfile``, not here."""
        return [java, "-cp", f"{self.lib_dir}/*", f"@{argfile}"]

    def _set_initial_password(self, java: str) -> None:
        argfile = self.dir / "set-password.args"
        fd = os.open(argfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                # token_urlsafe has no quotes, spaces or backslashes: no escaping needed.
                fh.write(f"{ADMIN_TOOL} dbms set-initial-password {self.password()}\n")
            proc = subprocess.run(
                self.admin_command(java, argfile), capture_output=True, text=True,
                env=self._java_env(), check=False, umask=PRIVATE_UMASK,
            )
        finally:
            argfile.unlink(missing_ok=True)
        if proc.returncode != 0:
            raise ManagedNeo4jError(
                f"setting the managed Neo4j's password failed: "
                f"{last_error_line(proc.stdout + proc.stderr)}"
            )

    def _start(self, java: str) -> None:
        s = self.settings
        cmd = [
            java, f"-Xms{s.heap_size}", f"-Xmx{s.heap_size}", "-XX:+UseG1GC",
            "-Dfile.encoding=UTF-8", "-cp", f"{self.lib_dir}/*", ENTRY_POINT,
            f"--home-dir={self.dir}", f"--config-dir={self.conf_dir}",
        ]
        self.process.launch(cmd, s.bolt_port, "Bolt", START_TIMEOUT_S, env=self._java_env())

