#!/usr/bin/env python3
"""The straightforward Python pipeline the import is compared with: read
JSON lines, score each text with vaderSentiment, insert into SQLite in one
transaction. Prints items per second.

    python3 bench/python_pipeline.py /tmp/yelp1m.jsonl 20000
"""
import json
import os
import sqlite3
import sys
import tempfile
import time

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

path, limit = sys.argv[1], int(sys.argv[2])
analyzer = SentimentIntensityAnalyzer()
db_path = os.path.join(tempfile.mkdtemp(), "python.db")
db = sqlite3.connect(db_path)
db.execute("PRAGMA journal_mode=WAL")
db.execute(
    "CREATE TABLE feedback (source TEXT, source_id TEXT, body TEXT, rating REAL,"
    " posted_at TEXT, sentiment REAL, UNIQUE (source, source_id))"
)
started = time.perf_counter()
rows = []
with open(path, encoding="utf-8") as f:
    for n, line in enumerate(f):
        if n >= limit:
            break
        review = json.loads(line)
        score = analyzer.polarity_scores(review["text"])["compound"]
        rows.append(("yelp", review["review_id"], review["text"], review["stars"], review["date"], score))
with db:
    db.executemany("INSERT OR IGNORE INTO feedback VALUES (?, ?, ?, ?, ?, ?)", rows)
seconds = time.perf_counter() - started
print(f"python: {len(rows)} items in {seconds:.1f} s ({len(rows) / seconds:.0f} items/s)")
