/** PostgreSQL's type id of int4 (pg_type.oid), which the binary form of an int4[] names for its elements. */
const INT4_OID = 23;

/**
 * Integers as one int4[] query parameter in PostgreSQL's binary array format (what array_send writes and
 * array_recv reads), for a parameter cast to int[] (`?::int[]`): node-postgres sends a Buffer as binary.
 * A million ids go as 8 MB outside the V8 heap, where the text form `{1,2,…}` built a 7 MB string and a
 * string per id first, at the end of a preview that already holds the most memory.
 */
export function int4ArrayParameter(values: Int32Array): Buffer {
  const dimensions = values.length === 0 ? 0 : 1;
  const buffer = Buffer.allocUnsafe(12 + dimensions * 8 + values.length * 8);
  buffer.writeInt32BE(dimensions, 0);
  buffer.writeInt32BE(0, 4); // no NULL elements
  buffer.writeInt32BE(INT4_OID, 8);
  let at = 12;
  if (dimensions === 1) {
    buffer.writeInt32BE(values.length, at);
    buffer.writeInt32BE(1, at + 4); // lower bound
    at += 8;
  }
  for (const value of values) {
    buffer.writeInt32BE(4, at);
    buffer.writeInt32BE(value, at + 4);
    at += 8;
  }
  return buffer;
}
