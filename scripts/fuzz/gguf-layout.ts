// A small GGUF header reader for the fuzzer: it records the byte offset of every field (counts,
// each key/value's string length, type and array count, each tensor's name, dims, type and data
// offset) so mutations can aim at one field. It trusts its input: it reads valid fixtures only.

/** One field of the header: where it is and how wide it is. */
export interface Field {
  readonly offset: number;
  readonly size: 4 | 8;
}

export interface KvLayout {
  readonly key: string;
  readonly start: number;
  readonly keyLength: Field;
  readonly type: Field;
  /** GGUF value type (after ARRAY, the element type) */
  readonly valueType: number;
  readonly arrayType: Field | null;
  readonly arrayCount: Field | null;
  /** first byte of the value (for arrays, of the first element) */
  readonly value: number;
  readonly end: number;
}

export interface TensorLayout {
  readonly name: string;
  readonly start: number;
  readonly nameLength: Field;
  readonly nDims: Field;
  readonly dims: readonly Field[];
  readonly shape: readonly number[];
  readonly type: Field;
  readonly typeId: number;
  readonly dataOffset: Field;
  /** relative to the data section, as stored */
  readonly relativeOffset: number;
  readonly end: number;
}

export interface GgufLayout {
  readonly fileSize: number;
  readonly version: Field;
  readonly tensorCount: Field;
  readonly kvCount: Field;
  readonly kvs: readonly KvLayout[];
  readonly tensors: readonly TensorLayout[];
  readonly alignment: number;
  /** absolute offset of the data section */
  readonly dataStart: number;
}

const GGUF_TYPE_SIZE: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
const GGUF_STRING = 8;
const GGUF_ARRAY = 9;
const GGUF_UINT32 = 4;

export function readLayout(buf: Buffer): GgufLayout {
  let pos = 0;
  const field = (size: 4 | 8): Field => {
    const f = { offset: pos, size };
    pos += size;
    return f;
  };
  const u32 = (f: Field) => buf.readUInt32LE(f.offset);
  const u64 = (f: Field) => Number(buf.readBigUInt64LE(f.offset));
  const string = (): [Field, string] => {
    const len = field(8);
    const s = buf.toString("utf8", pos, pos + u64(len));
    pos += u64(len);
    return [len, s];
  };
  if (buf.toString("latin1", 0, 4) !== "GGUF") throw new Error("not a GGUF file");
  pos = 4;
  const version = field(4);
  const tensorCount = field(8);
  const kvCount = field(8);
  const kvs: KvLayout[] = [];
  let alignment = 32;
  for (let i = 0; i < u64(kvCount); i++) {
    const start = pos;
    const [keyLength, key] = string();
    const type = field(4);
    let valueType = u32(type);
    let arrayType: Field | null = null;
    let arrayCount: Field | null = null;
    let count = 1;
    if (valueType === GGUF_ARRAY) {
      arrayType = field(4);
      arrayCount = field(8);
      valueType = u32(arrayType);
      count = u64(arrayCount);
    }
    const value = pos;
    if (key === "general.alignment" && valueType === GGUF_UINT32 && arrayType === null) alignment = buf.readUInt32LE(pos);
    for (let k = 0; k < count; k++) {
      if (valueType === GGUF_STRING) string();
      else pos += GGUF_TYPE_SIZE[valueType] ?? 0;
    }
    kvs.push({ key, start, keyLength, type, valueType, arrayType, arrayCount, value, end: pos });
  }
  const tensors: TensorLayout[] = [];
  for (let i = 0; i < u64(tensorCount); i++) {
    const start = pos;
    const [nameLength, name] = string();
    const nDims = field(4);
    const dims: Field[] = [];
    for (let d = 0; d < u32(nDims); d++) dims.push(field(8));
    const type = field(4);
    const dataOffset = field(8);
    tensors.push({ name, start, nameLength, nDims, dims, shape: dims.map(u64), type, typeId: u32(type), dataOffset, relativeOffset: u64(dataOffset), end: pos });
  }
  const dataStart = Math.ceil(pos / alignment) * alignment;
  return { fileSize: buf.length, version, tensorCount, kvCount, kvs, tensors, alignment, dataStart };
}

/** Absolute [begin, end) of each tensor's data: up to the next tensor, the last one to the end of the file. */
export function tensorRanges(layout: GgufLayout): Array<[number, number]> {
  return layout.tensors.map((t, i) => {
    const begin = layout.dataStart + t.relativeOffset;
    const next = layout.tensors[i + 1];
    return [begin, next ? layout.dataStart + next.relativeOffset : layout.fileSize];
  });
}
