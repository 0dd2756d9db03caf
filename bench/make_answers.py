#!/usr/bin/env python3
"""Writes an N-answer survey export for the answer-import benchmark: the
shape the issue names (email, score, time), N answers from N/10 distinct
customers, times spread over two years in file order, scores 0-10 skewed
the way NPS answers are. Seeded, so the same command writes the same file.

    python3 bench/make_answers.py 10000000 > /tmp/answers10m.csv
"""
import random
import sys
from datetime import datetime, timedelta, timezone

count = int(sys.argv[1])
customers = max(1, count // 10)
rng = random.Random(7)
start = datetime(2024, 1, 1, tzinfo=timezone.utc)
step = (2 * 365 * 86400) / max(count, 1)
weights = [2, 1, 1, 2, 2, 4, 5, 9, 18, 24, 32]
out = sys.stdout
out.write("email,score,answered_at\n")
scores = rng.choices(range(11), weights=weights, k=min(count, 1_000_000))
for i in range(count):
    when = start + timedelta(seconds=int(i * step))
    out.write(
        f"customer{rng.randrange(customers)}@example.com,{scores[i % len(scores)]},"
        f"{when.strftime('%Y-%m-%dT%H:%M:%SZ')}\n"
    )
