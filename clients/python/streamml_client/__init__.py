"""A small StreamMl client over python3-grpcio: Score, ScoreStream, Ingest and Subscribe.

Rows are dicts (column -> value) sent as protobuf rows; a pyarrow Table or RecordBatch (when pyarrow is installed) or
Arrow IPC stream bytes are sent as Arrow IPC. The .proto files are compiled at first use with grpc_tools (Debian:
python3-grpc-tools) from STREAMML_PROTOS or the repository's host/StreamMl.Host/Protos.
"""
import datetime
import importlib
import os
import sys
import tempfile

import grpc

__all__ = ["StreamMlClient", "StreamMlError", "Subscription"]

_HERE = os.path.dirname(os.path.abspath(__file__))
_DEFAULT_PROTOS = os.path.normpath(os.path.join(_HERE, "..", "..", "..", "host", "StreamMl.Host", "Protos"))
_modules = None


def _protos():
    """The generated modules (common, dataplane), compiled once per process."""
    global _modules
    if _modules is None:
        from grpc_tools import protoc
        source = os.environ.get("STREAMML_PROTOS", _DEFAULT_PROTOS)
        out = tempfile.mkdtemp(prefix="streamml-client-")
        files = [os.path.join(source, f) for f in ("common.proto", "dataplane.proto")]
        well_known = os.path.join(os.path.dirname(protoc.__file__), "_proto")  # google/protobuf/*.proto
        if protoc.main(["protoc", f"-I{source}", f"-I{well_known}", f"--python_out={out}", f"--grpc_python_out={out}", *files]) != 0:
            raise StreamMlError(f"could not compile the StreamMl .proto files in {source}; set STREAMML_PROTOS")
        sys.path.insert(0, out)
        _modules = (importlib.import_module("common_pb2"), importlib.import_module("dataplane_pb2"),
                    importlib.import_module("dataplane_pb2_grpc"))
    return _modules


class StreamMlError(Exception):
    """A call the host refused: ``code`` is the gRPC status name, ``details`` the host's message."""

    def __init__(self, message, code=None):
        super().__init__(message)
        self.code = code
        self.details = message


def _value(common, v):
    if v is None:
        return common.Value()
    if isinstance(v, bool):
        return common.Value(flag=v)
    if isinstance(v, (bytes, bytearray, memoryview)):
        return common.Value(data=bytes(v))
    if isinstance(v, int):
        return common.Value(integer=v)
    if isinstance(v, float):
        return common.Value(number=v)
    if isinstance(v, datetime.datetime):
        if v.tzinfo is None:
            v = v.replace(tzinfo=datetime.timezone.utc)
        return common.Value(timestamp_micros=int(v.timestamp() * 1_000_000))
    return common.Value(text=str(v))


def _python(value):
    kind = value.WhichOneof("kind")
    return None if kind is None else getattr(value, kind)


def _row_set(common, rows):
    columns = []
    for row in rows:
        for name in row:
            if name not in columns:
                columns.append(name)
    return common.RowSet(columns=columns, rows=[common.Row(values=[_value(common, r.get(c)) for c in columns]) for r in rows])


def _arrow_bytes(data):
    """Arrow IPC stream bytes for bytes, a pyarrow Table or RecordBatch; None for rows."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    try:
        import pyarrow as pa
    except ImportError:
        return None
    if isinstance(data, (pa.Table, pa.RecordBatch)):
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, data.schema) as writer:
            writer.write(data)
        return sink.getvalue().to_pybytes()
    return None


def _rows(row_set):
    return [dict(zip(row_set.columns, (_python(v) for v in row.values))) for row in row_set.rows]


class StreamMlClient:
    """Calls a StreamMl host's DataPlane service. ``api_key`` is sent as ``authorization: Bearer KEY``."""

    def __init__(self, address="127.0.0.1:50051", api_key=None, channel=None):
        self._common, self._dataplane, rpc = _protos()
        self._channel = channel or grpc.insecure_channel(address)
        self._stub = rpc.DataPlaneStub(self._channel)
        self._metadata = [("authorization", f"Bearer {api_key}")] if api_key else None

    def close(self):
        self._channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.close()

    def _request(self, message_type, pipeline, data, **fields):
        arrow = _arrow_bytes(data)
        if arrow is not None:
            return message_type(pipeline=pipeline, arrow_ipc=arrow, **fields)
        return message_type(pipeline=pipeline, rows=_row_set(self._common, data), **fields)

    @staticmethod
    def _scores(response):
        return [{"row": s.row, "score": s.score, "label": s.label, "probabilities": list(s.probabilities), "model": s.model,
                 "model_name": s.model_name, "model_version": s.model_version, "variant": s.variant,
                 "rejected": s.rejected, "reason": s.reason,
                 "top_classes": [(c.label, c.probability) for c in s.top_classes]} for s in response.scores]

    def _call(self, fn, *args, **kwargs):
        try:
            return fn(*args, metadata=self._metadata, **kwargs)
        except grpc.RpcError as error:
            raise StreamMlError(error.details(), error.code().name) from None

    def score(self, pipeline, data, request_id="", model_version=""):
        """Scores rows (list of dicts) or an Arrow table; returns one dict per row: row, score, label and probabilities
        (classifiers: one per class, in the order of describe_model's classes), model (name@version), model_name,
        model_version, variant (primary, candidate, ...), rejected, reason, top_classes (an image model's (class,
        probability) pairs, most probable first; send an image as bytes: ``{"image": open("a.jpg", "rb").read()}``).
        ``model_version`` picks who answers:
        "" as deployed, "primary", "candidate" or a deployed version ("3")."""
        request = self._request(self._dataplane.ScoreRequest, pipeline, data, request_id=request_id, model_version=model_version)
        return self._scores(self._call(self._stub.Score, request))

    def describe_model(self, pipeline, model_version=""):
        """What Score takes and answers: {"inputs": [{name, type, required}], "outputs": [names], "models": [{name,
        version, variant, traffic, kind, task, classes, threshold}], "max_score_rows"}."""
        d = self._call(self._stub.DescribeModel, self._dataplane.DescribeModelRequest(pipeline=pipeline, model_version=model_version))
        return {"inputs": [{"name": c.name, "type": c.type, "required": c.required} for c in d.inputs],
                "outputs": [c.name for c in d.outputs],
                "models": [{"name": m.name, "version": m.version, "variant": m.variant, "traffic": m.traffic, "kind": m.kind,
                            "task": m.task, "classes": list(m.classes), "threshold": m.threshold} for m in d.models],
                "max_score_rows": d.max_score_rows}

    def score_stream(self, pipeline, batches):
        """Scores each batch on one stream; yields (request_id, scores) in order."""
        requests = (self._request(self._dataplane.ScoreRequest, pipeline if i == 0 else "", b, request_id=str(i)) for i, b in enumerate(batches))
        try:
            for response in self._stub.ScoreStream(requests, metadata=self._metadata):
                yield response.request_id, self._scores(response)
        except grpc.RpcError as error:
            raise StreamMlError(error.details(), error.code().name) from None

    def ingest(self, pipeline, batches):
        """Streams batches (lists of row dicts, Arrow tables or Arrow IPC bytes) into a pipeline whose source is grpc;
        returns {"rows_accepted", "messages"}."""
        requests = (self._request(self._dataplane.IngestRequest, pipeline if i == 0 else "", b) for i, b in enumerate(batches))
        response = self._call(self._stub.Ingest, requests)
        return {"rows_accepted": response.rows_accepted, "messages": response.messages}

    def ingest_acked(self, pipeline, batches, producer="", first_sequence=1):
        """Like ``ingest``, with one acknowledgement per message as soon as its rows are queued. With a ``producer``,
        message i carries sequence ``first_sequence + i``: resending after a failure is safe, the host acknowledges
        messages it already accepted as duplicates and drops them. Yields dicts (sequence, rows, duplicate,
        rows_accepted, messages, accepted_through, committed_through: with a checkpoint on the source, the sequence
        up to which rows survive a host restart)."""
        def requests():
            for i, batch in enumerate(batches):
                sequence = first_sequence + i if producer else 0
                yield self._request(self._dataplane.IngestRequest, pipeline, batch, producer=producer, sequence=sequence)
        try:
            for ack in self._stub.IngestAcked(requests(), metadata=self._metadata):
                yield {"sequence": ack.sequence, "rows": ack.rows, "duplicate": ack.duplicate, "rows_accepted": ack.rows_accepted,
                       "messages": ack.messages, "accepted_through": ack.accepted_through, "committed_through": ack.committed_through}
        except grpc.RpcError as error:
            raise StreamMlError(error.details(), error.code().name) from None

    def subscribe(self, pipeline, rows=True, columns=()):
        """The pipeline's events as an iterable: {"rows": [...]} or {"alert": {...}}, each with "dropped".
        ``cancel()`` (from any thread) ends it."""
        call = self._stub.Subscribe(self._dataplane.SubscribeRequest(pipeline=pipeline, rows=rows, columns=list(columns)), metadata=self._metadata)
        return Subscription(call)


class Subscription:
    """A running Subscribe call: iterate for events; ``cancel()`` ends the iteration."""

    def __init__(self, call):
        self._call = call

    def cancel(self):
        self._call.cancel()

    def __iter__(self):
        try:
            for event in self._call:
                if event.WhichOneof("kind") == "rows":
                    yield {"rows": _rows(event.rows), "dropped": event.dropped}
                else:
                    a = event.alert
                    yield {"alert": {"feature": a.feature, "status": a.status, "psi": a.psi, "message": a.message}, "dropped": event.dropped}
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.CANCELLED:
                raise StreamMlError(error.details(), error.code().name) from None
