"""Scores image files with an image model over gRPC Score; prints one JSON list (one entry per file).

usage: python3 score_images.py HOST:PORT API_KEY|- PIPELINE IMAGE...
The pipeline reads a binary column `image` (grpc source `columns: { image: binary }`, `model: { kind: image, input: image }`).
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from streamml_client import StreamMlClient  # noqa: E402

address, key, pipeline, *files = sys.argv[1:]
rows = []
for name in files:
    with open(name, "rb") as f:
        rows.append({"image": f.read()})
with StreamMlClient(address, api_key=None if key == "-" else key) as client:
    scores = client.score(pipeline, rows)
print(json.dumps([{"file": os.path.basename(name), "rejected": s["rejected"], "reason": s["reason"], "label": s["label"],
                   "model": s["model"], "top_classes": s["top_classes"]} for name, s in zip(files, scores)]))
