"""The extraction baseline: poppler's `pdftotext` over the same PDFs, THREADS files at a time
(one process per file, as Quire reads one file per worker process), timed as a whole; pages of
the files it read are counted afterwards with `pdfinfo` (not timed).

python3 bench/pdftotext_baseline.py THREADS < paths.txt   -> one JSON object
"""

import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor


def extract(path: str) -> bool:
    done = subprocess.run(["pdftotext", "-q", path, "-"], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    return done.returncode == 0


def pages(path: str) -> int:
    info = subprocess.run(["pdfinfo", path], capture_output=True, text=True).stdout
    return next((int(l.split()[1]) for l in info.splitlines() if l.startswith("Pages:")), 0)


def main() -> None:
    threads = int(sys.argv[1])
    paths = [l.strip() for l in sys.stdin if l.strip()]
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        ok = list(pool.map(extract, paths))
    seconds = time.perf_counter() - started
    read = [p for p, good in zip(paths, ok) if good]
    print(json.dumps({
        "files": len(paths),
        "read": len(read),
        "failed": len(paths) - len(read),
        "failed_files": [p for p, good in zip(paths, ok) if not good],
        "pages": sum(pages(p) for p in read),
        "seconds": seconds,
        "threads": threads,
    }))


if __name__ == "__main__":
    main()
