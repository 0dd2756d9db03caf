#!/usr/bin/env python3
"""Writes N Yelp-shaped review lines for the import benchmarks.

By default the public sample's reviews are repeated with new, sequential
review ids, so an import of the file inserts every line:

    python3 bench/make_yelp.py ../shared/data/reviews/yelp_review.sample.jsonl 1000000 > /tmp/yelp1m.jsonl

With --varied the file is harder on the importer and closer to a real
export: review ids are random 22-character strings like Yelp's (the
unique index takes them anywhere, not only at its end), every text is new
(the sample's sentences recombined, a review keeping its sentence count),
and authors come from a pool of 200,000 user ids. Seeded, so the same
command writes the same file.
"""
import base64
import json
import random
import re
import sys

args = [a for a in sys.argv[1:] if not a.startswith("--")]
varied = "--varied" in sys.argv[1:]
sample, count = args[0], int(args[1])
with open(sample, encoding="utf-8") as f:
    reviews = [json.loads(line) for line in f if line.strip()]
out = sys.stdout


def yelp_id(rng):
    return base64.urlsafe_b64encode(rng.getrandbits(132).to_bytes(17, "big"))[:22].decode()


if not varied:
    for i in range(count):
        review = dict(reviews[i % len(reviews)])
        review["review_id"] = f"bench{i:010d}"
        out.write(json.dumps(review, ensure_ascii=False))
        out.write("\n")
    sys.exit(0)

rng = random.Random(20261130)
split = re.compile(r"(?<=[.!?])\s+")
sentences_of = [split.split(r["text"].strip()) for r in reviews]
pool = [s for sentences in sentences_of for s in sentences if s]
users = [yelp_id(rng) for _ in range(200_000)]
for i in range(count):
    base = i % len(reviews)
    review = dict(reviews[base])
    review["review_id"] = yelp_id(rng)
    review["user_id"] = rng.choice(users)
    review["text"] = " ".join(rng.choice(pool) for _ in sentences_of[base])
    out.write(json.dumps(review, ensure_ascii=False))
    out.write("\n")
