// Semantic attacks (issue 12): files that gguf's parser accepts, because every offset, count and
// padding is rewritten to be consistent (scripts/shared/gguf-edit.ts), but whose meaning is hostile:
// absurd or empty shapes, per-layer hyperparameter arrays that contradict the tensors, a corrupted
// vocabulary, alignment values. Byte-level mutations (mutations.ts) rarely reach these: gguf.cpp
// rejects their files first. Targeted lists per fixture, plus random combinations that never run out.
import { GgufType, gv, intValue, parseGguf, serializeGguf, stringArray, type GgufModel, type GgufValue } from "../shared/gguf-edit.js";

export const SEMANTIC_CATEGORIES = ["shape", "per-layer", "vocab", "alignment"] as const;
export type SemanticCategory = (typeof SEMANTIC_CATEGORIES)[number];

export interface SemanticDraft {
  readonly category: SemanticCategory;
  readonly label: string;
  readonly edit: (buf: Buffer) => Buffer;
}

type ModelEdit = (m: GgufModel) => number | void; // may return an alignment to lay the file out with

function rebuild(edit: ModelEdit, fitData = true): (buf: Buffer) => Buffer {
  return (buf) => {
    const m = parseGguf(buf);
    const alignment = edit(m);
    return serializeGguf(m, { fitData, ...(typeof alignment === "number" ? { alignment } : {}) });
  };
}

const U32 = GgufType.U32;

function archOf(m: GgufModel): string {
  const v = m.kvs.get("general.architecture");
  return v ? v.bytes.toString("utf8", 8) : "llama";
}

function intKv(m: GgufModel, key: string, fallback: number): number {
  const v = m.kvs.get(key);
  try {
    return v ? intValue(v) : fallback;
  } catch {
    return fallback;
  }
}

function setTokens(m: GgufModel, change: (tokens: string[]) => void): void {
  const v = m.kvs.get("tokenizer.ggml.tokens");
  if (!v) return;
  const tokens = stringArray(v);
  change(tokens);
  m.kvs.set("tokenizer.ggml.tokens", gv.array(GgufType.STRING, tokens));
}

function shortenArray(v: GgufValue | undefined, by: number): GgufValue | undefined {
  if (!v || v.type !== GgufType.ARRAY) return v;
  const et = v.bytes.readUInt32LE(0);
  const n = Number(v.bytes.readBigUInt64LE(4));
  if (et === GgufType.STRING) return gv.array(GgufType.STRING, stringArrayOf(v).slice(0, Math.max(0, n - by)));
  const size = { 0: 1, 1: 1, 4: 4, 5: 4, 6: 4, 7: 1 }[et as 0 | 1 | 4 | 5 | 6 | 7];
  if (!size) return v;
  const head = Buffer.from(v.bytes.subarray(0, 12));
  const keep = Math.max(0, n - by);
  head.writeBigUInt64LE(BigInt(keep), 4);
  return { type: GgufType.ARRAY, bytes: Buffer.concat([head, v.bytes.subarray(12, 12 + keep * size)]) };
}

const stringArrayOf = (v: GgufValue) => stringArray(v);

/** A fixture's metadata and tensor infos without its data, parsed once per fixture. */
const summaries = new WeakMap<Buffer, GgufModel>();
function summaryOf(bytes: Buffer): GgufModel {
  let m = summaries.get(bytes);
  if (!m) {
    const full = parseGguf(bytes);
    m = { ...full, tensors: full.tensors.map((t) => ({ ...t, data: Buffer.alloc(0) })) };
    summaries.set(bytes, m);
  }
  return m;
}

/** The targeted semantic mutations of one fixture. */
export function semanticDrafts(bytes: Buffer): SemanticDraft[] {
  const base = summaryOf(bytes);
  const arch = archOf(base);
  const layers = intKv(base, `${arch}.block_count`, 2);
  const heads = intKv(base, `${arch}.attention.head_count`, 4);
  const kvHeads = intKv(base, `${arch}.attention.head_count_kv`, heads);
  const ff = intKv(base, `${arch}.feed_forward_length`, 256);
  const nVocab = base.kvs.has("tokenizer.ggml.tokens") ? stringArray(base.kvs.get("tokenizer.ggml.tokens")!).length : 0;
  const out: SemanticDraft[] = [];
  const add = (category: SemanticCategory, label: string, edit: ModelEdit, fitData = true) =>
    out.push({ category, label, edit: rebuild(edit, fitData) });
  const perLayer = (f: (il: number) => number) => Array.from({ length: layers }, (_, il) => f(il));

  // alignment: every power of two below and above 32, and values gguf rejects
  for (const a of [1, 2, 4, 8, 16, 64, 128, 4096, 65536]) add("alignment", `general.alignment=${a}`, (m) => (m.kvs.set("general.alignment", gv.u32(a)), a));
  for (const a of [0, 3, 48, 0xffffffff]) add("alignment", `general.alignment=${a} (laid out at 32)`, (m) => (m.kvs.set("general.alignment", gv.u32(a)), 32));
  add("alignment", "general.alignment as u64", (m) => (m.kvs.set("general.alignment", gv.u64(32n)), 32));
  add("alignment", "general.alignment=64, laid out at 32", (m) => (m.kvs.set("general.alignment", gv.u32(64)), 32));
  add("alignment", "general.alignment=16, laid out at 64", (m) => (m.kvs.set("general.alignment", gv.u32(16)), 64));

  // per-layer hyperparameter arrays (and scalars made consistent with reshaped tensors)
  const k = (s: string) => `${arch}.${s}`;
  const arrays: Array<[string, number[]]> = [
    ["attention.head_count_kv", perLayer((il) => (il === 0 ? kvHeads : Math.max(1, kvHeads / 2)))],
    ["attention.head_count_kv", perLayer((il) => (il === 0 ? kvHeads : kvHeads * 2))],
    ["attention.head_count_kv", perLayer((il) => (il === layers - 1 ? 0 : kvHeads))],
    ["attention.head_count_kv", perLayer(() => 3)],
    ["attention.head_count_kv", perLayer(() => heads + 1)],
    ["attention.head_count", perLayer((il) => (il === 0 ? heads : heads * 2))],
    ["attention.head_count", perLayer((il) => (il === layers - 1 ? 0 : heads))],
    ["attention.head_count", perLayer(() => 1)],
    ["feed_forward_length", perLayer((il) => (il === 0 ? ff : ff * 2))],
    ["feed_forward_length", perLayer((il) => (il === layers - 1 ? 0 : ff))],
    ["feed_forward_length", perLayer(() => ff + 1)],
  ];
  for (const [key, values] of arrays) {
    add("per-layer", `${key}=[${values.join(",")}]`, (m) => void m.kvs.set(k(key), gv.array(U32, values)));
    add("per-layer", `${key}=[${values.join(",")}] as i32`, (m) => void m.kvs.set(k(key), gv.array(GgufType.I32, values)));
  }
  for (const key of ["attention.head_count_kv", "attention.head_count", "feed_forward_length"]) {
    add("per-layer", `${key}: array one too short`, (m) => void m.kvs.set(k(key), gv.array(U32, perLayer(() => intKv(m, k(key), 1)).slice(1))));
    add("per-layer", `${key}: array one too long`, (m) => void m.kvs.set(k(key), gv.array(U32, [...perLayer(() => intKv(m, k(key), 1)), 1])));
    add("per-layer", `${key}: f32 array`, (m) => void m.kvs.set(k(key), gv.array(GgufType.F32, perLayer(() => intKv(m, k(key), 1)))));
    add("per-layer", `${key}: string array`, (m) => void m.kvs.set(k(key), gv.array(GgufType.STRING, Array.from({ length: layers }, () => "4"))));
    add("per-layer", `${key}: empty array`, (m) => void m.kvs.set(k(key), gv.array(U32, [])));
  }
  const headDim = intKv(base, k("attention.key_length"), 0) || intKv(base, k("embedding_length"), 256) / heads;
  for (const kv of [3, heads * 2, 1]) {
    add("per-layer", `head_count_kv=${kv} with attn_k/attn_v reshaped to match`, (m) => {
      m.kvs.set(k("attention.head_count_kv"), gv.u32(kv));
      for (const t of m.tensors) if (/\.attn_[kv]\.weight$/.test(t.name) && t.shape.length === 2) t.shape = [t.shape[0]!, BigInt(headDim * kv)];
    });
  }
  add("per-layer", "head_count doubled with attn_q reshaped to match", (m) => {
    m.kvs.set(k("attention.head_count"), gv.u32(heads * 2));
    for (const t of m.tensors) if (/\.attn_q\.weight$/.test(t.name) && t.shape.length === 2) t.shape = [t.shape[0]!, t.shape[1]! * 2n];
  });
  for (const [key, v] of [
    ["rope.dimension_count", 0], ["rope.dimension_count", 1], ["rope.dimension_count", 4096], ["attention.key_length", 1],
    ["attention.value_length", 4096], ["context_length", 0], ["context_length", 1], ["embedding_length", 128], ["vocab_size", 1],
  ] as const) {
    add("per-layer", `${key}=${v}`, (m) => void m.kvs.set(k(key), gv.u32(v)));
  }

  add("per-layer", "attention.causal=false", (m) => void m.kvs.set(k("attention.causal"), { type: GgufType.BOOL, bytes: Buffer.from([0]) }));

  // vocabulary
  if (nVocab > 0) {
    for (const [a, b] of [[0, 1], [1, 2], [3, 300], [nVocab - 2, nVocab - 1], [100, 13], [1000, 1001]].filter(([a, b]) => a! < nVocab && b! < nVocab) as Array<[number, number]>) {
      add("vocab", `token ${b} = token ${a}`, (m) => setTokens(m, (t) => void (t[b] = t[a]!)));
    }
    add("vocab", `token ${nVocab >> 1} empty`, (m) => setTokens(m, (t) => void (t[nVocab >> 1] = "")));
    add("vocab", "every byte token renamed", (m) => setTokens(m, (t) => t.forEach((s, i) => /^<0x[0-9A-F]{2}>$/.test(s) && (t[i] = `x${s}`))));
    add("vocab", "newline byte token removed", (m) => setTokens(m, (t) => t.forEach((s, i) => s === "<0x0A>" && (t[i] = "<newline>"))));
    add("vocab", "tokens one short of token_embd", (m) => void m.kvs.set("tokenizer.ggml.tokens", shortenArray(m.kvs.get("tokenizer.ggml.tokens"), 1)!));
    add("vocab", "tokens one more than token_embd", (m) => setTokens(m, (t) => void t.push("<extra>")));
    add("vocab", "scores one short", (m) => void (m.kvs.has("tokenizer.ggml.scores") && m.kvs.set("tokenizer.ggml.scores", shortenArray(m.kvs.get("tokenizer.ggml.scores"), 1)!)));
    add("vocab", "token_type one short", (m) => void (m.kvs.has("tokenizer.ggml.token_type") && m.kvs.set("tokenizer.ggml.token_type", shortenArray(m.kvs.get("tokenizer.ggml.token_type"), 1)!)));
    add("vocab", "token_type all 99", (m) => void m.kvs.set("tokenizer.ggml.token_type", gv.array(GgufType.I32, Array(nVocab).fill(99))));
    add("vocab", "token_type all control", (m) => void m.kvs.set("tokenizer.ggml.token_type", gv.array(GgufType.I32, Array(nVocab).fill(3))));
    add("vocab", "tokens removed", (m) => void m.kvs.delete("tokenizer.ggml.tokens"));
    for (const id of ["bos", "eos", "unknown", "padding", "eot", "sep"]) {
      for (const v of [nVocab, nVocab + 1000, 0x7fffffff, 0xffffffff]) add("vocab", `${id}_token_id=${v}`, (m) => void m.kvs.set(`tokenizer.ggml.${id}_token_id`, gv.u32(v)));
    }
    add("vocab", "add_bos with bos removed", (m) => {
      m.kvs.delete("tokenizer.ggml.bos_token_id");
      m.kvs.set("tokenizer.ggml.add_bos_token", { type: GgufType.BOOL, bytes: Buffer.from([1]) });
    });
    for (const model of ["gpt2", "bert", "t5", "rwkv", "none", "unknown", ""]) add("vocab", `tokenizer.ggml.model=${JSON.stringify(model)}`, (m) => void m.kvs.set("tokenizer.ggml.model", gv.string(model)));
    add("vocab", "merges empty (gpt2)", (m) => {
      m.kvs.set("tokenizer.ggml.model", gv.string("gpt2"));
      m.kvs.set("tokenizer.ggml.merges", gv.array(GgufType.STRING, []));
    });
    add("vocab", "merges nonsense (gpt2)", (m) => {
      m.kvs.set("tokenizer.ggml.model", gv.string("gpt2"));
      m.kvs.set("tokenizer.ggml.merges", gv.array(GgufType.STRING, ["a", " ", "a b c", "\u0000 x", "zz yy"]));
    });
    add("vocab", "pre-tokenizer unknown", (m) => void m.kvs.set("tokenizer.ggml.pre", gv.string("no-such-pre")));
  }

  // shapes with consistent offsets (data cut or zero-padded to the new size)
  for (const t of base.tensors) {
    const name = t.name;
    const at = (m: GgufModel) => m.tensors.find((x) => x.name === name)!;
    const s = t.shape;
    const variants: Array<[string, bigint[]]> = [["zero ne[0]", [0n, ...s.slice(1)]], ["all dims zero", s.map(() => 0n)]];
    if (s.length >= 2) {
      variants.push(
        ["transposed", [s[1]!, s[0]!, ...s.slice(2)]],
        ["zero ne[1]", [s[0]!, 0n, ...s.slice(2)]],
        ["flattened to 1-D", [s.reduce((a, b) => a * b, 1n)]],
        ["ne[1] split into 3-D", [s[0]!, s[1]! / 2n, 2n]],
        ["one row", [s[0]!, 1n]],
        ["[1, n]", [1n, s.reduce((a, b) => a * b, 1n)]],
        ["zero and 2^62", [0n, 2n ** 62n]],
        ["2^32 × 2^31 (no data)", [2n ** 32n, 2n ** 31n]],
      );
    } else {
      variants.push(["doubled", [s[0]! * 2n]], ["halved", [s[0]! / 2n]], ["as a matrix [n, 2]", [s[0]!, 2n]], ["length 1", [1n]]);
    }
    for (const [what, shape] of variants) add("shape", `tensor[${name}] ${what}`, (m) => void (at(m).shape = shape));
  }
  return out;
}

/** A random semantic mutation (never runs out): a random per-layer array, vocabulary edit or shape. */
export function randomSemantic(bytes: Buffer, random: () => number, kind: SemanticCategory): SemanticDraft {
  const base = summaryOf(bytes);
  const arch = archOf(base);
  const layers = intKv(base, `${arch}.block_count`, 2);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  if (kind === "per-layer") {
    const key = pick(["attention.head_count_kv", "attention.head_count", "feed_forward_length", "rope.dimension_count", "attention.key_length"]);
    const values = Array.from({ length: layers }, () => pick([0, 1, 2, 3, 4, 8, 64, 256, 1000]));
    return { category: "per-layer", label: `random ${key}=[${values.join(",")}]`, edit: rebuild((m) => void m.kvs.set(`${arch}.${key}`, gv.array(U32, values))) };
  }
  if (kind === "vocab") {
    const n = base.kvs.has("tokenizer.ggml.tokens") ? stringArray(base.kvs.get("tokenizer.ggml.tokens")!).length : 1;
    const a = Math.floor(random() * n);
    const b = Math.floor(random() * n);
    return { category: "vocab", label: `random token ${b} = token ${a}`, edit: rebuild((m) => setTokens(m, (t) => void (t[b] = t[a]!))) };
  }
  if (kind === "alignment") {
    const a = 2 ** Math.floor(random() * 13);
    const lay = pick([a, 32, 1, 64]);
    return { category: "alignment", label: `random general.alignment=${a}, laid out at ${lay}`, edit: rebuild((m) => (m.kvs.set("general.alignment", gv.u32(a)), lay)) };
  }
  const t = pick(base.tensors);
  const dims = Array.from({ length: 1 + Math.floor(random() * 4) }, () => BigInt(pick([0, 1, 2, 3, 7, 32, 256, 512, 32000])));
  return {
    category: "shape",
    label: `random tensor[${t.name}] shape=[${dims.join(",")}] type=${t.type}`,
    edit: rebuild((m) => void (m.tensors.find((x) => x.name === t.name)!.shape = dims)),
  };
}
