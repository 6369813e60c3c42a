// A GGUF rewriter for tests and the fuzzer's semantic attacks: parses a valid file into its
// key/values and tensors, lets a test change them, and writes a file whose offsets, padding and
// counts are consistent again, so gguf's parser accepts it and the problem reaches the checks
// (and llama.cpp's asserts) behind it. It trusts its input: it reads generated fixtures only.
import { readFileSync, writeFileSync } from "node:fs";

export const GgufType = {
  U8: 0, I8: 1, U16: 2, I16: 3, U32: 4, I32: 5, F32: 6, BOOL: 7, STRING: 8, ARRAY: 9, U64: 10, I64: 11, F64: 12,
} as const;

const SCALAR_SIZE: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };

/** A value as stored: its GGUF type and its encoded bytes (after the type field). */
export interface GgufValue {
  readonly type: number;
  readonly bytes: Buffer;
}

export interface GgufTensor {
  name: string;
  /** ne[0..n_dims-1] */
  shape: bigint[];
  type: number;
  /** the tensor's data as stored (its size follows shape and type in a valid file) */
  data: Buffer;
}

export interface GgufModel {
  version: number;
  kvs: Map<string, GgufValue>;
  tensors: GgufTensor[];
}

const str = (s: string): Buffer => {
  const b = Buffer.from(s, "utf8");
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(b.length));
  return Buffer.concat([len, b]);
};

/** Encoders for values. */
export const gv = {
  u32: (v: number): GgufValue => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0);
    return { type: GgufType.U32, bytes: b };
  },
  i32: (v: number): GgufValue => {
    const b = Buffer.alloc(4);
    b.writeInt32LE(v | 0);
    return { type: GgufType.I32, bytes: b };
  },
  u64: (v: bigint): GgufValue => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(v);
    return { type: GgufType.U64, bytes: b };
  },
  f32: (v: number): GgufValue => {
    const b = Buffer.alloc(4);
    b.writeFloatLE(v);
    return { type: GgufType.F32, bytes: b };
  },
  string: (s: string): GgufValue => ({ type: GgufType.STRING, bytes: str(s) }),
  /** an array of u32 or i32 (elementType), or of strings */
  array: (elementType: number, values: ReadonlyArray<number | string>): GgufValue => {
    const head = Buffer.alloc(12);
    head.writeUInt32LE(elementType, 0);
    head.writeBigUInt64LE(BigInt(values.length), 4);
    const parts = values.map((v) => {
      if (elementType === GgufType.STRING) return str(String(v));
      const b = Buffer.alloc(SCALAR_SIZE[elementType]!);
      if (elementType === GgufType.U32) b.writeUInt32LE(Number(v) >>> 0);
      else if (elementType === GgufType.I32) b.writeInt32LE(Number(v) | 0);
      else if (elementType === GgufType.F32) b.writeFloatLE(Number(v));
      else if (elementType === GgufType.U8 || elementType === GgufType.BOOL) b.writeUInt8(Number(v));
      else throw new Error(`gguf-edit: no encoder for array element type ${elementType}`);
      return b;
    });
    return { type: GgufType.ARRAY, bytes: Buffer.concat([head, ...parts]) };
  },
};

/** Decodes a string array value (e.g. tokenizer.ggml.tokens). */
export function stringArray(v: GgufValue): string[] {
  if (v.type !== GgufType.ARRAY || v.bytes.readUInt32LE(0) !== GgufType.STRING) throw new Error("gguf-edit: not a string array");
  const n = Number(v.bytes.readBigUInt64LE(4));
  const out: string[] = [];
  let pos = 12;
  for (let i = 0; i < n; i++) {
    const len = Number(v.bytes.readBigUInt64LE(pos));
    out.push(v.bytes.toString("utf8", pos + 8, pos + 8 + len));
    pos += 8 + len;
  }
  return out;
}

/** A scalar integer value (u8…i64) as a number. */
export function intValue(v: GgufValue): number {
  switch (v.type) {
    case GgufType.U8: return v.bytes.readUInt8(0);
    case GgufType.I8: return v.bytes.readInt8(0);
    case GgufType.U16: return v.bytes.readUInt16LE(0);
    case GgufType.I16: return v.bytes.readInt16LE(0);
    case GgufType.U32: return v.bytes.readUInt32LE(0);
    case GgufType.I32: return v.bytes.readInt32LE(0);
    case GgufType.U64: return Number(v.bytes.readBigUInt64LE(0));
    case GgufType.I64: return Number(v.bytes.readBigInt64LE(0));
    default: throw new Error(`gguf-edit: value of type ${v.type} is not an integer`);
  }
}

export function parseGguf(buf: Buffer): GgufModel {
  let pos = 0;
  const u32 = () => ((pos += 4), buf.readUInt32LE(pos - 4));
  const u64 = () => ((pos += 8), buf.readBigUInt64LE(pos - 8));
  const readStr = () => {
    const n = Number(u64());
    pos += n;
    return buf.toString("utf8", pos - n, pos);
  };
  const skipValue = (type: number): void => {
    if (type === GgufType.STRING) pos += 8 + Number(buf.readBigUInt64LE(pos));
    else if (type === GgufType.ARRAY) {
      const et = u32();
      const n = Number(u64());
      for (let i = 0; i < n; i++) skipValue(et);
    } else pos += SCALAR_SIZE[type]!;
  };
  if (buf.toString("latin1", 0, 4) !== "GGUF") throw new Error("gguf-edit: not a GGUF file");
  pos = 4;
  const version = u32();
  const nTensors = Number(u64());
  const nKv = Number(u64());
  const kvs = new Map<string, GgufValue>();
  for (let i = 0; i < nKv; i++) {
    const key = readStr();
    const type = u32();
    const start = pos;
    skipValue(type);
    kvs.set(key, { type, bytes: Buffer.from(buf.subarray(start, pos)) });
  }
  const infos: Array<{ name: string; shape: bigint[]; type: number; offset: bigint }> = [];
  for (let i = 0; i < nTensors; i++) {
    const name = readStr();
    const nDims = u32();
    const shape: bigint[] = [];
    for (let d = 0; d < nDims; d++) shape.push(u64());
    const type = u32();
    infos.push({ name, shape, type, offset: u64() });
  }
  const align = alignmentOf(kvs);
  const dataStart = Math.ceil(pos / align) * align;
  const tensors = infos.map((t, i) => {
    const begin = dataStart + Number(t.offset);
    const next = infos[i + 1];
    const end = next ? dataStart + Number(next.offset) : buf.length;
    return { name: t.name, shape: t.shape, type: t.type, data: Buffer.from(buf.subarray(begin, end)) };
  });
  return { version, kvs, tensors };
}

function alignmentOf(kvs: ReadonlyMap<string, GgufValue>): number {
  const a = kvs.get("general.alignment");
  return a && a.type === GgufType.U32 ? a.bytes.readUInt32LE(0) : 32;
}

/** ggml type id → [block size, bytes per block] for the types the fixtures use. */
const TYPE_SIZES: Record<number, readonly [number, number]> = { 0: [1, 4], 1: [1, 2], 8: [32, 34], 12: [256, 144], 14: [256, 210], 30: [1, 2] };

/** The data size a tensor of this shape and type needs (undefined for a type not in the table). */
export function tensorBytes(shape: readonly bigint[], type: number): bigint | undefined {
  const size = TYPE_SIZES[type];
  if (!size) return undefined;
  return (shape.reduce((a, b) => a * b, 1n) / BigInt(size[0])) * BigInt(size[1]);
}

export interface WriteOptions {
  /** pad tensors to this alignment (default: general.alignment, else 32) */
  readonly alignment?: number;
  /** fit each tensor's data to the size its shape and type need: cut, or pad with zeros */
  readonly fitData?: boolean;
}

/** Serializes with consistent offsets: tensor data back to back, each padded to the alignment. */
export function serializeGguf(m: GgufModel, opts: WriteOptions = {}): Buffer {
  const align = opts.alignment ?? alignmentOf(m.kvs);
  const parts: Buffer[] = [];
  const head = Buffer.alloc(24);
  head.write("GGUF", 0, "latin1");
  head.writeUInt32LE(m.version, 4);
  head.writeBigUInt64LE(BigInt(m.tensors.length), 8);
  head.writeBigUInt64LE(BigInt(m.kvs.size), 16);
  parts.push(head);
  for (const [key, v] of m.kvs) {
    const t = Buffer.alloc(4);
    t.writeUInt32LE(v.type);
    parts.push(str(key), t, v.bytes);
  }
  const datas: Buffer[] = [];
  let offset = 0n;
  for (const t of m.tensors) {
    let data = t.data;
    if (opts.fitData) {
      const want = tensorBytes(t.shape, t.type);
      if (want !== undefined && want < 1n << 31n) {
        const n = Number(want);
        data = data.length >= n ? data.subarray(0, n) : Buffer.concat([data, Buffer.alloc(n - data.length)]);
      }
    }
    const info = Buffer.alloc(4 + 8 * t.shape.length + 4 + 8);
    info.writeUInt32LE(t.shape.length, 0);
    t.shape.forEach((d, j) => info.writeBigUInt64LE(BigInt.asUintN(64, d), 4 + 8 * j));
    info.writeUInt32LE(t.type, 4 + 8 * t.shape.length);
    info.writeBigUInt64LE(offset, 8 + 8 * t.shape.length);
    parts.push(str(t.name), info);
    const padded = Math.ceil(data.length / align) * align;
    datas.push(data, Buffer.alloc(padded - data.length));
    offset += BigInt(padded);
  }
  const meta = Buffer.concat(parts);
  const metaPadded = Math.ceil(meta.length / align) * align;
  return Buffer.concat([meta, Buffer.alloc(metaPadded - meta.length), ...datas]);
}

/** Reads `input`, applies `edit`, writes `output` with consistent offsets. */
export function rewriteGguf(input: string, output: string, edit: (m: GgufModel) => void, opts: WriteOptions = {}): string {
  const m = parseGguf(readFileSync(input));
  edit(m);
  writeFileSync(output, serializeGguf(m, opts));
  return output;
}
