// Writes an Arrow IPC stream the way pandas (via pyarrow) writes a DataFrame, with the npm apache-arrow package (not
// written by StreamMl): a categorical (dictionary<int8, utf8>), another with int32 codes, a large_utf8 column,
// float64 and int64 (pandas' default widths), and timestamps in s, ms, us and ns, with and without time zones.
// Usage: node pandas-arrow.mjs OUT.arrow OUT.json  — the JSON holds the values that were written, for checking.
import { writeFileSync } from 'node:fs';
import {
  makeData, makeVector, vectorFromArray, Table, tableToIPC,
  Dictionary, Int8, Int32, Utf8, LargeUtf8, Float64, Int64, Timestamp, TimeUnit,
} from 'apache-arrow';

const [, , arrowPath, jsonPath] = process.argv;
const rows = 7;
const devices = ['d1', 'd2', 'd1', null, 'd3', 'd2', 'd1'];
const zones = ['north', 'south', 'south', 'north', 'east', 'east', 'north'];
const sites = ['Zürich', '', 'a much longer site name than twelve bytes', 'x', null, 'y', 'z'];
const temperature = [61.5, -3.25, 0, 1e10, 70.125, 65, -0.5];
const count = [1n, -2n, 2147483647n, -2147483648n, 0n, 42n, 7n];
const baseSeconds = 1700000000n;
const seconds = [baseSeconds, -1n, 0n, baseSeconds + 86400n, 951782400n, -86400n, 1n];
const millis = seconds.map((s, i) => s * 1000n + BigInt(i * 111));
const micros = millis.map((m, i) => m * 1000n + BigInt(i));
const nanos = micros.map((u, i) => u * 1000n + BigInt(i * 37)).map((n, i) => (i === 1 ? -1n : n));

const timestamps = (unit, zone, values) => makeVector(makeData({
  type: new Timestamp(unit, zone), length: rows, nullCount: 0, data: BigInt64Array.from(values),
}));

const table = new Table({
  device: vectorFromArray(devices, new Dictionary(new Utf8(), new Int8())),
  zone: vectorFromArray(zones, new Dictionary(new Utf8(), new Int32())),
  site: vectorFromArray(sites, new LargeUtf8()),
  temperature: vectorFromArray(temperature, new Float64()),
  count: makeVector(makeData({ type: new Int64(), length: rows, nullCount: 0, data: BigInt64Array.from(count) })),
  at_s: timestamps(TimeUnit.SECOND, null, seconds),
  at_ms: timestamps(TimeUnit.MILLISECOND, 'America/New_York', millis),
  at_us: timestamps(TimeUnit.MICROSECOND, 'UTC', micros),
  at_ns: timestamps(TimeUnit.NANOSECOND, 'UTC', nanos),
});
writeFileSync(arrowPath, tableToIPC(table, 'stream'));
const text = (values) => values.map((v) => (v === null ? null : v.toString()));
writeFileSync(jsonPath, JSON.stringify({
  types: table.schema.fields.map((f) => `${f.name}: ${f.type}`),
  device: devices, zone: zones, site: sites, temperature, count: text(count),
  at_s: text(seconds), at_ms: text(millis), at_us: text(micros), at_ns: text(nanos),
}));
