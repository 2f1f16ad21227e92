"""The engineer's catalog: `people/<email>.json` from S3, cached on disk with its ETag.

The location is `s3://bucket/prefix-or-key` (DBACCESS_CATALOG or `catalog` in the config
file): the person's object sits next to catalog.json, so `s3://b/prod/catalog.json`,
`s3://b/prod/` and `s3://b/prod` all mean `s3://b/prod/people/<email>.json`.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from importlib.resources import files
from pathlib import Path
from typing import Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from dbaccess.access.errors import InvalidInput
from dbaccess.access.source import read_text
from dbaccess.catalog import Catalog, CatalogError, person_key
from dbaccess.cli.exit_codes import ExitCode
from dbaccess.cli.identity import (
    EngineerError,
    Say,
    aws_failure,
    quiet,
)
from dbaccess.credentials import classify_aws_error
from dbaccess.formats import split_s3_location


def cache_dir(env: Mapping[str, str] = os.environ) -> Path:
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "dbaccess"


def person_object_location(url: str, email: str) -> tuple[str, str]:
    """(bucket, key) of the person's object for a catalog URL."""
    return object_location(url, person_key(email))


def object_location(url: str, name: str) -> tuple[str, str]:
    """(bucket, key) of the catalog object `name` (catalog.json, people/<email>.json) for a
    catalog URL."""
    try:
        bucket, key = split_s3_location(url)
    except ValueError:
        raise EngineerError(
            f"the catalog location {url!r} is not an s3://bucket/prefix URL",
            "set DBACCESS_CATALOG (or `catalog` in the config file) to e.g. "
            "s3://dbaccess-catalog/prod/catalog.json, or use --catalog FILE",
        ) from None
    # A key naming an object (catalog.json) means its folder; anything else is the folder.
    prefix = key.rpartition("/")[0] if key.endswith(".json") else key.rstrip("/")
    return bucket, f"{prefix}/{name}" if prefix else name


# `--catalog example`: the sample's catalog, shipped in the package to try the CLI without AWS.
EXAMPLE: Final = "example"


def example_catalog() -> Path:
    return Path(str(files("dbaccess") / "examples" / "catalog.json"))


def load_catalog_file(path: Path) -> Catalog:
    """--catalog FILE: catalog.json or a people/<email>.json, read offline; `example`: the
    example catalog."""
    if path == Path(EXAMPLE):
        path = example_catalog()
    try:
        # The access file's reader: refuses pipes and devices' endless output, within limits.
        return Catalog.from_json(read_text(path, "pass the catalog.json the stack publishes"))
    except InvalidInput as exc:
        raise EngineerError(f"cannot read the catalog file: {exc.problems[0].message}") from None
    except CatalogError as exc:
        raise EngineerError(f"{path}: {exc}") from None


def _cache_file(directory: Path, bucket: str, key: str) -> Path:
    digest = hashlib.sha256(f"{bucket}/{key}".encode()).hexdigest()[:16]
    return directory / f"catalog-{digest}.json"


def _read_cache(path: Path, bucket: str, key: str) -> dict[str, Any] | None:
    try:
        entry = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    ok = isinstance(entry, dict) and entry.get("bucket") == bucket and entry.get("key") == key
    return entry if ok and isinstance(entry.get("etag"), str) else None


def write_private(path: Path, entry: dict[str, Any]) -> None:
    """`entry` as JSON in `path`, readable by the user alone (0600 in a 0700 directory),
    replaced atomically."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-")
    try:
        with os.fdopen(fd, "w") as fh:  # mkstemp files are 0600
            json.dump(entry, fh)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def fetch_catalog(s3: Any, bucket: str, key: str, directory: Path, *, say: Say = quiet) -> Catalog:
    """The catalog object, re-downloaded only when its ETag changed (If-None-Match)."""
    cache_path = _cache_file(directory, bucket, key)
    cached = _read_cache(cache_path, bucket, key)
    where = f"s3://{bucket}/{key}"
    try:
        if cached:
            say(f"catalog {where}: cached (ETag {cached['etag']}); checking for changes")
            response = s3.get_object(Bucket=bucket, Key=key, IfNoneMatch=cached["etag"])
        else:
            say(f"catalog {where}: downloading")
            response = s3.get_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if cached and (status == 304 or error.get("Code") == "304"):
            say(f"catalog {where}: unchanged, using the cache")
            return _parse(cached["body"].encode(), where)
        if error.get("Code") in {"NoSuchKey", "AccessDenied", "403", "404"}:
            raise EngineerError(
                f"cannot read your catalog object {where} ({error.get('Code')})",
                "You have no grants yet, the email is not yours, or DBACCESS_CATALOG points at "
                "the wrong place.\nAsk for access with a pull request to access.yaml.",
                ExitCode.INVALID_INPUT,
            ) from None
        raise aws_failure(classify_aws_error(exc, f"reading {where}")) from None
    except BotoCoreError as exc:
        if cached:
            say(f"catalog {where}: AWS unreachable ({type(exc).__name__}); using the cache")
            return _parse(cached["body"].encode(), where)
        raise aws_failure(classify_aws_error(exc, f"reading {where}")) from None
    body: bytes = response["Body"].read()
    catalog = _parse(body, where)
    write_private(
        cache_path,
        {"bucket": bucket, "key": key, "etag": response["ETag"], "body": body.decode()},
    )
    say(f"catalog {where}: downloaded (ETag {response['ETag']}), cached in {cache_path}")
    return catalog


def _parse(body: bytes, where: str) -> Catalog:
    try:
        return Catalog.from_json(body)
    except CatalogError as exc:
        raise EngineerError(f"{where}: {exc}", exit_code=ExitCode.FAILED) from None


def known_database_names(directory: Path, catalog_file: Path | None, email: str | None) -> set[str]:
    """Database names for shell completion, from the disk alone (never the network, never an
    error): the --catalog file's, else those of every cached catalog object; only the
    person's grants when the email is known."""
    if catalog_file is not None:
        bodies = [catalog_file if catalog_file != Path(EXAMPLE) else example_catalog()]
    else:
        bodies = sorted(directory.glob("catalog-*.json"))
    names: set[str] = set()
    for path in bodies:
        try:
            text = path.read_text()
            if catalog_file is None:
                text = json.loads(text)["body"]
            catalog = Catalog.from_json(text)
        except (OSError, ValueError, TypeError, KeyError, CatalogError):
            continue
        person = catalog.person(email) if email else None
        names |= {g.database for g in person.grants} if person else set(catalog.databases)
    return names
