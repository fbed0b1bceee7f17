"""USD's own diagnostics, kept off the terminal.

pxr writes its warnings and errors straight to file descriptor 2, several lines each (a
missing reference, a sublayer that does not parse). What matters of them reaches the user
anyway, as one line (SceneReadError) or in the scene's ``missingAssets``; the raw text goes
to the debug log.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)


@contextmanager
def pxr_diagnostics_to_debug_log() -> Iterator[None]:
    """Send whatever is written to fd 2 meanwhile to the debug log. Process-wide: for
    commands, not for a server handling requests on other threads."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            text = sink.read().decode("utf-8", errors="replace").strip()
            if text:
                log.debug("USD diagnostics:\n%s", text)
