#!/usr/bin/env python3
"""Checks that the tree keeps the shape docs/ARCHITECTURE.md describes.

  1. Folders: fcgi-app/proxy/ and fcgi-app/admin/ never include each
     other; fcgi-app/ops/ includes neither; fcgi-app/core/ includes only
     core/ (the core library is shared with cron-jobs/ and knows nothing of
     requests).
  2. Headers: no header includes itself through others.
  3. Calls (with --objects DIR, the build's object folder): file A calls
     into file B when A.o uses a symbol that B.o defines.  No two files of
     fcgi-app/ may call into each other, directly or through others,
     except the pairs in ALLOWED, each with its reason.

Prints one line a fault and exits 1 when there is any."""

import os
import re
import subprocess
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)

# Calls that go back up on purpose.
ALLOWED = {
    # The attempt asks the request whether another attempt could follow
    # (attempts, time and another key left) before it honours a rule's
    # retry: only the request knows, and the answer decides how the
    # attempt ends.
    ("proxy/attempt", "proxy/proxy", "proxy_can_retry"),
}


def sources():
    for top in ("fcgi-app", "cron-jobs"):
        for d, _, files in os.walk(os.path.join(ROOT, top)):
            for f in sorted(files):
                if f.endswith((".c", ".h")):
                    yield os.path.relpath(os.path.join(d, f), ROOT)


def resolve(src, name):
    """The path an include names: beside the file, else under fcgi-app/
    (the -I path); None for a header of another project."""
    for base in (os.path.dirname(src), "fcgi-app"):
        p = os.path.normpath(os.path.join(base, name))
        if os.path.exists(os.path.join(ROOT, p)):
            return p
    return None


def includes():
    edges = {}
    for src in sources():
        with open(os.path.join(ROOT, src), encoding="utf-8") as f:
            names = INCLUDE.findall(f.read())
        edges[src] = [t for t in (resolve(src, n) for n in names) if t is not None]
    return edges


def folder_faults(edges):
    rules = [
        ("fcgi-app/proxy/", "fcgi-app/admin/", "proxy/ never needs admin/"),
        ("fcgi-app/admin/", "fcgi-app/proxy/", "admin/ never needs proxy/"),
        ("fcgi-app/ops/", "fcgi-app/admin/", "ops/ needs neither admin/ nor proxy/"),
        ("fcgi-app/ops/", "fcgi-app/proxy/", "ops/ needs neither admin/ nor proxy/"),
    ]
    faults = []
    for src, targets in sorted(edges.items()):
        for t in targets:
            for a, b, why in rules:
                if src.startswith(a) and t.startswith(b):
                    faults.append("%s includes %s: %s" % (src, t, why))
            if src.startswith("fcgi-app/core/") and not t.startswith("fcgi-app/core/"):
                faults.append("%s includes %s: core/ stays below the application" % (src, t))
    return faults


def cycles(graph):
    """The strongly connected components with more than one node (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def header_faults(edges):
    graph = {s: {t for t in ts if t.endswith(".h")} for s, ts in edges.items() if s.endswith(".h")}
    return ["headers include each other: " + " <-> ".join(c) for c in cycles(graph)]


def symbols(obj):
    text = subprocess.run(["nm", "-g", obj], capture_output=True, text=True, check=True).stdout
    defined, used = set(), set()
    for line in text.splitlines():
        p = line.split()
        if len(p) == 2 and p[0] == "U":
            used.add(p[1])
        elif len(p) == 3 and p[1] in "TDBRCV":
            defined.add(p[2])
    return defined, used


def call_faults(objdir):
    base = os.path.join(objdir, "fcgi-app")
    objs = {}
    for d, _, files in os.walk(base):
        for f in files:
            if f.endswith(".o"):
                path = os.path.join(d, f)
                name = os.path.relpath(path, base)[:-2]
                # An object left by a source that is gone is not the tree.
                if os.path.exists(os.path.join(ROOT, "fcgi-app", name + ".c")):
                    objs[name] = symbols(path)
    if not objs:
        return ["no object files under %s: build first" % base]
    owner = {s: name for name, (defined, _) in objs.items() for s in defined}
    graph = {name: set() for name in objs}
    for name, (_, used) in objs.items():
        for s in used:
            t = owner.get(s)
            if t is not None and t != name and (name, t, s) not in ALLOWED:
                graph[name].add(t)
    faults = []
    for comp in cycles(graph):
        faults.append("files call each other: " + shortest_cycle(comp, graph, objs, owner))
    return faults


def shortest_cycle(comp, graph, objs, owner):
    """One shortest cycle through the first file of comp, with a symbol
    for each step: enough to see where to cut."""
    start = comp[0]
    prev, queue = {start: None}, [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(graph[v]):
            if w == start:
                path = [v]
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]])
                path.reverse()
                path.append(start)
                steps = []
                for a, b in zip(path, path[1:]):
                    sym = min(s for s in objs[a][1]
                              if owner.get(s) == b and (a, b, s) not in ALLOWED)
                    steps.append("%s calls %s's %s" % (a, b, sym))
                return "; ".join(steps)
            if w in comp and w not in prev:
                prev[w] = v
                queue.append(w)
    return ", ".join(comp)


def main(argv):
    edges = includes()
    faults = folder_faults(edges) + header_faults(edges)
    if "--objects" in argv:
        faults += call_faults(argv[argv.index("--objects") + 1])
    for f in faults:
        print("layout: " + f)
    if faults:
        return 1
    print("layout: ok (%d files; folders, headers%s)" %
          (len(edges), " and calls" if "--objects" in argv else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
