"""Score, ScoreStream, Ingest and Subscribe against a running host; prints one JSON object.

usage: python3 quickstart.py HOST:PORT API_KEY PIPELINE [ARROW_IPC_FILE]
The pipeline reads columns device, temperature, vibration, pressure (grpc source, a model stage).
"""
import json
import os
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from streamml_client import StreamMlClient, StreamMlError  # noqa: E402

address, key, pipeline = sys.argv[1:4]
rows = [
    {"device": "d1", "temperature": 61.5, "vibration": 0.9, "pressure": 99.0},
    {"device": "d2", "temperature": 79.0, "vibration": 2.2, "pressure": 101.0},
]
out = {}
with StreamMlClient(address, api_key=key) as client:
    out["score"] = client.score(pipeline, rows, request_id="py-1")
    out["describe"] = client.describe_model(pipeline)
    out["score_primary"] = client.score(pipeline, rows[:1], model_version="primary")
    out["score_stream"] = [scores[0]["score"] for _, scores in client.score_stream(pipeline, [rows[:1], rows[1:]])]

    # Subscribe on its own thread, then ingest until the subscriber has seen scored rows (the subscription reaches
    # the host asynchronously, so the first batch may pass before it does).
    seen = []
    done = threading.Event()
    subscription = client.subscribe(pipeline, rows=True, columns=["device", "score"])

    # The subscription may start between two messages of one ingest: the rows of interest are the first whole round.
    def first_round():
        starts = [i for i, row in enumerate(seen) if row.get("device") == "d1"]
        return seen[starts[0]:] if starts else []

    def listen():
        for event in subscription:
            seen.extend(event.get("rows", []))
            if len(first_round()) >= 3:
                done.set()
                return
    threading.Thread(target=listen, daemon=True).start()
    batches = [rows + [{"device": "d3", "temperature": 70.0, "vibration": 1.1, "pressure": 100.0}]]
    if len(sys.argv) > 4:
        with open(sys.argv[4], "rb") as f:
            batches.append(f.read())  # Arrow IPC bytes made elsewhere (Node's apache-arrow in the tests)
    out["ingest"] = []
    for attempt in range(20):
        out["ingest"].append(client.ingest(pipeline, batches))
        if done.wait(1):
            break
    subscription.cancel()
    out["subscribed"] = first_round()[:3]
    # Acknowledged ingest with an idempotency key: a retry that resends everything adds no rows.
    producer = f"quickstart-{os.getpid()}"
    out["acked"] = list(client.ingest_acked(pipeline, [rows[:1], rows[1:]], producer=producer))
    out["acked_retry"] = list(client.ingest_acked(pipeline, [rows[:1], rows[1:]], producer=producer))
    try:
        client.score(pipeline, [{"device": "d1", "temperature": "hot"}])
    except StreamMlError as error:
        out["error"] = {"code": error.code, "details": error.details}
print(json.dumps(out))
