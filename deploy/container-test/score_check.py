"""Scores readings through a replica's published gRPC port (DataPlane.Score, pipeline 'scoring') and compares each
score with the one the streaming pipeline wrote to PostgreSQL for the same record.

usage: score_check.py HOST:PORT SAMPLE_CSV READINGS_JSONL   (STREAMML_API_KEY: a key with the score role)
SAMPLE_CSV: "seq,score" lines from psql; READINGS_JSONL: the records those seqs were made from.
"""
import json
import os
import sys

from streamml_client import StreamMlClient

address, sample_path, readings_path = sys.argv[1:4]
stored = {}
with open(sample_path) as sample:
    for line in sample:
        seq, score = line.strip().split(",")
        stored[int(seq)] = float(score)
readings = [json.loads(line) for line in open(readings_path)]
readings = [r for r in readings if r["seq"] in stored]
if len(readings) != len(stored):
    sys.exit(f"score_check: {len(stored)} stored rows but {len(readings)} matching readings")
with StreamMlClient(address, api_key=os.environ["STREAMML_API_KEY"]) as client:
    answers = client.score("scoring", readings)
bad = 0
for reading, answer in zip(readings, answers):
    expected = stored[reading["seq"]]
    ok = not answer["rejected"] and abs(answer["score"] - expected) <= 1e-5 * max(1.0, abs(expected))
    bad += not ok
    print(f"seq {reading['seq']}: Score {answer['score']:.6f} ({answer['model']}), PostgreSQL {expected:.6f}{'' if ok else '  MISMATCH'}")
sys.exit(1 if bad else 0)
