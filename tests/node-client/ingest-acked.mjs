// Streams rows into a pipeline with DataPlane.IngestAcked as an idempotent producer, written only from the .proto files.
// Usage: node ingest-acked.mjs <host:port> <api-key> <pipeline> <protos-folder> <producer> <messages> <rows-per-message> <pause-ms>
// Message i (sequence i + 1) carries rows with id i * rows-per-message + j and value id / 2. Each acknowledgement is
// printed as one JSON line when it arrives; the next message is sent after <pause-ms>. The last line is
// {"done": true, ...} with the totals. A test kills this process mid-stream and runs it again to the end.
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import path from 'node:path';

const [address, apiKey, pipeline, protos, producer, messagesText, rowsText, pauseText] = process.argv.slice(2);
if (!pauseText) {
  console.error('usage: node ingest-acked.mjs <host:port> <api-key> <pipeline> <protos-folder> <producer> <messages> <rows-per-message> <pause-ms>');
  process.exit(2);
}
const [messages, rowsPerMessage, pause] = [messagesText, rowsText, pauseText].map(Number);

const definition = protoLoader.loadSync(path.join(protos, 'dataplane.proto'),
  { includeDirs: [protos], keepCase: false, longs: Number, defaults: true, oneofs: true });
const api = grpc.loadPackageDefinition(definition).streamml.v1;
const metadata = new grpc.Metadata();
metadata.add('authorization', `Bearer ${apiKey}`);
const client = new api.DataPlane(address, grpc.credentials.createInsecure());

const message = (i) => ({
  pipeline,
  producer,
  sequence: i + 1,
  rows: {
    columns: ['id', 'value'],
    rows: Array.from({ length: rowsPerMessage }, (_, j) => {
      const id = i * rowsPerMessage + j;
      return { values: [{ integer: id }, { number: id / 2 }] };
    }),
  },
});

const call = client.IngestAcked(metadata);
let next = 0;
const sendNext = () => {
  if (next < messages) call.write(message(next++));
  else call.end();
};
let last = null;
call.on('data', (ack) => {
  last = ack;
  process.stdout.write(JSON.stringify(ack) + '\n');
  setTimeout(sendNext, pause);
});
call.on('error', (error) => {
  console.error(`IngestAcked failed: ${error.code} ${error.details}`);
  process.exit(1);
});
call.on('status', (status) => {
  if (status.code !== grpc.status.OK) return;
  const trailers = Object.fromEntries(Object.entries(status.metadata.getMap()).filter(([k]) => k.startsWith('streamml-')));
  process.stdout.write(JSON.stringify({ done: true, last, trailers }) + '\n');
  client.close();
});
sendNext();
