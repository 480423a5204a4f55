/**
 * Binary layout of Float32 vectors and matrices stored in the `embeddings` and
 * `endpoint_embeddings` databases:
 *
 *   offset 0   u8   schema version (SCHEMA_VERSION)
 *   offset 1   u8   reserved (0)
 *   offset 2   u16  reserved (0)
 *   offset 4   u32  dims: floats per row
 *   offset 8   f64  expiresAt in ms since the epoch, 0 = never
 *   offset 16  f32  rows * dims floats, row-major
 *
 * The 16-byte header keeps the payload 4-byte aligned within the value. Numbers are
 * little-endian; LMDB files are not portable across endianness anyway.
 */
import { SCHEMA_VERSION } from './schema';

export const VECTOR_HEADER_BYTES = 16;

export interface DecodedHeader {
  dims: number;
  rows: number;
  expiresAt: number;
}

/** Encodes `data` (rows * dims floats) with the header. Always a fresh buffer. */
export function encodeVectors(data: Float32Array, dims: number, expiresAt: number): Buffer {
  const buf = Buffer.allocUnsafe(VECTOR_HEADER_BYTES + data.byteLength);
  buf.writeUInt8(SCHEMA_VERSION, 0);
  buf.writeUInt8(0, 1);
  buf.writeUInt16LE(0, 2);
  buf.writeUInt32LE(dims, 4);
  buf.writeDoubleLE(expiresAt, 8);
  buf.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), VECTOR_HEADER_BYTES);
  return buf;
}

/**
 * Reads the header, or undefined when the value is not a vector record of this schema
 * version (wrong version byte, truncated, or a payload that is not whole rows).
 */
export function decodeHeader(buf: Uint8Array): DecodedHeader | undefined {
  // Hazard: getBinaryFast returns lmdb's global read buffer with `length` overridden to
  // the value size while `byteLength` stays the whole buffer (16 MB). Use `length`.
  if (buf.length < VECTOR_HEADER_BYTES || buf[0] !== SCHEMA_VERSION) return undefined;
  const view = new DataView(buf.buffer, buf.byteOffset, VECTOR_HEADER_BYTES);
  const dims = view.getUint32(4, true);
  const expiresAt = view.getFloat64(8, true);
  const payload = buf.length - VECTOR_HEADER_BYTES;
  if (dims === 0 || payload % (dims * 4) !== 0 || !Number.isFinite(expiresAt)) return undefined;
  return { dims, rows: payload / (dims * 4), expiresAt };
}

/**
 * Copies the payload into a new Float32Array. `buf` may be a borrowed buffer from
 * getBinaryFast (valid only until the next read), so this one copy is also what makes
 * the result safe to keep.
 */
export function copyPayload(buf: Uint8Array, header: DecodedHeader): Float32Array {
  const out = new Float32Array(header.rows * header.dims);
  new Uint8Array(out.buffer).set(buf.subarray(VECTOR_HEADER_BYTES, VECTOR_HEADER_BYTES + out.byteLength));
  return out;
}
