// A StreamMl client written only from the .proto files, with the standard Node.js gRPC libraries.
// Usage: node client.mjs <host:port> <api-key> <pipeline> <protos-folder>
// Scores two rows, reads the drift report, and prints both as one JSON object on stdout.
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import path from 'node:path';

const [address, apiKey, pipeline, protos] = process.argv.slice(2);
if (!protos) {
  console.error('usage: node client.mjs <host:port> <api-key> <pipeline> <protos-folder>');
  process.exit(2);
}

const definition = protoLoader.loadSync(
  ['dataplane.proto', 'query.proto'].map((f) => path.join(protos, f)),
  { includeDirs: [protos], keepCase: false, longs: Number, defaults: true, oneofs: true },
);
const api = grpc.loadPackageDefinition(definition).streamml.v1;
const metadata = new grpc.Metadata();
metadata.add('authorization', `Bearer ${apiKey}`);

const dataPlane = new api.DataPlane(address, grpc.credentials.createInsecure());
const query = new api.Query(address, grpc.credentials.createInsecure());

const call = (client, method, request) =>
  new Promise((resolve, reject) =>
    client[method](request, metadata, { deadline: Date.now() + 10000 }, (error, response) =>
      error ? reject(error) : resolve(response)));

const rows = {
  columns: ['device', 'temperature', 'vibration', 'pressure'],
  rows: [
    { values: [{ text: 'node-1' }, { number: 61.5 }, { number: 0.9 }, { number: 99 }] },
    { values: [{ text: 'node-2' }, { number: 79.0 }, { number: 2.2 }, { number: 101 }] },
  ],
};

try {
  const score = await call(dataPlane, 'Score', { pipeline, rows, requestId: 'from-node' });
  const drift = await call(query, 'GetDriftReport', { pipeline, maxWindows: 0 });
  let denied = null;
  try {
    await new Promise((resolve, reject) =>
      query.GetDriftReport({ pipeline }, (error, response) => (error ? reject(error) : resolve(response))));
  } catch (error) {
    denied = error.code;
  }
  process.stdout.write(JSON.stringify({ score, drift, deniedWithoutKey: denied }));
} catch (error) {
  console.error(`gRPC call failed: ${error.code} ${error.details}`);
  process.exit(1);
}
