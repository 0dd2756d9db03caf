#!/usr/bin/env bash
# Server speed over about a million survey answers (docs/PERFORMANCE.md):
#   1. the dashboard page, one client at a time (its server time);
#   2. GET /api/v1/metrics/nps?by=month under 50 concurrent clients (p99).
# Needs wrk (Debian: apt-get install wrk), curl and sqlite3.
# Usage: bash bench/serve_speed.sh [DB] [CUSTOMERS]   (600,000 demo customers ≈ 1M answers)
set -euo pipefail
cd "$(dirname "$0")/.."
DB=${1:-/tmp/vouch-serve-bench.db}
CUSTOMERS=${2:-600000}
ADDR=127.0.0.1:18080
cargo build --release -q -p vouch-cli
V=target/release/vouch
if [ ! -f "$DB" ]; then
    "$V" --db "$DB" demo --customers "$CUSTOMERS"
fi
echo "answers in the database: $(sqlite3 "$DB" 'SELECT COUNT(*) FROM responses')"
TOKEN=$("$V" --db "$DB" token create --name "bench-$$" --role analyst 2>/dev/null)
echo "bench password 1" | "$V" --db "$DB" user add "bench-$$@example.com" --role viewer --password-stdin >/dev/null

VOUCH_LOG=warn "$V" --db "$DB" serve --addr "$ADDR" > /dev/null &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
until curl -sf "http://$ADDR/readyz" > /dev/null; do sleep 0.2; done

# Sign in as a browser would: the form's CSRF cookie and field, then the session cookie.
jar=$(mktemp)
csrf=$(curl -s -c "$jar" "http://$ADDR/login" | sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p')
curl -s -b "$jar" -c "$jar" -o /dev/null \
    --data-urlencode "email=bench-$$@example.com" --data-urlencode "password=bench password 1" \
    --data-urlencode "csrf=$csrf" "http://$ADDR/login"
session=$(awk '$6 == "vouch_session" { print $7 }' "$jar")

echo "== dashboard, one client (first request warms the caches)"
curl -s -o /dev/null -w "first request: %{time_total} s\n" -H "Cookie: vouch_session=$session" "http://$ADDR/"
wrk -t1 -c1 -d15s --latency -H "Cookie: vouch_session=$session" "http://$ADDR/"

echo "== GET /api/v1/metrics/nps?by=month, 50 clients"
wrk -t2 -c50 -d30s --latency -H "Authorization: Bearer $TOKEN" "http://$ADDR/api/v1/metrics/nps?by=month"
