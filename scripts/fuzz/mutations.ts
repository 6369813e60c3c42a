// Mutations of a valid GGUF, aimed at the fields gguf-layout.ts located: truncation at every section
// boundary, bad counts, string lengths, types, dimensions and data offsets, absurd sizes, tensors
// reshaped or retyped with the later offsets rewritten so the file still parses (its data then lies
// past the end or disagrees with the hyperparameters), hyperparameters set to 0 or huge, and random
// byte flips. Every case is a pure function of (fixture, label): the same seed gives the same files.
import { prng } from "../shared/prng.js";
import { type Field, type GgufLayout, readLayout, tensorRanges } from "./gguf-layout.js";
import { randomSemantic, SEMANTIC_CATEGORIES, semanticDrafts, type SemanticCategory } from "./semantic.js";

export const CATEGORIES = [
  "control",
  "truncate",
  "header",
  "kv",
  "tensor-info",
  "data-offset",
  "absurd-size",
  "reshape",
  "hparams",
  "random-flip",
  // semantic attacks (semantic.ts): consistent offsets, hostile meaning
  ...SEMANTIC_CATEGORIES,
] as const;
export type Category = (typeof CATEGORIES)[number];

export interface Fixture {
  readonly name: string;
  readonly path: string;
  readonly bytes: Buffer;
  readonly layout: GgufLayout;
}

export interface FuzzCase {
  readonly id: number;
  readonly fixture: string;
  readonly category: Category;
  readonly label: string;
  /** the mutated file's bytes */
  build(): Buffer;
}

/** ggml type id → [block size, bytes per block] (from the addon's type table). */
export type TypeSizes = ReadonlyMap<number, readonly [number, number]>;

type Edit = (buf: Buffer) => Buffer;
interface Draft {
  readonly category: Category;
  readonly label: string;
  readonly edit: Edit;
}

const U64_MAX = 2n ** 64n - 1n;

function put(field: Field, value: bigint): Edit {
  return (buf) => {
    if (field.size === 4) buf.writeUInt32LE(Number(BigInt.asUintN(32, value)), field.offset);
    else buf.writeBigUInt64LE(BigInt.asUintN(64, value), field.offset);
    return buf;
  };
}

function get(buf: Buffer, field: Field): bigint {
  return field.size === 4 ? BigInt(buf.readUInt32LE(field.offset)) : buf.readBigUInt64LE(field.offset);
}

const truncate =
  (at: number): Edit =>
  (buf) =>
    buf.subarray(0, at);

/** Every targeted mutation of one fixture, grouped by category. */
export function drafts(fx: Fixture, types: TypeSizes): Draft[] {
  const L = fx.layout;
  const out: Draft[] = [];
  const add = (category: Category, label: string, edit: Edit) => out.push({ category, label, edit });
  const setField = (category: Category, what: string, field: Field, values: readonly bigint[]) => {
    for (const v of values) add(category, `${what}=${v}`, put(field, v));
  };
  const relative = (field: Field, what: string, category: Category, deltas: readonly bigint[]) => {
    const base = get(fx.bytes, field);
    setField(category, what, field, deltas.map((d) => base + d).filter((v) => v >= 0n));
  };

  add("control", "unchanged", (b) => b);

  // truncation at every section boundary, and inside each field
  const cuts = new Set<number>([1, 3, 4, 6, 8, 12, 16, 20, 23, 24]);
  for (const kv of L.kvs) {
    for (const at of [kv.start, kv.start + 4, kv.keyLength.offset + 8, kv.type.offset, kv.type.offset + 4, kv.value, Math.floor((kv.value + kv.end) / 2)]) cuts.add(at);
  }
  for (const t of L.tensors) {
    for (const at of [t.start, t.start + 5, t.nDims.offset, t.nDims.offset + 4, t.type.offset, t.dataOffset.offset, t.dataOffset.offset + 4, t.end]) cuts.add(at);
  }
  for (const [begin, end] of tensorRanges(L)) for (const at of [begin, begin + 1, Math.floor((begin + end) / 2), end - 1]) cuts.add(at);
  for (const at of [L.dataStart - 1, L.dataStart, L.dataStart + 1, L.fileSize - 1]) cuts.add(at);
  for (const at of [...cuts].sort((a, b) => a - b)) if (at > 0 && at < L.fileSize) add("truncate", `truncate@${at}`, truncate(at));

  // header fields
  setField("header", "version", L.version, [0n, 1n, 2n, 4n, 0x30000000n, 0xffffffffn]);
  add("header", "magic=GGUG", (b) => (b.write("GGUG", 0, "latin1"), b));
  add("header", "magic=FUGG", (b) => (b.write("FUGG", 0, "latin1"), b));
  relative(L.tensorCount, "n_tensors", "header", [-1n, 1n, -BigInt(L.tensors.length)]);
  relative(L.kvCount, "n_kv", "header", [-1n, 1n, -BigInt(L.kvs.length)]);
  setField("absurd-size", "n_tensors", L.tensorCount, [2n ** 31n, 2n ** 40n, 2n ** 63n - 1n, U64_MAX]);
  setField("absurd-size", "n_kv", L.kvCount, [2n ** 31n, 2n ** 40n, 2n ** 63n - 1n, U64_MAX]);

  // key/value pairs
  for (const kv of L.kvs) {
    const k = `kv[${kv.key}]`;
    relative(kv.keyLength, `${k}.key_length`, "kv", [-1n, 1n, -BigInt(kv.key.length)]);
    setField("absurd-size", `${k}.key_length`, kv.keyLength, [BigInt(L.fileSize), 2n ** 32n, 2n ** 63n, U64_MAX]);
    setField("kv", `${k}.type`, kv.type, [8n, 9n, 13n, 0xffffffffn, kv.arrayType ? 4n : 9n]);
    if (kv.arrayType && kv.arrayCount) {
      setField("kv", `${k}.array_type`, kv.arrayType, [0n, 8n, 9n, 12n, 13n, 0xffffffffn]);
      relative(kv.arrayCount, `${k}.array_count`, "kv", [-1n, 1n, -get(fx.bytes, kv.arrayCount)]);
      setField("absurd-size", `${k}.array_count`, kv.arrayCount, [2n ** 40n, 2n ** 62n, U64_MAX]);
      if (kv.valueType === 8) {
        // the first string element's length
        setField("absurd-size", `${k}[0].length`, { offset: kv.value, size: 8 }, [2n ** 40n, 2n ** 63n]);
        relative({ offset: kv.value, size: 8 }, `${k}[0].length`, "kv", [1n, 100n]);
      }
    } else if (kv.valueType === 8) {
      relative({ offset: kv.value, size: 8 }, `${k}.length`, "kv", [-1n, 1n]);
      setField("absurd-size", `${k}.length`, { offset: kv.value, size: 8 }, [2n ** 40n, 2n ** 63n, U64_MAX]);
    } else if (kv.valueType === 4 || kv.valueType === 5) {
      setField("hparams", `${k}`, { offset: kv.value, size: 4 }, [0n, 1n, 3n, 0x7fffffffn, 0x80000000n, 0xffffffffn, get(fx.bytes, { offset: kv.value, size: 4 }) * 1000n]);
    } else if (kv.valueType === 6) {
      for (const [name, bits] of [["nan", 0x7fc00000n], ["inf", 0x7f800000n], ["-1", 0xbf800000n], ["0", 0n]] as const) {
        add("hparams", `${k}=${name}`, put({ offset: kv.value, size: 4 }, bits));
      }
    }
  }

  // tensor infos
  const ranges = tensorRanges(L);
  L.tensors.forEach((t, i) => {
    const k = `tensor[${t.name}]`;
    relative(t.nameLength, `${k}.name_length`, "tensor-info", [-1n, 1n, -BigInt(t.name.length)]);
    setField("tensor-info", `${k}.name_length`, t.nameLength, [64n, 200n]);
    setField("absurd-size", `${k}.name_length`, t.nameLength, [2n ** 40n, 2n ** 63n, U64_MAX]);
    setField("tensor-info", `${k}.n_dims`, t.nDims, [0n, 1n, 3n, 4n, 5n, 0x80000000n]);
    t.dims.forEach((d, j) => {
      setField("tensor-info", `${k}.ne[${j}]`, d, [0n, 1n, 255n, U64_MAX, get(fx.bytes, d) + 1n, get(fx.bytes, d) * 2n, get(fx.bytes, d) - 1n]);
      setField("absurd-size", `${k}.ne[${j}]`, d, [2n ** 32n, 2n ** 62n, 2n ** 63n - 1n, 2n ** 63n]);
    });
    setField("tensor-info", `${k}.type`, t.type, [0n, 1n, 2n, 4n, 5n, 8n, 12n, 14n, 16n, 24n, 26n, 30n, 39n, 40n, 100n, 0xffffffffn]);
    const off = get(fx.bytes, t.dataOffset);
    const prev = i > 0 ? BigInt(L.tensors[i - 1]!.relativeOffset) : 0n;
    setField("data-offset", `${k}.offset`, t.dataOffset, [...new Set([0n, prev, off + 1n, off + BigInt(L.alignment), off - BigInt(L.alignment), BigInt(L.fileSize), BigInt(L.fileSize - L.dataStart)])].filter((v) => v >= 0n && v !== off));
    setField("absurd-size", `${k}.offset`, t.dataOffset, [2n ** 62n, 2n ** 63n, U64_MAX]);
    // the tensor's data range overwritten with another tensor's bytes (parses; nonsense weights)
    const [b0, e0] = ranges[i]!;
    const other = ranges[(i + 1) % ranges.length]!;
    add("data-offset", `${k}.data=copy-of-next`, (b) => (b.copy(b, b0, other[0], Math.min(other[1], other[0] + (e0 - b0))), b));
  });

  // reshape/retype a tensor and rewrite every later offset, so the gguf parser accepts the file and
  // the problem reaches the checks after it (data past the end, shapes that contradict hparams)
  L.tensors.forEach((t, i) => {
    const k = `tensor[${t.name}]`;
    const shapes: Array<[string, readonly number[]]> = [
      ["double-rows", t.shape.map((d, j) => (j === t.shape.length - 1 ? d * 2 : d))],
      ["half-rows", t.shape.map((d, j) => (j === t.shape.length - 1 ? Math.max(1, Math.floor(d / 2)) : d))],
      ["huge-rows", t.shape.map((d, j) => (j === t.shape.length - 1 ? 2 ** 40 : d))],
    ];
    for (const [what, shape] of shapes) add("reshape", `${k}.shape=${what}`, reshape(L, types, i, shape, t.typeId));
    for (const type of [0, 1, 8, 12]) if (type !== t.typeId) add("reshape", `${k}.retype=${type}`, reshape(L, types, i, t.shape, type));
  });
  for (const d of semanticDrafts(fx.bytes)) add(d.category, d.label, d.edit);
  return out;
}

/** Sets tensor `index`'s shape and type and rewrites the data offsets of it and every later tensor. */
function reshape(L: GgufLayout, types: TypeSizes, index: number, shape: readonly number[], type: number): Edit {
  return (buf) => {
    const t = L.tensors[index]!;
    t.dims.forEach((d, j) => buf.writeBigUInt64LE(BigInt(shape[j]!), d.offset));
    buf.writeUInt32LE(type, t.type.offset);
    let offset = 0n;
    L.tensors.forEach((u, i) => {
      buf.writeBigUInt64LE(offset, u.dataOffset.offset);
      const s = i === index ? shape : u.shape;
      const [block, size] = types.get(i === index ? type : u.typeId) ?? [1, 1];
      const nbytes = (BigInt(s.reduce((a, b) => a * b, 1)) / BigInt(block)) * BigInt(size);
      const align = BigInt(L.alignment);
      offset += ((nbytes + align - 1n) / align) * align;
    });
    return buf;
  };
}

/** Random byte flips: in the header (most of them) or anywhere in the file. */
function randomFlip(fx: Fixture, random: () => number): Draft {
  const anywhere = random() < 0.25;
  const limit = anywhere ? fx.layout.fileSize : fx.layout.dataStart;
  const n = 1 + Math.floor(random() * 8);
  const edits: Array<[number, number]> = [];
  for (let i = 0; i < n; i++) edits.push([Math.floor(random() * limit), Math.floor(random() * 256)]);
  return {
    category: "random-flip",
    label: `${anywhere ? "file" : "header"}-flip:${edits.map(([o, v]) => `${o}=${v}`).join(",")}`,
    edit: (b) => {
      for (const [o, v] of edits) b[o] = v;
      return b;
    },
  };
}

/** Weights of the round-robin over categories: truncation boundaries and random flips get more turns. */
const WEIGHT: Partial<Record<Category, number>> = { truncate: 2, "random-flip": 3, control: 0, shape: 2, "per-layer": 2, vocab: 2, alignment: 1 };

/**
 * The first `count` cases for `seed`: one control per fixture, then the categories in a weighted
 * round-robin, each category's targeted mutations shuffled (all fixtures together); random flips
 * never run out.
 */
export function buildCases(fixtures: readonly Fixture[], types: TypeSizes, seed: number, count: number): FuzzCase[] {
  const random = prng(seed);
  const pools = new Map<Category, Array<Draft & { fixture: Fixture }>>();
  for (const fx of fixtures) {
    for (const d of drafts(fx, types)) {
      const pool = pools.get(d.category) ?? [];
      pool.push({ ...d, fixture: fx });
      pools.set(d.category, pool);
    }
  }
  for (const pool of pools.values()) {
    for (let i = pool.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [pool[i], pool[j]] = [pool[j]!, pool[i]!];
    }
  }
  const cases: FuzzCase[] = [];
  const push = (d: Draft, fx: Fixture) =>
    cases.push({ id: cases.length, fixture: fx.name, category: d.category, label: d.label, build: () => d.edit(Buffer.from(fx.bytes)) });
  for (const d of pools.get("control") ?? []) if (cases.length < count) push(d, d.fixture);
  const turns = CATEGORIES.flatMap((c) => Array<Category>(WEIGHT[c] ?? 1).fill(c));
  let flips = 0;
  while (cases.length < count) {
    for (const c of turns) {
      if (cases.length >= count) break;
      if (c === "random-flip") {
        const fx = fixtures[flips++ % fixtures.length]!;
        push(randomFlip(fx, random), fx);
        continue;
      }
      const d = pools.get(c)?.shift();
      if (d) push(d, d.fixture);
      else if ((SEMANTIC_CATEGORIES as readonly string[]).includes(c)) {
        // the targeted list ran out: random semantic mutations of the same kind never do
        const fx = fixtures[flips++ % fixtures.length]!;
        push(randomSemantic(fx.bytes, random, c as SemanticCategory), fx);
      }
    }
  }
  return cases;
}

export function loadFixture(name: string, path: string, bytes: Buffer): Fixture {
  return { name, path, bytes, layout: readLayout(bytes) };
}
