#!/usr/bin/env bash
# Staff pages over a million-item demo (docs/PERFORMANCE.md, issue 20):
# every page's server time at the 95th percentile, one client, and the
# inbox's full-text search (page and API).
# Needs curl and sqlite3. Usage:
#   bash bench/pages_speed.sh [DB] [CUSTOMERS] [REQUESTS]
# (1,000,000 demo customers ≈ 1.7M answers and 1.3M feedback items.)
set -euo pipefail
cd "$(dirname "$0")/.."
DB=${1:-/tmp/vouch-pages-bench.db}
CUSTOMERS=${2:-1000000}
N=${3:-40}
ADDR=127.0.0.1:18081
cargo build --release -q -p vouch-cli
V=target/release/vouch
if [ ! -f "$DB" ]; then
    /usr/bin/time -f "demo: %e s, peak %M KB" "$V" --db "$DB" demo --customers "$CUSTOMERS"
fi
echo "feedback items: $(sqlite3 "$DB" 'SELECT COUNT(*) FROM feedback_items'), answers: $(sqlite3 "$DB" 'SELECT COUNT(*) FROM responses'), customers: $(sqlite3 "$DB" 'SELECT COUNT(*) FROM customers')"
EMAIL="bench-$$@example.com"
echo "bench password 1" | "$V" --db "$DB" user add "$EMAIL" --role admin --password-stdin >/dev/null
TOKEN=$("$V" --db "$DB" token create --name "bench-$$" --role analyst 2>/dev/null)

VOUCH_LOG=warn "$V" --db "$DB" serve --addr "$ADDR" > /dev/null &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
until curl -sf "http://$ADDR/readyz" > /dev/null; do sleep 0.2; done
jar=$(mktemp)
csrf=$(curl -s -c "$jar" "http://$ADDR/login" | sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p')
curl -s -b "$jar" -c "$jar" -o /dev/null \
    --data-urlencode "email=$EMAIL" --data-urlencode "password=bench password 1" \
    --data-urlencode "csrf=$csrf" "http://$ADDR/login"
session=$(awk '$6 == "vouch_session" { print $7 }' "$jar")
customer=$(sqlite3 "$DB" 'SELECT id FROM customers ORDER BY id DESC LIMIT 1')
item=$(sqlite3 "$DB" 'SELECT id FROM feedback_items ORDER BY id DESC LIMIT 1')
survey=$(sqlite3 "$DB" 'SELECT id FROM surveys ORDER BY id LIMIT 1')

# p50, p95 and max of N sequential requests (after one to warm up), in ms.
measure() {
    local label=$1 path=$2 header=$3
    curl -s -o /dev/null -H "$header" "http://$ADDR$path"
    for _ in $(seq "$N"); do
        curl -s -o /dev/null -w "%{http_code} %{time_total}\n" -H "$header" "http://$ADDR$path"
    done | awk -v label="$label" '
        $1 != 200 { bad++ }
        { t[NR] = $2 * 1000 }
        END {
            n = asort(t)
            printf "| %s | %.1f | %.1f | %.1f |%s\n", label, t[int(n * 0.5)], t[int(n * 0.95)], t[n], (bad ? " NOT 200: " bad : "")
        }'
}
page() { measure "$1" "$2" "Cookie: vouch_session=$session"; }
api() { measure "$1" "$2" "Authorization: Bearer $TOKEN"; }

echo "| page | p50 ms | p95 ms | max ms |"
echo "|---|---|---|---|"
page "dashboard (90 days)" "/"
page "dashboard (365 days)" "/?period=365d"
page "dashboard, filtered by channel" "/?period=90d&channel=email"
page "inbox" "/feedback"
page "inbox, negative and not handled" "/feedback?sentiment=negative&handled=false"
page "inbox search: factura" "/feedback?q=factura"
page "inbox search: delivery late" "/feedback?q=delivery+late"
page "inbox search: a rare word" "/feedback?q=nightmare"
api "API search: factura" "/api/v1/feedback?q=factura"
page "feedback item" "/feedback/$item"
page "customers" "/customers"
page "customers search" "/customers?q=ana"
page "customer profile" "/customers/$customer"
page "surveys" "/surveys"
page "survey results" "/surveys/$survey/results"
page "tasks" "/tasks"
page "playbooks" "/playbooks"
page "program" "/program"
page "settings: webhooks" "/settings/webhooks"
