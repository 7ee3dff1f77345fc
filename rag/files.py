"""Files written whole or not at all (a temporary file renamed over the old), and their digests."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_json_atomic(path: Path, data) -> None:
    """Write through a temporary file and rename, so readers see the old or the new file, never half."""
    write_bytes_atomic(path, json.dumps(data, ensure_ascii=False).encode("utf-8"))


def write_bytes_atomic(path: Path, data: bytes, prefix: str = "") -> None:
    """Write through a temporary file (flushed to disk) and rename over `path`: the old file or the new one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=prefix or f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
