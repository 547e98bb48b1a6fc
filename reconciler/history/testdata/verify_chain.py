#!/usr/bin/env python3
"""Recompute trueup's history chain from a SQLite history file, without trueup.

usage: verify_chain.py HISTORY.db

Prints "ok RECORDS HEAD_SEQ HEAD_HASH" and exits 0, or prints
"broken SEQ REASON" and exits 1. See reconciler/history/doc.go for the
storage and the canonical encoding: each segment's body holds one line per
record, "HASH CANONICAL". It trusts the first stored record's prev_hash
(after retention, the checkpoint's through_hash names it).
"""
import hashlib
import json
import sqlite3
import sys


def s(v):
    return json.dumps(v, ensure_ascii=False)


def canonical(r, data):
    return (
        '{"actor":' + s(r["actor"])
        + ',"data":' + data
        + ',"message":' + s(r["message"])
        + ',"object":' + s(r["object"])
        + ',"outcome":' + s(r["outcome"])
        + ',"prev_hash":' + s(r["prev_hash"])
        + ',"revision":' + s(r["revision"])
        + ',"seq":' + str(r["seq"])
        + ',"target":' + s(r["target"])
        + ',"time":' + s(r["time"])
        + ',"type":' + s(r["type"])
        + ',"v":1}'
    )


def main(path):
    db = sqlite3.connect("file:" + path + "?mode=ro", uri=True)
    query = "SELECT first_seq, last_seq, head_hash, body FROM history_segments ORDER BY first_seq"
    prev_seq, prev_hash, n = None, None, 0
    for first, last, head_hash, body in db.execute(query):
        seqs = []
        for line in body.rstrip("\n").split("\n"):
            expect = first if prev_seq is None else prev_seq + 1
            try:
                h, c = line.split(" ", 1)
                r = json.loads(c)
                # data is the text between the actor and the last "message"
                # member: it stays byte for byte what was hashed.
                data = c[len('{"actor":' + s(r["actor"]) + ',"data":'):c.rindex(',"message":')]
            except (ValueError, KeyError, TypeError):
                print("broken", expect, "unreadable")
                return 1
            if r["seq"] != expect:
                print("broken", expect, "missing")
                return 1
            if prev_hash is not None and r["prev_hash"] != prev_hash:
                print("broken", r["seq"], "prev_hash")
                return 1
            if canonical(r, data) != c or hashlib.sha256(c.encode("utf-8")).hexdigest() != h:
                print("broken", r["seq"], "hash")
                return 1
            prev_seq, prev_hash, n = r["seq"], h, n + 1
            seqs.append(r["seq"])
        if (seqs[0], seqs[-1], prev_hash) != (first, last, head_hash):
            print("broken", seqs[0], "segment")
            return 1
    print("ok", n, prev_seq or 0, prev_hash or "")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
