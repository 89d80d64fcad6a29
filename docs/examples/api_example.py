#!/usr/bin/env python3
"""Score a folder of images through a DpIqa silo's JSON API: submit a job, follow its progress, print its summary.

Standard library only (urllib, json). Usage:

    DPIQA_TOKEN=... python3 api_example.py --api http://localhost:8080 --source photos/2026 --out photos-iqa/2026 [--model NAME]

DPIQA_TOKEN is a token from 'dpiqa token create' (operator, to submit); it goes as a bearer token on every call. A
cluster without a signing key (Security:AllowAnonymous) needs none.

Progress goes to stderr, one line per event; the job's summary (as GET /api/v1/jobs/ID/summary answers it) is printed
to stdout as JSON.
"""
import argparse
import json
import os
import sys
import urllib.error
import urllib.request


def headers():
    """The token, when there is one, as a bearer token."""
    token = os.environ.get("DPIQA_TOKEN")
    return {"Authorization": f"Bearer {token}"} if token else {}


def call(method, url, body=None):
    """One API call; a refusal or a failure exits with the API's one-line message."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json", **headers()})
    try:
        with urllib.request.urlopen(request) as response:
            return json.load(response)
    except urllib.error.HTTPError as e:
        problem = json.load(e)  # problem+json: title, status, detail (a refused token: error)
        sys.exit(f"error: {e.code} {problem.get('detail') or problem.get('title') or problem.get('error')}")


def progress(url):
    """The job's Server-Sent Events: yields each 'progress' event's data until the job ends."""
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers())) as stream:
        event, data = None, []
        for raw in stream:
            line = raw.decode().rstrip("\r\n")
            if line.startswith("event:"):
                event = line[len("event:"):].strip()
            elif line.startswith("data:"):
                data.append(line[len("data:"):].strip())
            elif line == "" and data:  # a blank line ends an event
                if event == "progress":
                    yield json.loads("\n".join(data))
                event, data = None, []


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--api", default="http://localhost:8080", help="a silo's HTTP endpoint")
    parser.add_argument("--source", required=True, help="container[/prefix] in the cluster's blob storage")
    parser.add_argument("--out", required=True, help="container/prefix for the results")
    parser.add_argument("--model", help="model name (default: the cluster's)")
    args = parser.parse_args()
    api = args.api.rstrip("/") + "/api/v1"

    request = {"sources": [args.source], "out": args.out, "format": "csv"}
    if args.model:
        request["model"] = args.model
    job = call("POST", f"{api}/jobs", request)
    job_id = job["job_id"]
    print(f"submitted {job_id}", file=sys.stderr)

    for p in progress(f"{api}/jobs/{job_id}/progress"):
        eta = "--" if p["eta_seconds"] is None else f"{p['eta_seconds']:.0f} s"
        print(f"{p['state']}: {p['done']}/{p['total']} done, {p['failed']} failed, "
              f"{p['images_per_second']:.1f} images/s, ETA {eta}", file=sys.stderr)

    status = call("GET", f"{api}/jobs/{job_id}")
    if status["state"] != "completed":
        sys.exit(f"error: job {job_id} ended {status['state']}: {status.get('message') or ''}")
    summary = call("GET", f"{api}/jobs/{job_id}/summary")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
