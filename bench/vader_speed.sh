#!/usr/bin/env bash
# Issue 4's speed target: the VADER-compatible scorer against PyPI's
# vaderSentiment 3.3.2, side by side in one run on the same 14,805 texts.
#
#   bash bench/vader_speed.sh
#
# Installs vaderSentiment from PyPI if it is missing. Needs ../shared/data.
set -euo pipefail
cd "$(dirname "$0")/.."
data=../shared/data/sentiment-en
[ -d "$data" ] || { echo "skipping: $data is absent"; exit 0; }
python3 -c "import vaderSentiment" 2>/dev/null || pip install --quiet vadersentiment==3.3.2
cargo build --release -q -p vouch-text --example vader_speed
python=$(python3 bench/vader_speed.py "$data" | awk '{print $3}')
rust=$(target/release/examples/vader_speed 20 2>/dev/null)
echo "python vaderSentiment, one core: $python texts/s"
echo "$rust" | sed 's/^rust /vouch-text /'
one=$(echo "$rust" | awk '/one_core/ {print $3}')
all=$(echo "$rust" | awk '/all_cores/ {print $3}')
echo "ratio per core: $(python3 -c "print(f'{$one / $python:.1f}x')"); all cores: $(python3 -c "print(f'{$all / $python:.1f}x')")"
