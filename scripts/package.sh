#!/usr/bin/env bash
# Builds Quire's Linux packages (`make package`):
#   quire_<version>_amd64.deb and quire-<version>-1.x86_64.rpm — the window (quire-app), the
#     `quire` command, the desktop entry ("Open with Quire" for PDFs), icons, the verified model
#     fetch step (/usr/share/quire/fetch), licences; made by Tauri's own bundler, which needs no
#     download (the AppImage bundler does, so it is not built);
#   quire-models_<version>_all.deb — the default models (all-MiniLM-L6-v2, gemma-3-270m Q4_K_M,
#     the CC-CEDICT dictionary) in /usr/share/quire/models, each file checked against
#     models/manifest.json's sha256 while it is packed; made with dpkg-deb, and the same as
#     quire-models-<version>-1.noarch.rpm with rpmbuild.
# Then lintian checks both .debs (any error fails the build). The packages land in
# $QUIRE_PACKAGES (default: <target dir>/packages).
#
# Expects scripts/setup.sh to have run (toolchain, UI build tools, models); installs lintian and
# rpm (for rpm's query tool) itself. Offline after that.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

target="${CARGO_TARGET_DIR:-$PWD/target}"
out="${QUIRE_PACKAGES:-$target/packages}"
models="${QUIRE_MODELS:-$(python3 -c 'import sys; sys.path.insert(0, "models"); import fetch; print(fetch.default_dest())')}"
version="$(python3 -c 'import json; print(json.load(open("src-tauri/tauri.conf.json"))["version"])')"

need=()
for p in lintian rpm dpkg-dev binutils desktop-file-utils appstream; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  say "installing ${need[*]}"
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get install -y -qq "${need[@]}" >/dev/null
fi

say "building the window and the quire command"
# shellcheck source=scripts/node.sh
. scripts/node.sh
ui_packages
ui_build
# The same selection as setup.sh's build, so that nothing rebuilds.
cargo build --release --locked --workspace --bins --tests

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$out"
rm -f "$out"/quire_*.deb "$out"/quire-*.rpm "$out"/quire-models_*.deb "$out"/quire-models-*.rpm

# Binaries without their symbol tables (a third of their size; lintian refuses unstripped ones).
# The window's binary is the one Tauri packs, so it is stripped where cargo left it (cargo still
# sees it as fresh); the command's copy is stripped beside the stage.
strip --strip-unneeded "$target/release/quire-app"
cp "$target/release/quire" "$stage/quire"
strip --strip-unneeded "$stage/quire"

# Debian's own tool reads the libraries both programs link to and names their packages, with the
# versions the build used.
mkdir -p "$stage/shlibs/debian"
printf 'Source: quire\n\nPackage: quire\nArchitecture: any\n' >"$stage/shlibs/debian/control"
shlibs="$(cd "$stage/shlibs" && dpkg-shlibdeps -O -e"$target/release/quire-app" -e"$stage/quire" 2>/dev/null |
  sed -n 's/^shlibs:Depends=//p')"
[ -n "$shlibs" ] || { echo "dpkg-shlibdeps found no libraries" >&2; exit 1; }

gzip -9n <packaging/changelog >"$stage/changelog.gz"
for page in quire quire-app; do gzip -9n <"packaging/$page.1" >"$stage/$page.1.gz"; done
python3 - "$stage" "$shlibs" >"$stage/bundle.json" <<'PY'
import json, sys
stage, shlibs = sys.argv[1], sys.argv[2]
root = __import__("os").getcwd()
fetch = ["fetch.py", "manifest.json", "e5_convert.py", "e5_verify.py", "e5_reference.c",
         "e5_check_texts.jsonl"]
files = {"/usr/bin/quire": f"{stage}/quire",
         "/usr/share/man/man1/quire.1.gz": f"{stage}/quire.1.gz",
         "/usr/share/man/man1/quire-app.1.gz": f"{stage}/quire-app.1.gz",
         "/usr/share/doc/quire/copyright": f"{root}/packaging/copyright",
         # What software centres (GNOME Software, KDE Discover) show about the app.
         "/usr/share/metainfo/app.quire.desktop.metainfo.xml":
             f"{root}/packaging/app.quire.desktop.metainfo.xml"}
files.update({f"/usr/share/quire/fetch/{f}": f"{root}/models/{f}" for f in fetch})
deb_files = dict(files)
deb_files["/usr/share/doc/quire/changelog.gz"] = f"{stage}/changelog.gz"
# Beyond the linked libraries: Tesseract's English data (OCR of scanned pages needs it), the
# character collections' tables (Chinese/Japanese/Korean PDFs without ToUnicode maps).
depends = [d.strip() for d in shlibs.split(",")] + ["tesseract-ocr-eng", "poppler-data"]
print(json.dumps({"bundle": {"linux": {
    "deb": {"depends": depends, "files": deb_files,
            "recommends": ["python3-pip", "quire-models"],
            "desktopTemplate": f"{root}/packaging/quire.desktop"},
    "rpm": {"depends": ["webkit2gtk4.1", "gtk3", "tesseract", "tesseract-langpack-eng",
                        "poppler-glib", "poppler-data", "libgomp"],
            "files": files,
            "desktopTemplate": f"{root}/packaging/quire.desktop"},
}}}))
PY

say "bundling the .deb and the .rpm"
ui/node_modules/.bin/tauri bundle --bundles deb,rpm --config "$stage/bundle.json" >&2
cp "$target/release/bundle/deb/Quire_${version}_amd64.deb" "$out/quire_${version}_amd64.deb"
cp "$target/release/bundle/rpm/Quire-${version}-1.x86_64.rpm" "$out/quire-${version}-1.x86_64.rpm"

say "packing the default models from $models"
pack="$stage/models"
mkdir -p "$pack/DEBIAN" "$pack/usr/share/quire/models" "$pack/usr/share/doc/quire-models"
python3 - "$models" "$pack/usr/share/quire/models" <<'PY'
import json, shutil, sys
from pathlib import Path
src, dst = Path(sys.argv[1]), Path(sys.argv[2])
for model in json.load(open("models/manifest.json"))["models"]:
    if not model.get("default"):
        continue
    here = src / model["dest"]
    if not here.exists():
        sys.exit(f"{model['name']} is not in {src}: run python3 models/fetch.py --defaults first")
    if here.is_dir():
        (dst / model["dest"]).mkdir(parents=True)
        for f in model["files"]:
            (dst / model["dest"] / f["to"]).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(here / f["to"], dst / model["dest"] / f["to"])
    else:
        shutil.copyfile(here, dst / model["dest"])
PY
# Every packed file against the manifest's sha256: a damaged model is never packed.
python3 models/fetch.py --defaults --check --dest "$pack/usr/share/quire/models" >&2
cp packaging/models-copyright "$pack/usr/share/doc/quire-models/copyright"
gzip -9n <packaging/changelog >"$pack/usr/share/doc/quire-models/changelog.gz"
find "$pack" -type d -exec chmod 0755 {} +
find "$pack/usr" -type f -exec chmod 0644 {} +
size_kb="$(du -sk --exclude=DEBIAN "$pack" | cut -f1)"
cat >"$pack/DEBIAN/control" <<EOF
Package: quire-models
Version: $version
Architecture: all
Maintainer: The Quire authors <quire@quire.invalid>
Installed-Size: $size_kb
Section: misc
Priority: optional
Enhances: quire
Multi-Arch: foreign
Description: default models for Quire, for machines without internet
 The embedding model all-MiniLM-L6-v2 (search by meaning), the answer model
 gemma-3-270m (Q4_K_M GGUF) and the CC-CEDICT dictionary (Chinese questions
 over English documents), installed in /usr/share/quire/models, where Quire
 looks when the user's own models folder does not hold them. Each file was
 checked against Quire's manifest of sha256 sums when this package was made.
EOF
(cd "$pack" && find usr -type f -print0 | sort -z | xargs -0 md5sum >DEBIAN/md5sums)
dpkg-deb --root-owner-group -Zxz -z1 --build "$pack" "$out/quire-models_${version}_all.deb" >&2

say "the model pack as an .rpm"
# The same files, for rpm-based systems (rpmbuild from Debian's rpm package; nothing to compile).
mkdir -p "$stage/rpm"
cat >"$stage/quire-models.spec" <<EOF
Name: quire-models
Version: $version
Release: 1
Summary: Default models for Quire, for machines without internet
License: Apache-2.0 and Gemma Terms of Use and CC-BY-SA-4.0
BuildArch: noarch
Enhances: quire

%description
The embedding model all-MiniLM-L6-v2, the answer model gemma-3-270m (Q4_K_M
GGUF) and the CC-CEDICT dictionary, installed in /usr/share/quire/models, where
Quire looks when the user's own models folder does not hold them. Each file was
checked against Quire's manifest of sha256 sums when this package was made.

%install
mkdir -p %{buildroot}
cp -a $pack/usr %{buildroot}/

%files
/usr/share/quire/models
%license /usr/share/doc/quire-models/copyright
/usr/share/doc/quire-models/changelog.gz
EOF
rpmbuild -bb --quiet --define "_topdir $stage/rpm" --define "__os_install_post %{nil}" \
  --define "_build_id_links none" "$stage/quire-models.spec" >&2
cp "$stage/rpm/RPMS/noarch/quire-models-${version}-1.noarch.rpm" "$out/"

appstreamcli validate --no-net packaging/app.quire.desktop.metainfo.xml >&2

say "lintian"
# Errors fail the build; warnings are shown.
lintian --fail-on error "$out/quire_${version}_amd64.deb" "$out/quire-models_${version}_all.deb" >&2

say "packages in $out"
for f in "$out"/quire_*.deb "$out"/quire-[0-9]*.rpm "$out"/quire-models_*.deb "$out"/quire-models-*.rpm; do
  printf '%8s  %s\n' "$(du -h "$f" | cut -f1)" "$(basename "$f")"
done
