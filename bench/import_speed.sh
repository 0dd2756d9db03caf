#!/usr/bin/env bash
# Import speed, end to end (read, parse, language, sentiment, topics, insert
# into SQLite), against the straightforward Python pipeline on the same file.
#   bash bench/import_speed.sh [ROWS] [PYTHON_ROWS] [--varied]
# --varied: random review ids and every text new (see bench/make_yelp.py).
# Needs ../shared/data/reviews and, for the comparison, `pip install vaderSentiment`.
set -euo pipefail
rows=${1:-1000000}
python_rows=${2:-20000}
variety=${3:-}
here=$(cd "$(dirname "$0")/.." && pwd)
sample="$here/../shared/data/reviews/yelp_review.sample.jsonl"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 "$here/bench/make_yelp.py" "$sample" "$rows" $variety > "$work/yelp.jsonl"
ls -l "$work/yelp.jsonl"
cargo build --release --quiet --manifest-path "$here/Cargo.toml"
vouch="$here/target/release/vouch"
/usr/bin/time -f "peak RSS %M KB" "$vouch" --db "$work/vouch.db" import "$work/yelp.jsonl"
echo "the inbox's search index, filled after the import (vouch serve does it in the background):"
/usr/bin/time -f "peak RSS %M KB, %e s" "$vouch" --db "$work/vouch.db" text index
echo "re-import (nothing new):"
/usr/bin/time -f "peak RSS %M KB" "$vouch" --db "$work/vouch.db" import "$work/yelp.jsonl"
python3 "$here/bench/python_pipeline.py" "$work/yelp.jsonl" "$python_rows"
