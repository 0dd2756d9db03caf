#!/usr/bin/env bash
# Issue 3's speed target: `vouch nps --by month --json` over 10 million NPS
# answers in SQLite, against the plain GROUP BY in the sqlite3 shell.
#
#   bash bench/nps_by_month.sh [DB] [RESPONSES]
#
# Generates its own data (anonymous answers, reused on re-runs). Needs the
# sqlite3 shell (Debian: apt-get install sqlite3). Prints what goes into
# docs/PERFORMANCE.md.
set -euo pipefail
cd "$(dirname "$0")/.."
db=${1:-/tmp/vouch-bench-nps.db}
responses=${2:-10000000}

cargo build --release -q -p vouch-cli
vouch=target/release/vouch

echo "== in-process query time (vouch bench nps)"
"$vouch" --db "$db" bench nps --responses "$responses" --runs 30

echo "== the whole command, process start included (5 runs)"
for _ in 1 2 3 4 5; do
    /usr/bin/time -f "%e s" "$vouch" --db "$db" nps --by month --json > /dev/null
done

echo "== plain GROUP BY over the responses table in the sqlite3 shell (3 runs)"
for _ in 1 2 3; do
    printf '%s\n' ".timer on" "SELECT substr(r.answered_at, 1, 7) AS month, SUM(r.score >= 9), SUM(r.score IN (7, 8)), SUM(r.score <= 6), COUNT(*) FROM responses r JOIN surveys s ON s.id = r.survey_id WHERE s.kind = 'nps' GROUP BY month;" |
        sqlite3 "$db" | grep "Run Time"
done
