// An Open Inference Protocol client written only from the protocol: @grpc/grpc-js and @grpc/proto-loader load
// grpc_predict_v2.proto and call ServerLive, ModelMetadata and ModelInfer. Prints one JSON object.
// usage: node oip.mjs HOST:PORT KEY MODEL PROTO_DIR
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import path from 'node:path';

const [address, key, model, protoDir] = process.argv.slice(2);
const definition = protoLoader.loadSync(path.join(protoDir, 'grpc_predict_v2.proto'), { keepCase: true, longs: Number, defaults: true });
const inference = grpc.loadPackageDefinition(definition).inference;
const client = new inference.GRPCInferenceService(address, grpc.credentials.createInsecure());
const auth = new grpc.Metadata();
auth.add('authorization', `Bearer ${key}`);
const call = (method, request, metadata = auth) =>
  new Promise((resolve, reject) => client[method](request, metadata, (error, response) => (error ? reject(error) : resolve(response))));

const rows = [['d1', 61.5, 0.9, 99], ['d2', 79, 2.2, 101]];
const tensor = (name, datatype, contents) => ({ name, datatype, shape: [rows.length], contents });
const out = {};
out.live = (await call('ServerLive', {}, new grpc.Metadata())).live;
const metadata = await call('ModelMetadata', { name: model });
out.inputs = metadata.inputs.map((t) => `${t.name}:${t.datatype}`);
const response = await call('ModelInfer', {
  model_name: model,
  id: 'from-node',
  inputs: [
    tensor('device', 'BYTES', { bytes_contents: rows.map((r) => Buffer.from(r[0])) }),
    tensor('temperature', 'FP32', { fp32_contents: rows.map((r) => r[1]) }),
    tensor('vibration', 'FP32', { fp32_contents: rows.map((r) => r[2]) }),
    tensor('pressure', 'FP32', { fp32_contents: rows.map((r) => r[3]) }),
  ],
});
const outputs = Object.fromEntries(response.outputs.map((o) => [o.name, o]));
out.id = response.id;
out.version = response.model_version;
out.scores = outputs.score.contents.fp32_contents;
out.models = outputs.model.contents.bytes_contents.map((b) => b.toString());
try {
  await call('ModelInfer', { model_name: model, inputs: [tensor('temperature', 'FP32', { fp32_contents: [1] })] });
  out.shape_mismatch = null;
} catch (error) {
  out.shape_mismatch = { code: error.code, details: error.details };
}
console.log(JSON.stringify(out));
client.close();
