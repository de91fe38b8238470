#!/usr/bin/env python3
"""Checks the container files without pulling an image (we cannot here): deploy/compose.yaml
parses, every file and volume it names exists, its cluster is consistent; the Dockerfile builds
from Debian 12, copies only what exists and .dockerignore keeps, runs as a non-root user, listens
on every interface and has a health check on /health. Usage: check_files.py SOURCE_DIR"""
import fnmatch
import os
import re
import sys

import yaml

root = os.path.abspath(sys.argv[1])
errors = []


def fail(msg):
    errors.append(msg)


# -- compose -----------------------------------------------------------------------------------
compose_path = os.path.join(root, "deploy", "compose.yaml")
with open(compose_path) as f:
    compose = yaml.safe_load(f)
services = compose.get("services") or {}
if len(services) != 3:
    fail(f"compose: {len(services)} services, a cluster of 3 expected")
declared_volumes = set((compose.get("volumes") or {}).keys())
hosts = {}
peer_lists = set()
for name, svc in services.items():
    build = svc.get("build") or {}
    context = os.path.normpath(os.path.join(os.path.dirname(compose_path), build.get("context", ".")))
    dockerfile = os.path.join(context, build.get("dockerfile", "Dockerfile"))
    if not os.path.isdir(context):
        fail(f"compose: {name}: build context {context} does not exist")
    if not os.path.isfile(dockerfile):
        fail(f"compose: {name}: {dockerfile} does not exist")
    for v in svc.get("volumes") or []:
        source = v.split(":", 1)[0]
        if source.startswith((".", "/")):
            if not os.path.exists(os.path.join(os.path.dirname(compose_path), source)):
                fail(f"compose: {name}: bind mount {source} does not exist")
        elif source not in declared_volumes:
            fail(f"compose: {name}: volume {source} is not declared under volumes")
    cmd = svc.get("command") or []
    args = dict(zip(cmd[::2], cmd[1::2]))
    if "--node-id" not in args or "--peers" not in args:
        fail(f"compose: {name}: no --node-id or --peers in {cmd}")
        continue
    hosts[args["--node-id"]] = svc.get("hostname", name)
    peer_lists.add(args["--peers"])
if len(peer_lists) != 1:
    fail(f"compose: the services list different --peers: {sorted(peer_lists)}")
else:
    peers = {}
    for item in next(iter(peer_lists)).split(","):
        node, at = item.split("@")
        peers[node] = at.rsplit(":", 1)[0]
    if peers != hosts:
        fail(f"compose: --peers {peers} do not name the services' hosts {hosts}")

# -- Dockerfile --------------------------------------------------------------------------------
with open(os.path.join(root, "Dockerfile")) as f:
    text = f.read().replace("\\\n", " ")
lines = [l.strip() for l in text.splitlines() if l.strip() and not l.strip().startswith("#")]
froms = [l for l in lines if l.upper().startswith("FROM ")]
if not froms or not all(re.match(r"FROM debian:12(-slim)?\b", l) for l in froms):
    fail(f"Dockerfile: every stage must be Debian 12: {froms}")
last_stage = lines[lines.index(froms[-1]):]
users = [l.split()[1] for l in last_stage if l.upper().startswith("USER ")]
if not users or users[-1] in ("root", "0"):
    fail("Dockerfile: the final stage must run as a non-root USER")
if not any(l.upper().startswith("HEALTHCHECK") and re.search(r"/health(?![\w/])", l)
           for l in last_stage):
    fail("Dockerfile: no HEALTHCHECK on /health")
entry = " ".join(l for l in last_stage if l.upper().startswith(("ENTRYPOINT", "CMD")))
if "0.0.0.0" not in entry:
    fail("Dockerfile: the node must listen on 0.0.0.0 inside the container")
ignored = []
if os.path.exists(os.path.join(root, ".dockerignore")):
    with open(os.path.join(root, ".dockerignore")) as f:
        ignored = [l.strip() for l in f if l.strip() and not l.startswith("#")]
for l in lines:
    if not l.upper().startswith("COPY ") or "--from=" in l:
        continue
    sources = l.split()[1:-1]
    for s in sources:
        if not os.path.exists(os.path.join(root, s)):
            fail(f"Dockerfile: COPY source {s} does not exist")
        if any(fnmatch.fnmatch(s, pat) for pat in ignored):
            fail(f"Dockerfile: COPY source {s} is excluded by .dockerignore")

if errors:
    print("\n".join(errors))
    sys.exit(1)
print(f"deploy files: compose ({len(services)} services) and Dockerfile ({len(froms)} stages) ok")
