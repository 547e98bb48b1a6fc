#!/usr/bin/env python3
"""Recompute trueup's history chain from a SQLite history file, without trueup.

usage: verify_chain.py HISTORY.db

Prints "ok RECORDS HEAD_SEQ HEAD_HASH" and exits 0, or prints
"broken SEQ REASON" and exits 1. See reconciler/history/doc.go for the
canonical encoding. It trusts the first stored record's prev_hash (after
retention, the checkpoint's through_hash names it).
"""
import datetime
import hashlib
import json
import sqlite3
import sys


def s(v):
    return json.dumps(v, ensure_ascii=False)


def rfc3339nano(ns):
    sec, frac = divmod(ns, 10**9)
    t = datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=sec)
    out = t.strftime("%Y-%m-%dT%H:%M:%S")
    if frac:
        out += "." + ("%09d" % frac).rstrip("0")
    return out + "Z"


def canonical(r):
    return (
        '{"actor":' + s(r["actor"])
        + ',"data":' + (r["data"] if r["data"] else "null")
        + ',"message":' + s(r["message"])
        + ',"object":' + s(r["object"])
        + ',"outcome":' + s(r["outcome"])
        + ',"prev_hash":' + s(r["prev_hash"])
        + ',"revision":' + s(r["revision"])
        + ',"seq":' + str(r["seq"])
        + ',"target":' + s(r["target"])
        + ',"time":' + s(rfc3339nano(r["time_ns"]))
        + ',"type":' + s(r["type"])
        + ',"v":1}'
    ).encode("utf-8")


def main(path):
    db = sqlite3.connect("file:" + path + "?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    prev_seq, prev_hash, n = None, None, 0
    for r in db.execute("SELECT * FROM history_records ORDER BY seq"):
        if prev_seq is not None and r["seq"] != prev_seq + 1:
            print("broken", prev_seq + 1, "missing")
            return 1
        if prev_hash is not None and r["prev_hash"] != prev_hash:
            print("broken", r["seq"], "prev_hash")
            return 1
        if hashlib.sha256(canonical(r)).hexdigest() != r["hash"]:
            print("broken", r["seq"], "hash")
            return 1
        prev_seq, prev_hash, n = r["seq"], r["hash"], n + 1
    print("ok", n, prev_seq or 0, prev_hash or "")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
