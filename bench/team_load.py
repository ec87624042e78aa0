#!/usr/bin/env python3
"""The team library under load: clients searching and asking at once against `quire serve`.

    team_load.py --servers URL,URL --token TOKEN --questions FILE
                 [--searchers 32] [--askers 4] [--seconds 60]

Each client is a thread with its own connection, asking the labelled questions in turn (each
starting at a different one), spread over the servers round-robin. A search is one
POST /v1/search; an ask is one POST /v1/ask read to the end of its event stream (its `done`
event, or an `error` event, which counts as an error). Prints JSON: per kind, requests, errors
(with the first few messages), and latency p50/p95/max in ms; requests per second overall.
Standard library only.
"""

import argparse
import json
import threading
import time
import urllib.error
import urllib.request


def percentile(values, p):
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def post(url, token, body, timeout):
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    return urllib.request.urlopen(request, timeout=timeout)


def search(server, token, question):
    with post(f"{server}/v1/search", token, {"query": question, "k": 5}, 60) as r:
        hits = json.load(r)
    if not isinstance(hits, list) or not hits:
        raise RuntimeError(f"no passages for {question!r}")


def ask(server, token, question):
    done = False
    with post(f"{server}/v1/ask", token, {"question": question, "k": 5}, 600) as r:
        event = None
        for raw in r:
            line = raw.decode("utf-8").rstrip("\n")
            if line.startswith("event:"):
                event = line[6:].strip()
                if event == "error":
                    raise RuntimeError("the answer stream reported an error")
                if event == "done":
                    done = True
    if not done:
        raise RuntimeError("the answer stream ended before its done event")


def client(kind, index, args, questions, servers, results, stop_at):
    work = search if kind == "search" else ask
    latencies, errors = [], []
    i = index
    while time.monotonic() < stop_at:
        question = questions[i % len(questions)]
        server = servers[i % len(servers)]
        i += 1
        started = time.monotonic()
        try:
            work(server, args.token, question)
            latencies.append((time.monotonic() - started) * 1000)
        except (urllib.error.URLError, OSError, RuntimeError, ValueError) as e:
            errors.append(f"{server}: {e}")
    results[kind].append((latencies, errors))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--servers", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--questions", required=True)
    parser.add_argument("--searchers", type=int, default=32)
    parser.add_argument("--askers", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    questions = [q["question"] for q in json.load(open(args.questions))
                 if q.get("answerable", True)]
    servers = args.servers.split(",")
    results = {"search": [], "ask": []}
    started = time.monotonic()
    stop_at = started + args.seconds
    threads = [threading.Thread(target=client, args=("search", n * 7, args, questions, servers,
                                                      results, stop_at))
               for n in range(args.searchers)]
    threads += [threading.Thread(target=client, args=("ask", n * 11, args, questions, servers,
                                                      results, stop_at))
                for n in range(args.askers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - started
    report = {"servers": len(servers), "seconds": round(wall, 1)}
    total = 0
    for kind, clients in (("search", args.searchers), ("ask", args.askers)):
        latencies = [x for lat, _ in results[kind] for x in lat]
        errors = [e for _, err in results[kind] for e in err]
        total += len(latencies) + len(errors)
        report[kind] = {
            "clients": clients,
            "requests": len(latencies) + len(errors),
            "errors": len(errors),
            "error_examples": errors[:5],
            "latency_ms_p50": percentile(latencies, 0.5),
            "latency_ms_p95": percentile(latencies, 0.95),
            "latency_ms_max": max(latencies) if latencies else None,
        }
    report["requests_per_second"] = round(total / wall, 1)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
