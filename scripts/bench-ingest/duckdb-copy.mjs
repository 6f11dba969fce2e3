// DuckDB's own CSV -> Parquet path, one COPY statement, as its users run it:
//   node duckdb-copy.mjs copy INPUT.csv OUTPUT.parquet
// and the row-by-row comparison of two Parquet files (same row count, same values at every file row number):
//   node duckdb-copy.mjs compare A.parquet B.parquet
import { DuckDBInstance } from '@duckdb/node-api';

const [mode, a, b] = process.argv.slice(2);
const quote = (path) => `'${path.replaceAll("'", "''")}'`;
const instance = await DuckDBInstance.create(':memory:');
const connection = await instance.connect();
if (mode === 'copy') {
  await connection.run(`COPY (SELECT * FROM read_csv(${quote(a)})) TO ${quote(b)} (FORMAT parquet)`);
} else if (mode === 'compare') {
  const count = async (sql) => Number((await (await connection.run(sql)).getRows())[0][0]);
  const rowsA = await count(`SELECT count(*) FROM read_parquet(${quote(a)})`);
  const rowsB = await count(`SELECT count(*) FROM read_parquet(${quote(b)})`);
  const differing = await count(`
    SELECT count(*) FROM read_parquet(${quote(a)}, file_row_number = true) x
    FULL OUTER JOIN read_parquet(${quote(b)}, file_row_number = true) y USING (file_row_number)
    WHERE x.user_id IS DISTINCT FROM y.user_id OR x.item_id IS DISTINCT FROM y.item_id
       OR x.rating IS DISTINCT FROM y.rating OR x.timestamp IS DISTINCT FROM y.timestamp`);
  console.log(`rows ${rowsA} vs ${rowsB}, rows that differ: ${differing}`);
  process.exit(rowsA === rowsB && differing === 0 ? 0 : 1);
} else {
  console.error('usage: duckdb-copy.mjs copy INPUT OUTPUT | compare A B');
  process.exit(2);
}
