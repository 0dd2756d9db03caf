"""Times PyPI's vaderSentiment 3.3.2 on the 14,805 texts of
../shared/data/sentiment-en, one core. Run by bench/vader_speed.sh."""
import pathlib
import sys
import time

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

data = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/sentiment-en")
texts = []
for name in ["tweets_GroundTruth.txt", "movieReviewSnippets_GroundTruth.txt"]:
    for line in (data / name).read_text(encoding="utf-8").split("\n"):
        line = line.rstrip("\r")
        if line:
            texts.append(line.split("\t", 2)[2])
analyzer = SentimentIntensityAnalyzer()
analyzer.polarity_scores(texts[0])
started = time.perf_counter()
for text in texts:
    analyzer.polarity_scores(text)
elapsed = time.perf_counter() - started
print(f"python one_core_texts_per_second {len(texts) / elapsed:.0f}")
