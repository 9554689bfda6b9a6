"""An export to remote storage (``-o s3://bucket/shards``): refused early when it cannot work, uploaded in order.

The export is written to a local temporary folder first (:func:`labelprep.storage.staged` stages it), then
uploaded: the shards, then ``manifest.json`` (which readers key on: whoever finds the new manifest finds its
shards), then the shards of an earlier manifest that the new one no longer lists are removed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from contextlib import suppress
from pathlib import Path
from typing import Any

from labelprep.errors import InputError
from labelprep.shards.spec import MANIFEST_NAME, STATE_NAME
from labelprep.storage import filesystem, join, upload, url_errors

__all__ = ["EXPORT_FOLDER", "ExportFolder"]


class ExportFolder:
    """The :class:`labelprep.storage.FolderOutput` of ``export``'s OUT_DIR."""

    def check(self, url: str, args: Mapping[str, Any]) -> None:
        """No ``--resume`` (the state file stays local); not a file; no earlier export unless ``--overwrite``."""
        fs, path = filesystem(url)
        if args.get("resume"):
            raise InputError("--resume needs a local OUT_DIR", file=url,
                             hint="export again without --resume (add --overwrite to replace an earlier export), or "
                             "export to a local folder and copy it")  # fmt: skip
        with url_errors(url):
            if fs.isfile(path.rstrip("/")):
                raise InputError("the output is a file, not a folder", file=url, hint="choose a folder for -o")
            held = fs.exists(join(path, MANIFEST_NAME))
        if held and not args.get("overwrite"):
            raise InputError(f"the folder holds a previous export ({MANIFEST_NAME})", file=url,
                             hint="pass --overwrite to replace it, or choose another folder")  # fmt: skip

    def upload(self, local: Path, url: str) -> None:
        """Shards first, ``manifest.json`` last; then the shards of an earlier manifest that the new one drops."""
        fs, path = filesystem(url)
        old: set[str] = set()
        with url_errors(url), suppress(FileNotFoundError, ValueError):
            data = json.loads(fs.cat_file(join(path, MANIFEST_NAME)))
            for split in (data.get("splits") or {}).values():
                old.update(str(s.get("file")) for s in split.get("shards", []) if isinstance(s, dict))
        names = sorted(p.name for p in local.iterdir() if p.is_file() and not p.name.startswith(".")
                       and p.name not in (MANIFEST_NAME, STATE_NAME))  # fmt: skip
        for name in names:
            upload(local / name, join(url, name))
        upload(local / MANIFEST_NAME, join(url, MANIFEST_NAME))
        for name in sorted(old - set(names)):
            if name and "/" not in name and name != MANIFEST_NAME:
                with url_errors(url), suppress(FileNotFoundError):
                    fs.rm(join(path, name))


EXPORT_FOLDER = ExportFolder()
