#!/usr/bin/env bash
# Survey-answer imports, end to end (issue 21): a CSV of ROWS answers
# (email, score, time; ROWS/10 distinct customers, made by
# bench/make_answers.py) imported into a fresh SQLite file as an NPS survey,
# with its rate and peak memory; run it at 1M and at 10M rows to see
# whether the rate holds as the file grows.
#   bash bench/answer_import_speed.sh [ROWS]
set -euo pipefail
rows=${1:-10000000}
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 "$here/bench/make_answers.py" "$rows" > "$work/answers.csv"
ls -l "$work/answers.csv"
cargo build --release --quiet --manifest-path "$here/Cargo.toml" -p vouch-cli
vouch="$here/target/release/vouch"
/usr/bin/time -f "peak RSS %M KB, %e s" "$vouch" --db "$work/vouch.db" import "$work/answers.csv" --survey "NPS bench" --kind nps
echo "re-import (nothing new):"
/usr/bin/time -f "peak RSS %M KB, %e s" "$vouch" --db "$work/vouch.db" import "$work/answers.csv" --survey "NPS bench" --kind nps
