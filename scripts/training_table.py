#!/usr/bin/env python3
"""Prints a model's training record (config.json's `training`) as a Markdown table, for model cards.

usage: scripts/training_table.py models/NAME/config.json
"""
import json, sys

config = json.load(open(sys.argv[1]))
record = config.get("training")
if not record:
    sys.exit(f"{sys.argv[1]}: no training record")
print("| epoch | train loss | valid perplexity | learning rate | seconds | tokens/s |")
print("| ---: | ---: | ---: | ---: | ---: | ---: |")
for e in record["history"]:
    print(f"| {e['epoch']} | {e['trainLoss']:.3f} | {e['validPerplexity']:.2f} | {e['learningRate']:g} | "
          f"{e['seconds']:.0f} | {e['tokensPerSecond']:.0f} |")
print()
print(f"Best validation perplexity {record['bestValidPerplexity']:.2f} after {record['epochs']} epochs; "
      f"{record['wallSeconds'] / 60:.1f} minutes of training at {record['tokensPerSecond']:.0f} tokens/s on average.")
