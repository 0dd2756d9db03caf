#!/usr/bin/env python3
"""Writes N Yelp-shaped review lines: the public sample's reviews repeated
with new, unique review ids, so an import of the file inserts every line.

    python3 bench/make_yelp.py ../shared/data/reviews/yelp_review.sample.jsonl 1000000 > /tmp/yelp1m.jsonl
"""
import json
import sys

sample, count = sys.argv[1], int(sys.argv[2])
with open(sample, encoding="utf-8") as f:
    reviews = [json.loads(line) for line in f if line.strip()]
out = sys.stdout
for i in range(count):
    review = dict(reviews[i % len(reviews)])
    review["review_id"] = f"bench{i:010d}"
    out.write(json.dumps(review, ensure_ascii=False))
    out.write("\n")
