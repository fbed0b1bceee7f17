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

import hashlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from lineage_graph.errors import ManagedNeo4jError
from lineage_graph.settings import Settings

ENTRY_POINT = "org.neo4j.server.CommunityEntryPoint"
ADMIN_TOOL = "org.neo4j.cli.AdminTool"
MIN_JAVA = 17
START_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 60.0
PRIVATE_UMASK = 0o077


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
        template = resources.files("lineage_graph.neo4j_server").joinpath("pom.xml").read_text()
        self.pom_text = template.replace("NEO4J_VERSION", settings.neo4j_version)
        digest = hashlib.sha256(self.pom_text.encode("utf-8")).hexdigest()[:12]
        self.lib_dir = settings.home / "neo4j" / settings.neo4j_version / f"lib-{digest}"
        self.dir = settings.instance_dir
        self.conf_dir = self.dir / "conf"
        self.pid_file = self.dir / "neo4j.pid"
        self.console_log = self.dir / "console.log"
        self.password_file = self.dir / "password"

    # -- public operations -------------------------------------------------------------------

    def up(self, progress: bool = True) -> ServerStatus:
        """Make sure the server runs and answers Bolt; idempotent."""
        current = self.status()
        if current.running and _port_open(self.settings.bolt_port):
            return current
        java = _require_java()
        self.ensure_jars(progress=progress)
        self._write_conf()
        password_is_new = self._ensure_password_file()
        if password_is_new or not (self.dir / "data" / "dbms" / "auth.ini").exists():
            self._set_initial_password(java)
        if _port_open(self.settings.bolt_port):
            raise ManagedNeo4jError(
                f"port {self.settings.bolt_port} is taken by another process; set "
                "LINEAGE_GRAPH_NEO4J_BOLT_PORT to a free port or NEO4J_URI to that server"
            )
        self._start(java)
        return self.status()

    def down(self) -> bool:
        """Stop the server cleanly (SIGTERM, then SIGKILL after a timeout). True if it ran."""
        pid = self._read_pid()
        if pid is None or not self._is_ours(pid):
            self.pid_file.unlink(missing_ok=True)  # stale: never signal someone else's process
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.2)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)
        return True

    def status(self) -> ServerStatus:
        pid = self._read_pid()
        running = pid is not None and self._is_ours(pid)
        return ServerStatus(
            running=running,
            pid=pid if running else None,
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
        marker = self.lib_dir / ".complete"
        if marker.exists():
            return self.lib_dir
        mvn = shutil.which("mvn")
        if mvn is None:
            raise ManagedNeo4jError(
                "Maven (mvn) is not installed: install Maven 3.6+ to let lineage-graph fetch "
                "Neo4j, or set NEO4J_URI to an existing Neo4j"
            )
        self.lib_dir.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.lib_dir.parent) as tmp:
            pom = Path(tmp) / "pom.xml"
            pom.write_text(self.pom_text)
            out = Path(tmp) / "lib"
            if progress:
                print(f"Fetching Neo4j {self.settings.neo4j_version} jars with Maven (once)...")
            proc = subprocess.run(
                [mvn, "-B", "-q", "-f", str(pom), "dependency:copy-dependencies",
                 f"-DoutputDirectory={out}", "-DincludeScope=runtime"],
                capture_output=True, text=True, check=False,
            )
            if proc.returncode != 0 or not out.is_dir():
                raise ManagedNeo4jError(
                    f"downloading Neo4j {self.settings.neo4j_version} with Maven failed "
                    f"({_last_error_line(proc.stdout + proc.stderr)}); check that Maven Central "
                    "is reachable, or set NEO4J_URI to an existing Neo4j"
                )
            (out / ".complete").write_text(self.settings.neo4j_version)
            shutil.rmtree(self.lib_dir, ignore_errors=True)
            out.rename(self.lib_dir)
        return self.lib_dir

    # -- internals ---------------------------------------------------------------------------

    def _is_ours(self, pid: int) -> bool:
        """Is ``pid`` alive and this instance's Neo4j (its command line names the entry point
        and this instance's home)?"""
        if not _alive(pid):
            return False
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                argv = fh.read().decode("utf-8", "replace").split("\0")
        except OSError:
            return False
        return ENTRY_POINT in argv and f"--home-dir={self.dir}" in argv

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
        _write_private(self.conf_dir / "neo4j.conf", "\n".join(lines) + "\n")

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
                f"{_last_error_line(proc.stdout + proc.stderr)}"
            )

    def _start(self, java: str) -> None:
        s = self.settings
        cmd = [
            java, f"-Xms{s.heap_size}", f"-Xmx{s.heap_size}", "-XX:+UseG1GC",
            "-Dfile.encoding=UTF-8", "-cp", f"{self.lib_dir}/*", ENTRY_POINT,
            f"--home-dir={self.dir}", f"--config-dir={self.conf_dir}",
        ]
        fd = os.open(self.console_log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "ab") as log:
            proc = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=self._java_env(), start_new_session=True, umask=PRIVATE_UMASK,
            )
        _write_private(self.pid_file, str(proc.pid))
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                self.pid_file.unlink(missing_ok=True)
                raise ManagedNeo4jError(
                    f"Neo4j exited during start-up (code {proc.returncode}): "
                    f"{_last_error_line(_tail(self.console_log))}; see {self.console_log}"
                )
            if _port_open(s.bolt_port):
                return
            time.sleep(0.5)
        raise ManagedNeo4jError(
            f"Neo4j did not open Bolt on port {s.bolt_port} within {START_TIMEOUT_S:.0f}s; "
            f"see {self.console_log}"
        )

    def _read_pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to a file only its owner can read (whatever the process's umask)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)


def _require_java() -> str:
    java = shutil.which("java")
    if java is None:
        raise ManagedNeo4jError(
            f"Java is not installed: install a JDK {MIN_JAVA} (e.g. openjdk-17-jre-headless) "
            "or set NEO4J_URI to an existing Neo4j"
        )
    proc = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    match = re.search(r'version "(\d+)', proc.stderr + proc.stdout)
    major = int(match.group(1)) if match else 0
    if major < MIN_JAVA:
        raise ManagedNeo4jError(
            f"Neo4j 5.26 needs Java {MIN_JAVA}+, found {major or 'an unknown version'} at {java}; "
            "install a JDK 17 or set NEO4J_URI to an existing Neo4j"
        )
    return java


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still "exists"; treat it as gone.
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _tail(path: Path, size: int = 8192) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - size))
            return fh.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _last_error_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for line in reversed(lines):
        if "ERROR" in line or "Exception" in line or "error" in line:
            return line[:300]
    return lines[-1][:300] if lines else "no output"
