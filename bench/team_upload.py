#!/usr/bin/env python3
"""Uploads PDFs to a team library (`quire serve`) and times its ingestion.

    team_upload.py --servers URL,URL --token TOKEN --collection NAME < paths.txt

Uploads every file (4 at a time, over the servers round-robin), then waits until every job is
done or failed (every document searchable by its words) and until every stored document is
embedded (searchable by meaning). Prints JSON: files, failed (with reasons), seconds to upload,
to searchable, to embedded, and how many jobs each server took (shared ingestion). Standard
library only.
"""

import argparse
import concurrent.futures
import json
import os
import sys
import time
import urllib.parse
import urllib.request


def call(method, url, token, data=None, timeout=600):
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=timeout) as r:
        return json.load(r)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--servers", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--collection", required=True)
    args = parser.parse_args()
    servers = args.servers.split(",")
    paths = [line.strip() for line in sys.stdin if line.strip()]
    started = time.monotonic()

    def upload(i_path):
        i, path = i_path
        server = servers[i % len(servers)]
        name = urllib.parse.quote(os.path.basename(path))
        with open(path, "rb") as f:
            body = f.read()
        url = f"{server}/v1/collections/{args.collection}/documents?name={name}"
        return call("POST", url, args.token, body)["job"]

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        jobs = list(pool.map(upload, enumerate(paths)))
    uploaded = time.monotonic() - started
    pending = set(jobs)
    states = {}
    while pending:
        for job in list(pending):
            state = call("GET", f"{servers[0]}/v1/jobs/{job}", args.token)
            if state["status"] in ("done", "failed"):
                states[job] = state
                pending.discard(job)
        time.sleep(0.5)
    searchable = time.monotonic() - started
    while True:
        documents = call("GET", f"{servers[0]}/v1/documents", args.token)
        if all(d["embedded"] or d["status"] != "ready" for d in documents):
            break
        time.sleep(1)
    embedded = time.monotonic() - started
    failed = {s.get("name"): s.get("error") for s in states.values() if s["status"] == "failed"}
    by_server = {}
    for s in states.values():
        by_server[s.get("claimed_by") or "?"] = by_server.get(s.get("claimed_by") or "?", 0) + 1
    print(json.dumps({
        "files": len(paths),
        "documents": len(documents),
        "chunks": sum(d["chunks"] for d in documents),
        "failed": len(failed),
        "failed_examples": dict(list(failed.items())[:5]),
        "seconds_to_upload": round(uploaded, 1),
        "seconds_to_searchable": round(searchable, 1),
        "seconds_to_embedded": round(embedded, 1),
        "jobs_by_server": by_server,
    }, indent=2))


if __name__ == "__main__":
    main()
