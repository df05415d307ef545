#!/usr/bin/env python3
"""Loads JSON lines {"path": collection, "object": {...}} (from the cluster-objects example)
into a real kube-apiserver as cluster admin: each namespace first gets its `default`
ServiceAccount (no controller-manager runs to create it, and pod admission needs it), each
object is POSTed, and its status, when it has one, is applied as a merge patch on the
`/status` subresource (a create resets status). A few connections in parallel, kept alive.

usage: load_objects.py API_URL CA_CERT CLIENT_CERT CLIENT_KEY < objects.jsonl
Prints one summary line; exits 1 when any object was refused (with the first refusals)."""
import http.client
import json
import ssl
import sys
import threading
import urllib.parse

api, ca, cert, key = sys.argv[1:5]
url = urllib.parse.urlparse(api)
ctx = ssl.create_default_context(cafile=ca)
ctx.load_cert_chain(cert, key)
lines = [json.loads(l) for l in sys.stdin if l.strip()]

local = threading.local()


def request(method, path, body, ctype="application/json"):
    for attempt in range(3):
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = http.client.HTTPSConnection(url.hostname, url.port, context=ctx, timeout=60)
        try:
            conn.request(method, path, json.dumps(body), {"Content-Type": ctype})
            resp = conn.getresponse()
            return resp.status, resp.read()
        except (http.client.HTTPException, OSError):
            conn.close()
            local.conn = None
            if attempt == 2:
                raise


errors = []
counts = {"created": 0, "existed": 0, "status": 0}
lock = threading.Lock()


def load(item):
    path, obj = item["path"], item["object"]
    status = obj.pop("status", None)
    code, body = request("POST", path, obj)
    if code == 422 and obj.get("kind") == "Service":
        # a generated clusterIP outside this server's range: let the server pick one
        for f in ("clusterIP", "clusterIPs"):
            obj["spec"].pop(f, None)
        code, body = request("POST", path, obj)
    with lock:
        if code == 409:
            counts["existed"] += 1
            return
        if code >= 300:
            errors.append(f"POST {path} {obj['metadata'].get('name')}: {code} {body[:300]!r}")
            return
        counts["created"] += 1
    if status:
        name = obj["metadata"]["name"]
        code, body = request("PATCH", f"{path}/{name}/status", {"status": status}, "application/merge-patch+json")
        with lock:
            if code >= 300:
                errors.append(f"PATCH {path}/{name}/status: {code} {body[:300]!r}")
            else:
                counts["status"] += 1


def run(items, workers=6):
    chunks = [items[i::workers] for i in range(workers)]
    threads = [threading.Thread(target=lambda c=c: [load(i) for i in c]) for c in chunks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


namespaces = [l for l in lines if l["object"].get("kind") == "Namespace"]
run(namespaces)
run([{"path": f"/api/v1/namespaces/{n['object']['metadata']['name']}/serviceaccounts",
      "object": {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}}}
     for n in namespaces])
rest = [l for l in lines if l["object"].get("kind") not in ("Namespace", "Pod")]
run(rest)
run([l for l in lines if l["object"].get("kind") == "Pod"])
print(f"loaded: {counts['created']} created, {counts['existed']} already there, "
      f"{counts['status']} statuses, {len(errors)} refused")
for e in errors[:10]:
    print("refused:", e, file=sys.stderr)
sys.exit(1 if errors else 0)
