#!/usr/bin/env python3
"""Writes one Trustpilot API page as a single JSON document of N reviews
(`{"links": [...], "reviews": [...]}`, pretty-printed as the API's own
examples are), with the public Yelp sample's texts, for the streamed
document import benchmark:

    python3 bench/make_trustpilot_document.py ../shared/data/reviews/yelp_review.sample.jsonl 3000000 > /tmp/trustpilot.json

Seeded: the same command writes the same file.
"""
import json
import random
import sys

sample, count = sys.argv[1], int(sys.argv[2])
with open(sample, encoding="utf-8") as f:
    reviews = [json.loads(line) for line in f if line.strip()]
rng = random.Random(20261207)
out = sys.stdout
out.write('{\n  "links": [{"href": "https://api.trustpilot.com/v1/business-units/x/reviews?page=2", "method": "GET", "rel": "next-page"}],\n  "reviews": [\n')
for i in range(count):
    r = reviews[i % len(reviews)]
    item = {
        "links": [],
        "id": "%024x" % (i * 2654435761 % (1 << 96)),
        "consumer": {"links": [], "id": "%024x" % rng.getrandbits(96), "displayName": "Customer %d" % rng.randrange(200000), "numberOfReviews": 1},
        "businessUnit": {"links": [], "id": "507f191e810c19729de860ea"},
        "stars": int(r["stars"]),
        "title": r["text"][:40],
        "text": r["text"],
        "language": "en",
        "createdAt": "2024-%02d-%02dT%02d:%02d:00Z" % (1 + i % 12, 1 + i % 28, i % 24, i % 60),
        "isVerified": True,
        "status": "active",
    }
    if i:
        out.write(",\n")
    out.write("    " + json.dumps(item, ensure_ascii=False))
out.write('\n  ]\n}\n')
