#!/usr/bin/env python3
"""Validate retrieval benchmark questions (questions.json or --questions FILE).

For every answerable item this checks that

* the item has the expected fields and types,
* the referenced PDF exists (a relative path is taken relative to the
  texlive doc root, /usr/share/doc/texlive-doc by default; an absolute path
  is used as is; a ``.pdf.gz`` is decompressed to a temporary file first),
* every listed page exists in that PDF (1-based physical page index),
* the evidence phrase occurs in the text of at least one listed page,
* if present, ``answer`` is a non-empty string and ``key_facts`` is a list of
  1-3 non-empty strings, each of which occurs in the text of at least one
  listed page and in the answer (when there is one).

An item with ``"answerable": false`` must have exactly the fields ``id``,
``question``, ``answerable`` and ``why`` (both strings non-empty); nothing
else is checked for it.

Text is extracted with ``pdftotext -f P -l P -layout``; if the phrase is not
found there, the plain reading-order extraction (no ``-layout``) is tried as
well, because in multi-column documents ``-layout`` puts the columns side by
side and splits sentences.  Both sides are NFKC-normalised, lower-cased and
have all whitespace collapsed to single spaces before comparison.

Prints one line per failure and a summary line; exits 1 if anything failed.

Usage: check_questions.py [--questions FILE] [--doc-root DIR]
Standard library only; needs pdftotext (and pdfinfo, if present) on PATH.
"""

import argparse
import atexit
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unicodedata
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_QUESTIONS = os.path.join(HERE, "questions.json")
DEFAULT_DOC_ROOT = "/usr/share/doc/texlive-doc"

MIN_EVIDENCE_WORDS = 6
MAX_EVIDENCE_WORDS = 20
MIN_EVIDENCE_CHARS = 10  # evidence in Chinese or Japanese
MAX_EVIDENCE_CHARS = 60
MAX_PAGES = 3
MAX_KEY_FACTS = 3
UNANSWERABLE_FIELDS = {"id", "question", "answerable", "why"}


def normalise(text):
    text = unicodedata.normalize("NFKC", text)
    text = re.sub(r"\s+", " ", text)
    return text.strip().lower()


class PdfCache:
    def __init__(self):
        self._pages = {}
        self._text = {}
        self._plain = {}
        self._tmpdir = None
        self._have_pdfinfo = shutil.which("pdfinfo") is not None

    def _readable(self, path):
        """Path of a plain PDF with the content of ``path`` (.pdf.gz is
        decompressed once into a temporary directory), or None."""
        if not path.endswith(".gz"):
            return path
        if path not in self._plain:
            if self._tmpdir is None:
                self._tmpdir = tempfile.mkdtemp(prefix="check_questions.")
                atexit.register(shutil.rmtree, self._tmpdir, True)
            out = os.path.join(self._tmpdir, "%d.pdf" % len(self._plain))
            try:
                with gzip.open(path, "rb") as src, open(out, "wb") as dst:
                    shutil.copyfileobj(src, dst)
            except (OSError, EOFError):
                out = None
            self._plain[path] = out
        return self._plain[path]

    def page_count(self, path):
        if path not in self._pages:
            plain = self._readable(path)
            self._pages[path] = self._count(plain) if plain else None
        return self._pages[path]

    def _count(self, path):
        if self._have_pdfinfo:
            res = subprocess.run(["pdfinfo", path], capture_output=True,
                                 text=True, errors="replace")
            m = re.search(r"^Pages:\s+(\d+)", res.stdout, re.M)
            if res.returncode == 0 and m:
                return int(m.group(1))
        # Fallback: pdftotext emits a form feed after every page.
        res = subprocess.run(["pdftotext", path, "-"], capture_output=True,
                             text=True, errors="replace")
        if res.returncode != 0:
            return None
        return res.stdout.count("\f")

    def page_text(self, path, page, layout):
        key = (path, page, layout)
        if key not in self._text:
            cmd = ["pdftotext", "-f", str(page), "-l", str(page)]
            if layout:
                cmd.append("-layout")
            plain = self._readable(path)
            if plain is None:
                self._text[key] = None
                return None
            cmd += [plain, "-"]
            res = subprocess.run(cmd, capture_output=True, text=True,
                                 errors="replace")
            self._text[key] = (normalise(res.stdout)
                               if res.returncode == 0 else None)
        return self._text[key]

    def on_pages(self, path, pages, phrase):
        """True if the normalised phrase occurs on one of the pages, in the
        -layout extraction or in the plain reading-order one."""
        phrase = normalise(phrase)
        for layout in (True, False):
            for p in pages:
                text = self.page_text(path, p, layout)
                if text is not None and phrase in text:
                    return True
        return False


def is_unanswerable(item):
    return isinstance(item, dict) and item.get("answerable") is False


def check_unanswerable(item, label):
    fails = []
    for field in ("question", "why"):
        if not isinstance(item.get(field), str) or not item[field].strip():
            fails.append("%s: missing or empty '%s'" % (label, field))
    extra = sorted(set(item) - UNANSWERABLE_FIELDS)
    if extra:
        fails.append("%s: unanswerable item has other fields: %s"
                     % (label, ", ".join(extra)))
    return fails


def check_answer_fields(item, label):
    """Schema of the optional 'answer' and 'key_facts' fields."""
    fails = []
    if "answer" in item and (not isinstance(item["answer"], str)
                             or not item["answer"].strip()):
        fails.append("%s: 'answer' must be a non-empty string" % label)
    if "key_facts" in item:
        facts = item["key_facts"]
        if (not isinstance(facts, list)
                or not 1 <= len(facts) <= MAX_KEY_FACTS
                or not all(isinstance(f, str) and f.strip() for f in facts)):
            fails.append("%s: 'key_facts' must be a list of 1-%d non-empty "
                         "strings" % (label, MAX_KEY_FACTS))
    return fails


def check_item(item, index, doc_root, pdfs, seen_ids):
    """Return a list of failure messages for one item."""
    label = "item #%d" % index
    if not isinstance(item, dict):
        return ["%s: not a JSON object" % label]
    qid = item.get("id")
    if isinstance(qid, int) and not isinstance(qid, bool):
        label = "id %d" % qid
        duplicate = qid in seen_ids
        seen_ids.add(qid)
    else:
        return ["%s: missing or non-integer 'id'" % label]
    fails = ["%s: duplicate id" % label] if duplicate else []

    if "answerable" in item and not isinstance(item["answerable"], bool):
        return fails + ["%s: 'answerable' must be true or false" % label]
    if is_unanswerable(item):
        return fails + check_unanswerable(item, label)

    schema = check_answer_fields(item, label)
    for field in ("question", "document", "evidence"):
        if not isinstance(item.get(field), str) or not item[field].strip():
            schema.append("%s: missing or empty '%s'" % (label, field))
    pages = item.get("pages")
    if (not isinstance(pages, list) or not pages
            or not all(isinstance(p, int) and not isinstance(p, bool)
                       for p in pages)):
        schema.append("%s: 'pages' must be a non-empty list of integers"
                      % label)
    if schema:
        return fails + schema
    if len(pages) > MAX_PAGES:
        fails.append("%s: %d pages listed (at most %d)"
                     % (label, len(pages), MAX_PAGES))

    evidence = item["evidence"]
    cjk = sum(1 for c in evidence if unicodedata.east_asian_width(c) == "W")
    if cjk >= 4:
        # Chinese and Japanese have no spaces between words: count characters.
        chars = len("".join(evidence.split()))
        if not MIN_EVIDENCE_CHARS <= chars <= MAX_EVIDENCE_CHARS:
            fails.append("%s: evidence has %d characters (want %d-%d)"
                         % (label, chars, MIN_EVIDENCE_CHARS, MAX_EVIDENCE_CHARS))
    else:
        words = len(evidence.split())
        if not MIN_EVIDENCE_WORDS <= words <= MAX_EVIDENCE_WORDS:
            fails.append("%s: evidence has %d words (want %d-%d)"
                         % (label, words, MIN_EVIDENCE_WORDS, MAX_EVIDENCE_WORDS))

    document = item["document"]
    path = (document if os.path.isabs(document)
            else os.path.join(doc_root, document))
    if not os.path.isfile(path):
        fails.append("%s: document not found: %s" % (label, path))
        return fails
    count = pdfs.page_count(path)
    if count is None:
        fails.append("%s: cannot read page count of %s"
                     % (label, item["document"]))
        return fails
    good_pages = []
    for p in pages:
        if 1 <= p <= count:
            good_pages.append(p)
        else:
            fails.append("%s: page %d out of range (%s has %d pages)"
                         % (label, p, item["document"], count))

    if good_pages and not pdfs.on_pages(path, good_pages, item["evidence"]):
        fails.append("%s: evidence not found on page(s) %s of %s: %r"
                     % (label, ",".join(map(str, pages)), item["document"],
                        item["evidence"]))

    answer = normalise(item.get("answer", ""))
    for fact in item.get("key_facts", []):
        if good_pages and not pdfs.on_pages(path, good_pages, fact):
            fails.append("%s: key fact not found on page(s) %s of %s: %r"
                         % (label, ",".join(map(str, pages)),
                            item["document"], fact))
        if answer and normalise(fact) not in answer:
            fails.append("%s: key fact not in the answer: %r" % (label, fact))
    return fails


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--questions", default=DEFAULT_QUESTIONS)
    ap.add_argument("--doc-root", default=DEFAULT_DOC_ROOT)
    args = ap.parse_args(argv)

    if shutil.which("pdftotext") is None:
        print("FAIL: pdftotext not found on PATH")
        return 1
    try:
        with open(args.questions, encoding="utf-8") as fh:
            items = json.load(fh)
    except (OSError, ValueError) as exc:
        print("FAIL: cannot load %s: %s" % (args.questions, exc))
        return 1
    if not isinstance(items, list):
        print("FAIL: %s does not contain a JSON array" % args.questions)
        return 1

    pdfs = PdfCache()
    seen_ids = set()
    failed_items = 0
    for index, item in enumerate(items, 1):
        fails = check_item(item, index, args.doc_root, pdfs, seen_ids)
        for msg in fails:
            print("FAIL: " + msg)
        if fails:
            failed_items += 1

    docs = Counter(it.get("document") for it in items
                   if isinstance(it, dict) and not is_unanswerable(it))
    busiest = max(docs.values()) if docs else 0
    unanswerable = sum(1 for it in items if is_unanswerable(it))
    print("%d questions%s, %d documents (max %d per document): "
          "%d passed, %d failed"
          % (len(items),
             " (%d unanswerable)" % unanswerable if unanswerable else "",
             len(docs), busiest, len(items) - failed_items, failed_items))
    return 1 if failed_items else 0


if __name__ == "__main__":
    sys.exit(main())
