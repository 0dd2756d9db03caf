#!/usr/bin/env bash
# Issue 4's quality figures, measured on ../shared/data (never shipped):
# VADER parity, language identification, Romanian lexicon accuracy, and the
# model learnt from ratings. Skips cleanly when ../shared/data is absent.
#
#   bash eval/text.sh
#
# The speed comparison with vaderSentiment is bench/vader_speed.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d ../shared/data/sentiment-en ] || [ ! -d ../shared/data/sentiment-ro ]; then
    echo "skipping: ../shared/data is absent"
    exit 0
fi
run() { cargo run --release -q -p vouch-text --example "$@"; }
echo "== VADER parity with vaderSentiment 3.3.2 (compound, 4 decimals)"
run vader_parity | head -1
echo "== language identification"
run language_eval
echo "== Romanian sentiment, lexicon only (LaRoSeDa, all 12,000 reviews)"
run romanian_eval
echo "== Romanian sentiment learnt from ratings (LaRoSeDa, trained on 4/5, validated on 1/5)"
run romanian_model_eval
