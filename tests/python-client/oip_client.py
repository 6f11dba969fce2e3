"""An Open Inference Protocol client written only from the protocol: Debian's python3-grpcio and the
grpc_predict_v2.proto compiled here with grpc_tools. Prints one JSON object with what the host answered.

usage: oip_client.py HOST:PORT KEY MODEL PROTO_DIR
"""
import json
import struct
import sys
import tempfile

import grpc
from grpc_tools import protoc


def compile_proto(proto_dir):
    out = tempfile.mkdtemp(prefix="oip-py-")
    code = protoc.main(["protoc", f"-I{proto_dir}", f"--python_out={out}", f"--grpc_python_out={out}",
                        f"{proto_dir}/grpc_predict_v2.proto"])
    if code != 0:
        raise SystemExit(f"protoc failed with {code}")
    sys.path.insert(0, out)
    import grpc_predict_v2_pb2 as pb
    import grpc_predict_v2_pb2_grpc as rpc
    return pb, rpc


def main():
    address, key, model, proto_dir = sys.argv[1:5]
    pb, rpc = compile_proto(proto_dir)
    channel = grpc.insecure_channel(address)
    stub = rpc.GRPCInferenceServiceStub(channel)
    auth = [("authorization", f"Bearer {key}")]

    out = {"live": stub.ServerLive(pb.ServerLiveRequest()).live}
    meta = stub.ModelMetadata(pb.ModelMetadataRequest(name=model), metadata=auth)
    out["inputs"] = [f"{t.name}:{t.datatype}" for t in meta.inputs]
    out["ready"] = stub.ModelReady(pb.ModelReadyRequest(name=model), metadata=auth).ready

    rows = [("d1", 61.5, 0.9, 99.0), ("d2", 79.0, 2.2, 101.0)]

    def tensor(name, datatype):
        return pb.ModelInferRequest.InferInputTensor(name=name, datatype=datatype, shape=[len(rows)])

    request = pb.ModelInferRequest(model_name=model, id="from-python")
    device, temperature, vibration, pressure = (tensor("device", "BYTES"), tensor("temperature", "FP32"),
                                                tensor("vibration", "FP32"), tensor("pressure", "FP32"))
    device.contents.bytes_contents.extend(r[0].encode() for r in rows)
    temperature.contents.fp32_contents.extend(r[1] for r in rows)
    vibration.contents.fp32_contents.extend(r[2] for r in rows)
    pressure.contents.fp32_contents.extend(r[3] for r in rows)
    request.inputs.extend([device, temperature, vibration, pressure])
    response = stub.ModelInfer(request, metadata=auth)
    outputs = {o.name: o for o in response.outputs}
    out["id"] = response.id
    out["version"] = response.model_version
    out["scores"] = list(outputs["score"].contents.fp32_contents)
    out["models"] = [b.decode() for b in outputs["model"].contents.bytes_contents]

    # The same rows as raw little-endian bytes, as Triton's clients send them.
    raw = pb.ModelInferRequest(model_name=model)
    raw.inputs.extend([tensor("device", "BYTES"), tensor("temperature", "FP32"), tensor("vibration", "FP32"),
                       tensor("pressure", "FP32")])
    raw.raw_input_contents.append(b"".join(struct.pack("<I", len(r[0])) + r[0].encode() for r in rows))
    for column in (1, 2, 3):
        raw.raw_input_contents.append(struct.pack(f"<{len(rows)}f", *(r[column] for r in rows)))
    raw_response = stub.ModelInfer(raw, metadata=auth)
    out["raw_scores"] = list(struct.unpack(f"<{len(rows)}f", raw_response.raw_output_contents[0]))

    wrong = pb.ModelInferRequest(model_name=model)
    wrong.inputs.append(pb.ModelInferRequest.InferInputTensor(name="temperature", datatype="FP64", shape=[1]))
    wrong.inputs[0].contents.fp64_contents.append(1.0)
    try:
        stub.ModelInfer(wrong, metadata=auth)
        out["wrong_datatype"] = None
    except grpc.RpcError as error:
        out["wrong_datatype"] = {"code": error.code().name, "details": error.details()}
    try:
        stub.ModelInfer(request)
        out["without_key"] = None
    except grpc.RpcError as error:
        out["without_key"] = error.code().name
    print(json.dumps(out))


if __name__ == "__main__":
    main()
