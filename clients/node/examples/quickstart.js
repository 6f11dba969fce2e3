// Score, ScoreStream, Ingest (rows and an apache-arrow Table as Arrow IPC) and Subscribe against a running host;
// prints one JSON object. usage: node quickstart.js HOST:PORT API_KEY PIPELINE [WRITE_ARROW_FILE]
'use strict';
const fs = require('node:fs');
const { tableFromArrays, tableToIPC } = require('apache-arrow');
const { StreamMlClient, StreamMlError } = require('..');

const [address, apiKey, pipeline, arrowFile] = process.argv.slice(2);
const rows = [
  { device: 'd1', temperature: 61.5, vibration: 0.9, pressure: 99.0 },
  { device: 'd2', temperature: 79.0, vibration: 2.2, pressure: 101.0 },
];
const table = tableFromArrays({
  device: ['d4', 'd5'],
  temperature: Float32Array.from([65, 90]),
  vibration: Float32Array.from([1.0, 2.5]),
  pressure: Float32Array.from([100, 98]),
});

(async () => {
  const client = new StreamMlClient(address, { apiKey });
  const out = {};
  out.score = await client.score(pipeline, rows, 'node-1');
  out.describe = await client.describeModel(pipeline);
  out.scorePrimary = await client.score(pipeline, rows.slice(0, 1), '', { modelVersion: 'primary' });
  out.scoreArrow = (await client.score(pipeline, table)).map((s) => s.score);
  out.scoreStream = (await client.scoreStream(pipeline, [rows.slice(0, 1), rows.slice(1)])).map((a) => a.scores[0].score);
  if (arrowFile) fs.writeFileSync(arrowFile, tableToIPC(table, 'stream'));

  // Subscribe, then ingest until the subscriber has seen scored rows (the subscription reaches the host asynchronously).
  // The subscription may start between the two messages of one ingest, so the rows of interest are the first whole
  // round: d1, d2 (rows), then d4, d5 (Arrow).
  const seen = [];
  const subscription = client.subscribe(pipeline, { rows: true, columns: ['device', 'score'] }, (event) => seen.push(...(event.rows || [])));
  const firstRound = () => seen.slice(Math.max(0, seen.findIndex((r) => r.device === 'd1')));
  out.ingest = [];
  for (let attempt = 0; attempt < 20 && firstRound().length < 4; attempt++) {
    out.ingest.push(await client.ingest(pipeline, [rows, table]));
    for (let wait = 0; wait < 20 && firstRound().length < 4; wait++) await new Promise((r) => setTimeout(r, 50));
  }
  subscription.cancel();
  out.subscribed = firstRound().slice(0, 4);
  // Acknowledged ingest with an idempotency key: a retry that resends everything adds no rows.
  const producer = `quickstart-${process.pid}`;
  out.acked = await client.ingestAcked(pipeline, [rows, table], { producer });
  out.ackedRetry = await client.ingestAcked(pipeline, [rows, table], { producer });
  try {
    await client.score(pipeline, [{ device: 'd1', temperature: 'hot' }]);
  } catch (error) {
    if (!(error instanceof StreamMlError)) throw error;
    out.error = { code: error.code, details: error.details };
  }
  client.close();
  console.log(JSON.stringify(out));
})().catch((error) => { console.error(error); process.exit(1); });
