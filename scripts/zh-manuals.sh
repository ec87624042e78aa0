#!/usr/bin/env bash
# Real Chinese PDFs for the tests and benchmarks: the CTeX manual and the CTeX FAQ (fonts with
# ToUnicode maps), and the Chinese lshort and the TeX Live install guide (Fandol fonts without
# them: their text comes from the character collection's table), from Debian's
# texlive-lang-chinese as published (the package is downloaded and unpacked into the cache, not
# installed: installing it would pull in TeX Live and its fonts). Prints the folder they are in.
#
#   bash scripts/zh-manuals.sh        ($QUIRE_CACHE, default ~/.cache/quire, holds zh-pdfs/)
set -euo pipefail
cache="${QUIRE_CACHE:-$HOME/.cache/quire}"
zh="$cache/zh-pdfs"
files=(ctex/ctex.pdf ctex-faq/ctex-faq.pdf lshort-chinese/lshort-zh-cn.pdf
  install-latex-guide-zh-cn/install-latex-guide-zh-cn.pdf)
missing=0
for f in "${files[@]}"; do [ -s "$zh/$(basename "$f")" ] || missing=1; done
if [ "$missing" = 1 ]; then
  printf '\033[1m==> %s\033[0m\n' "the Chinese manuals (texlive-lang-chinese, unpacked, not installed)" >&2
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && apt-get download texlive-lang-chinese >/dev/null 2>&1) || {
    sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    (cd "$work" && apt-get download texlive-lang-chinese >/dev/null)
  }
  dpkg-deb -x "$work"/texlive-lang-chinese_*.deb "$work/x"
  mkdir -p "$zh"
  for f in "${files[@]}"; do
    cp "$work/x/usr/share/doc/texlive-doc/latex/$f" "$zh/.$(basename "$f").part"
    mv "$zh/.$(basename "$f").part" "$zh/$(basename "$f")"
  done
fi
echo "$zh"
