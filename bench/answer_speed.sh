#!/usr/bin/env bash
# Survey answers through the hosted page, POST /s/{token}, on SQLite
# (docs/PERFORMANCE.md): 50 clients for 30 s, each request a different
# invitation; then count that every answer was stored exactly once.
# Needs wrk and sqlite3. Usage: bash bench/answer_speed.sh [INVITATIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${1:-200000}
DB=$(mktemp -d)/answers.db
ADDR=127.0.0.1:18081
cargo build --release -q -p vouch-cli
V=target/release/vouch
export TOKENS=$(mktemp)
"$V" --db "$DB" bench invitations --count "$COUNT" --tokens "$TOKENS"
VOUCH_LOG=warn VOUCH_JOB_WORKERS=0 "$V" --db "$DB" serve --addr "$ADDR" > /dev/null &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
until curl -sf "http://$ADDR/readyz" > /dev/null; do sleep 0.2; done
THREADS=2 wrk -t2 -c50 -d30s --latency -s bench/answer.lua "http://$ADDR" | tee /tmp/answer_wrk.txt
kill $SERVER; wait $SERVER 2>/dev/null || true
sent=$(awk '/requests in/ { print $1 }' /tmp/answer_wrk.txt)
failed=$(awk '/Non-2xx/ { print $5 }' /tmp/answer_wrk.txt); failed=${failed:-0}
stored=$(sqlite3 "$DB" "SELECT COUNT(*) FROM responses WHERE channel = 'email'")
linked=$(sqlite3 "$DB" "SELECT COUNT(*) FROM invitations WHERE response_id IS NOT NULL")
echo "answers sent: $sent, refused: $failed, stored: $stored, invitations answered: $linked"
# Each request used its own token, so stored answers = answered invitations
# (no doubles) and = completed requests (none lost), give or take the up to
# 50 requests in flight when wrk stopped counting.
if [ "$stored" -ne "$linked" ] || [ "$stored" -lt $((sent - failed)) ] || [ "$stored" -gt $((sent - failed + 50)) ]; then
    echo "MISMATCH: every answer must be stored exactly once" >&2
    exit 1
fi
echo "every answer stored exactly once"
