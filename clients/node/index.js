// A small StreamMl client over @grpc/grpc-js: Score, ScoreStream, Ingest and Subscribe. Rows are objects
// (column -> value) sent as protobuf rows; an apache-arrow Table or Arrow IPC bytes (Uint8Array) go as Arrow IPC.
// The .proto files come from options.protos, STREAMML_PROTOS or the repository's host/StreamMl.Host/Protos.
'use strict';
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const defaultProtos = path.join(__dirname, '..', '..', 'host', 'StreamMl.Host', 'Protos');

/** A call the host refused: `code` is the gRPC status (3 = INVALID_ARGUMENT, 16 = UNAUTHENTICATED...), `details` its message. */
class StreamMlError extends Error {
  constructor(error) {
    super(error.details || error.message);
    this.code = error.code;
    this.details = error.details;
  }
}

function toValue(v) {
  if (v === null || v === undefined) return {};
  if (typeof v === 'boolean') return { flag: v };
  if (typeof v === 'bigint') return { integer: v.toString() };
  if (typeof v === 'number') return Number.isInteger(v) && !Object.is(v, -0) ? { integer: v } : { number: v };
  if (v instanceof Date) return { timestamp_micros: String(BigInt(v.getTime()) * 1000n) };
  return { text: String(v) };
}

function fromValue(value) {
  if (!value || !value.kind) return null;
  const v = value[value.kind];
  return value.kind === 'integer' || value.kind === 'timestamp_micros' ? Number(v) : v;
}

function rowSet(rows) {
  const columns = [];
  for (const row of rows) for (const name of Object.keys(row)) if (!columns.includes(name)) columns.push(name);
  return { columns, rows: rows.map((row) => ({ values: columns.map((c) => toValue(row[c])) })) };
}

/** Arrow IPC stream bytes for an apache-arrow Table or bytes; null for rows. */
function arrowBytes(data) {
  if (data instanceof Uint8Array) return data;
  if (data && typeof data === 'object' && 'schema' in data && 'batches' in data) {
    const { tableToIPC } = require('apache-arrow');
    return tableToIPC(data, 'stream');
  }
  return null;
}

function payload(data) {
  const arrow = arrowBytes(data);
  return arrow ? { arrow_ipc: arrow } : { rows: rowSet(data) };
}

const scores = (response) => response.scores.map((s) => ({
  row: s.row, score: s.score, label: s.label, probabilities: s.probabilities, model: s.model, modelName: s.model_name,
  modelVersion: s.model_version, variant: s.variant, rejected: s.rejected, reason: s.reason,
}));

class StreamMlClient {
  /** @param {string} address host:port  @param {{apiKey?: string, protos?: string}} options */
  constructor(address = '127.0.0.1:50051', options = {}) {
    const protos = options.protos || process.env.STREAMML_PROTOS || defaultProtos;
    const definition = protoLoader.loadSync(path.join(protos, 'dataplane.proto'), { keepCase: true, longs: String, defaults: true, oneofs: true, includeDirs: [protos] });
    const DataPlane = grpc.loadPackageDefinition(definition).streamml.v1.DataPlane;
    this.stub = new DataPlane(address, grpc.credentials.createInsecure());
    this.metadata = new grpc.Metadata();
    if (options.apiKey) this.metadata.add('authorization', `Bearer ${options.apiKey}`);
  }

  close() { this.stub.close(); }

  /** Scores rows (objects) or an Arrow table; resolves to one {row, score, label, probabilities, model, modelName,
   * modelVersion, variant, rejected, reason} per row (probabilities: classifiers, one per class in describeModel's
   * order). `modelVersion`: '' as deployed, 'primary', 'candidate' or a deployed version. */
  score(pipeline, data, requestId = '', { modelVersion = '' } = {}) {
    return new Promise((resolve, reject) =>
      this.stub.Score({ pipeline, request_id: requestId, model_version: modelVersion, ...payload(data) }, this.metadata, (error, response) =>
        (error ? reject(new StreamMlError(error)) : resolve(scores(response)))));
  }

  /** What Score takes and answers: {inputs: [{name, type, required}], outputs: [names], models: [{name, version,
   * variant, traffic, kind, task, classes, threshold}], maxScoreRows}. */
  describeModel(pipeline, modelVersion = '') {
    return new Promise((resolve, reject) =>
      this.stub.DescribeModel({ pipeline, model_version: modelVersion }, this.metadata, (error, d) =>
        (error ? reject(new StreamMlError(error)) : resolve({
          inputs: d.inputs.map((c) => ({ name: c.name, type: c.type, required: c.required })),
          outputs: d.outputs.map((c) => c.name),
          models: d.models.map((m) => ({ name: m.name, version: m.version, variant: m.variant, traffic: m.traffic, kind: m.kind,
            task: m.task, classes: m.classes, threshold: m.threshold })),
          maxScoreRows: d.max_score_rows,
        }))));
  }

  /** Scores each batch on one stream; resolves to [{requestId, scores}] in order. */
  scoreStream(pipeline, batches) {
    return new Promise((resolve, reject) => {
      const answers = [];
      const call = this.stub.ScoreStream(this.metadata);
      call.on('data', (response) => answers.push({ requestId: response.request_id, scores: scores(response) }));
      call.on('error', (error) => reject(new StreamMlError(error)));
      call.on('end', () => resolve(answers));
      batches.forEach((batch, i) => call.write({ pipeline: i === 0 ? pipeline : '', request_id: String(i), ...payload(batch) }));
      call.end();
    });
  }

  /** Streams batches (row arrays, Arrow tables or Arrow IPC bytes) into a pipeline whose source is grpc; resolves to
   * {rowsAccepted, messages}. */
  ingest(pipeline, batches) {
    return new Promise((resolve, reject) => {
      const call = this.stub.Ingest(this.metadata, (error, response) =>
        (error ? reject(new StreamMlError(error)) : resolve({ rowsAccepted: Number(response.rows_accepted), messages: Number(response.messages) })));
      batches.forEach((batch, i) => call.write({ pipeline: i === 0 ? pipeline : '', ...payload(batch) }));
      call.end();
    });
  }

  /** Like ingest, with one acknowledgement per message as soon as its rows are queued. With `producer`, message i
   * carries sequence `firstSequence + i`: resending after a failure is safe (already accepted messages are
   * acknowledged as duplicates and dropped). Resolves to [{sequence, rows, duplicate, rowsAccepted, messages, acceptedThrough}]. */
  ingestAcked(pipeline, batches, { producer = '', firstSequence = 1 } = {}) {
    return new Promise((resolve, reject) => {
      const acks = [];
      const call = this.stub.IngestAcked(this.metadata);
      call.on('data', (a) => acks.push({ sequence: Number(a.sequence), rows: Number(a.rows), duplicate: a.duplicate,
        rowsAccepted: Number(a.rows_accepted), messages: Number(a.messages), acceptedThrough: Number(a.accepted_through),
        committedThrough: Number(a.committed_through) }));
      call.on('error', (error) => reject(new StreamMlError(error)));
      call.on('end', () => resolve(acks));
      batches.forEach((batch, i) => call.write({ pipeline, producer, sequence: producer ? String(firstSequence + i) : '0', ...payload(batch) }));
      call.end();
    });
  }

  /** The pipeline's events: `onEvent` gets {rows: [...]} or {alert: {...}}, each with `dropped`; returns {cancel()}. */
  subscribe(pipeline, { rows = true, columns = [] } = {}, onEvent, onError = () => {}) {
    const call = this.stub.Subscribe({ pipeline, rows, columns }, this.metadata);
    call.on('data', (event) => {
      const dropped = Number(event.dropped);
      if (event.kind === 'rows') {
        const set = event.rows;
        onEvent({ rows: set.rows.map((r) => Object.fromEntries(set.columns.map((c, i) => [c, fromValue(r.values[i])]))), dropped });
      } else onEvent({ alert: event.alert, dropped });
    });
    call.on('error', (error) => { if (error.code !== grpc.status.CANCELLED) onError(new StreamMlError(error)); });
    return { cancel: () => call.cancel() };
  }
}

module.exports = { StreamMlClient, StreamMlError };
