// Cache-damage mode (issue 22): damages a warm cache the way a careless hand, a bad disk or another
// machine of a fleet would, one damage per case, and reruns the same `apreqel quantize` over it.
//   npx vite-node scripts/fuzz/cache.ts [--seed 1] [--per-kind 1] [--out DIR] [--vocab V.gguf] [--timeout 300]
// Kinds of entry damaged: uniform (model.gguf), similarity (meta.json, cos.f32, imatrix.gguf),
// probe (probe.json), measurement (result.json: latency, accuracy, matmul costs); damages:
// truncate, flip 8 bytes, garbage, null fields (rewritten with a matching manifest hash, so only
// the loaders' shape checks can catch it), a symlink to a user's file in place of the file, a
// stray file in the entry; and cache-wide: a stray file in tmp/ and entries/, log.jsonl as a
// symlink to the model, garbage and swapped hash memos. Each case runs in a fresh copy of the warm
// cache. Counted per case: the exit code, raw stacks on stderr, user files changed, and silent-wrong
// outputs: a mix (exit 0) whose tensor bytes are not those of the warm cache's uniform file of
// the tensor's type. Writes summary.json, cases.jsonl and summary.md to DIR; exits 1 on any
// silent-wrong output, touched user file or raw stack.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { appendFileSync, closeSync, cpSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, symlinkSync, writeFileSync, writeSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { packageRoot } from "../../lib/core/package.js";
import { inspect } from "../../lib/ops/inspect.js";
import { prepareFixtures } from "./harness.js";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : process.argv[i + 1]!;
}
const seed = Number(arg("seed", "1"));
const perKind = Number(arg("per-kind", "1"));
const timeoutMs = Number(arg("timeout", "300")) * 1000;
const out = path.resolve(arg("out", path.join(os.tmpdir(), `apreqel-fuzz-cache-s${seed}`)));
const vocabArg = arg("vocab", path.join(packageRoot, "..", "shared", "models", "stories260K.gguf"));
const vocab = existsSync(vocabArg) ? path.resolve(vocabArg) : undefined;

// deterministic choices (mulberry32)
let state = seed >>> 0;
function random(): number {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pickOne = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;

const sha = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");

async function run(args: readonly string[], cwd: string): Promise<{ code: number | null; stderr: string; stdout: string; seconds: number }> {
  const started = performance.now();
  const child = spawn(process.execPath, [path.join(packageRoot, "bin", "apreqel.js"), ...args], { cwd, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
  clearTimeout(timer);
  return { code, stderr, stdout, seconds: (performance.now() - started) / 1000 };
}

// ---- setup: dist, a small model, texts, the user's files, a warm cache
mkdirSync(out, { recursive: true });
{
  const tsc = spawn(process.execPath, [path.join(packageRoot, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.build.json"], { cwd: packageRoot, stdio: "inherit" });
  const code = await new Promise<number | null>((resolve) => tsc.on("exit", resolve));
  if (code !== 0) throw new Error("tsc -p tsconfig.build.json failed");
}
const fixtures = await prepareFixtures(path.join(os.tmpdir(), `apreqel-fuzz-fixtures-${process.getuid?.() ?? 0}`), vocab);
const user = path.join(out, "user");
rmSync(user, { recursive: true, force: true });
mkdirSync(user, { recursive: true });
const model = path.join(user, "model.gguf");
cpSync(fixtures.find((f) => f.name === "f16")!.path, model);
const notes = path.join(user, "notes.txt");
writeFileSync(notes, "a user's notes: never to be touched\n");
const calibration = path.join(user, "calibration.txt");
const prose = "The old lighthouse keeper climbed the stairs each evening, counting the steps and listening to the sea below. ";
writeFileSync(calibration, Array.from({ length: 6 }, (_, i) => prose.repeat(3 + i)).join("\n\n"));
const evalText = path.join(user, "eval.txt");
writeFileSync(evalText, prose.repeat(40));
const userFiles = [model, notes, calibration, evalText];
const userShas = userFiles.map(sha);

const runArgs = (cache: string, output: string) => [
  "quantize", model, "-o", output, "--cache-dir", cache, "--types", "q8_0,q4_K", "--calibration", calibration, "--eval-text", evalText,
  "--ctx", "64", "--chunks", "2", "--probe-chunks", "2", "--n-gen", "4", "--n-prompt", "8", "--reps", "1", "--threads", "2", "--latency-model", "unit", "--force",
];

const warm = path.join(out, "warm-cache");
rmSync(warm, { recursive: true, force: true });
console.log(`warming ${warm} …`);
const first = await run(runArgs(warm, path.join(out, "warm-mix.gguf")), out);
if (first.code !== 0) throw new Error(`the warm-up run failed (${first.code}):\n${first.stderr}`);

interface Entry { readonly id: string; readonly kind: string; readonly type: string | null; readonly description: string; readonly files: readonly string[] }
const entries: Entry[] = readdirSync(path.join(warm, "entries")).map((id) => {
  const m = JSON.parse(readFileSync(path.join(warm, "entries", id, "manifest.json"), "utf8")) as { inputs: { kind: string; type: string | null }; description?: string; files: { name: string }[] };
  return { id, kind: m.inputs.kind, type: m.inputs.type, description: m.description ?? "", files: m.files.map((f) => f.name) };
});
// the uniform files as the warm run made them: every tensor of a correct mix is one of theirs, byte for byte
const references = new Map<string, string>();
for (const e of entries) if (e.kind === "uniform" && e.type !== null) references.set(e.type, path.join(warm, "entries", e.id, "model.gguf"));
console.log(`warm cache: ${entries.length} entries (${[...new Set(entries.map((e) => e.kind))].join(", ")}), warm run ${first.seconds.toFixed(0)} s`);

// ---- the damages
type Damage = "truncate" | "flip" | "garbage" | "null-fields" | "symlink" | "stray-in-entry";
interface Case { readonly id: number; readonly label: string; readonly apply: (cache: string) => void }

function rehash(cache: string, entryId: string, name: string): void {
  // a damage made consistent with the manifest (as a fleet peer with a bug would publish it): only the loaders can tell
  const dir = path.join(cache, "entries", entryId);
  const manifestPath = path.join(dir, "manifest.json");
  const m = JSON.parse(readFileSync(manifestPath, "utf8")) as { files: { name: string; bytes: number; sha256: string }[] };
  for (const f of m.files) if (f.name === name) Object.assign(f, { bytes: statSync(path.join(dir, name)).size, sha256: sha(path.join(dir, name)) });
  writeFileSync(manifestPath, JSON.stringify(m));
  rmSync(path.join(dir, "verified.json"), { force: true });
}

function nullFirstNumber(value: unknown): unknown {
  let done = false;
  const walk = (v: unknown): unknown => {
    if (done) return v;
    if (typeof v === "number") {
      done = true;
      return null;
    }
    if (Array.isArray(v)) return v.map(walk);
    if (typeof v === "object" && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(value);
}

function damage(kind: Damage, entry: Entry, name: string): (cache: string) => void {
  return (cache) => {
    const file = path.join(cache, "entries", entry.id, name);
    const size = statSync(file).size;
    if (kind === "truncate") writeFileSync(file, readFileSync(file).subarray(0, Math.floor(size / 2)));
    else if (kind === "flip") {
      const at = Math.floor(random() * Math.max(1, size - 8));
      const buf = Buffer.alloc(Math.min(8, size));
      const fd = openSync(file, "r+");
      readSync(fd, buf, 0, buf.length, at);
      for (let i = 0; i < buf.length; i++) buf[i] = buf[i]! ^ 0xff;
      writeSync(fd, buf, 0, buf.length, at);
      closeSync(fd);
    } else if (kind === "garbage") writeFileSync(file, Buffer.from(Array.from({ length: size }, () => Math.floor(random() * 256))));
    else if (kind === "null-fields") {
      writeFileSync(file, JSON.stringify(nullFirstNumber(JSON.parse(readFileSync(file, "utf8")))));
      rehash(cache, entry.id, name);
    } else if (kind === "symlink") {
      rmSync(file);
      symlinkSync(pickOne([notes, model]), file);
    } else writeFileSync(path.join(cache, "entries", entry.id, "stray.txt"), "left here by someone\n");
  };
}
const cases: Case[] = [];
const kinds = [...new Set(entries.map((e) => e.kind))].sort();
for (const kind of kinds) {
  const ofKind = entries.filter((e) => e.kind === kind);
  for (let k = 0; k < perKind; k++) {
    const entry = pickOne(ofKind);
    for (const name of entry.files) {
      const isJson = name.endsWith(".json");
      for (const d of ["truncate", "flip", "garbage", ...(isJson ? ["null-fields"] : []), "symlink"] as Damage[]) {
        cases.push({ id: cases.length, label: `${kind} ${entry.type ?? ""} ${name}: ${d}`.replace(/\s+/g, " "), apply: damage(d, entry, name) });
      }
    }
    cases.push({ id: cases.length, label: `${kind} ${entry.type ?? ""}: stray-in-entry`.replace(/\s+/g, " "), apply: damage("stray-in-entry", entry, entry.files[0]!) });
  }
}
cases.push({ id: cases.length, label: "cache: stray file in tmp/", apply: (c) => writeFileSync(path.join(c, "tmp", "stray"), "x") });
cases.push({ id: cases.length, label: "cache: stray file and folder in entries/", apply: (c) => (writeFileSync(path.join(c, "entries", "README"), "x"), mkdirSync(path.join(c, "entries", "f".repeat(64)))) });
cases.push({ id: cases.length, label: "cache: log.jsonl a symlink to the model", apply: (c) => (rmSync(path.join(c, "log.jsonl"), { force: true }), symlinkSync(model, path.join(c, "log.jsonl"))) });
cases.push({
  id: cases.length,
  label: "cache: hash memos garbage",
  apply: (c) => {
    for (const n of readdirSync(path.join(c, "hashes"))) writeFileSync(path.join(c, "hashes", n), "{garbage");
  },
});
cases.push({
  id: cases.length,
  label: "cache: hash memos claim another model's hash",
  apply: (c) => {
    for (const n of readdirSync(path.join(c, "hashes"))) {
      const m = JSON.parse(readFileSync(path.join(c, "hashes", n), "utf8")) as Record<string, unknown>;
      writeFileSync(path.join(c, "hashes", n), JSON.stringify({ ...m, sha256: "0".repeat(64) }));
    }
  },
});

// ---- run
async function silentWrong(mix: string): Promise<string | null> {
  const info = await inspect(mix);
  const refs = await Promise.all([...references.values()].map(async (f) => ({ file: f, info: await inspect(f) })));
  const bytesOf = (file: string, offset: number, n: number) => {
    const buf = Buffer.alloc(n);
    const fd = openSync(file, "r");
    readSync(fd, buf, 0, n, offset);
    closeSync(fd);
    return buf;
  };
  for (const t of info.tensors) {
    const mine = bytesOf(mix, t.offset, t.bytes);
    const match = refs.some((r) => {
      const u = r.info.tensors.find((x) => x.name === t.name && x.type === t.type);
      return u !== undefined && u.bytes === t.bytes && bytesOf(r.file, u.offset, u.bytes).equals(mine);
    });
    if (!match) return `${t.name} (${t.type}) matches no uniform file's bytes`;
  }
  return null;
}

// the detector itself, checked both ways: the warm run's mix passes, the same mix with 8 bytes flipped in a tensor does not
{
  const warmMix = path.join(out, "warm-mix.gguf");
  const why = await silentWrong(warmMix);
  if (why !== null) throw new Error(`the warm run's own mix fails the silent-wrong check: ${why}`);
  const flipped = path.join(out, "flipped-mix.gguf");
  cpSync(warmMix, flipped);
  const last = (await inspect(flipped)).tensors.at(-1)!;
  const fd = openSync(flipped, "r+");
  writeSync(fd, Buffer.alloc(8, 0xa5), 0, 8, last.offset);
  closeSync(fd);
  if ((await silentWrong(flipped)) === null) throw new Error("the silent-wrong check does not see 8 flipped bytes");
  rmSync(flipped);
}

const RAW = /^\s+at .+[(:]\d+|TypeError|SyntaxError|ReferenceError|RangeError|ENOTDIR|unhandled|Unhandled/m;
const log = path.join(out, "cases.jsonl");
rmSync(log, { force: true });
const results: { id: number; label: string; code: number | null; seconds: number; rawStack: boolean; userFilesTouched: number; silentWrong: string | null; notes: number; stderr: string }[] = [];
for (const c of cases) {
  const cache = path.join(out, "case-cache");
  rmSync(cache, { recursive: true, force: true });
  cpSync(warm, cache, { recursive: true, verbatimSymlinks: true });
  c.apply(cache);
  const mix = path.join(out, "case-mix.gguf");
  rmSync(mix, { force: true });
  const r = await run(runArgs(cache, mix), out);
  const touched = userFiles.filter((f, i) => sha(f) !== userShas[i]).length;
  const wrong = r.code === 0 ? await silentWrong(mix) : null;
  const result = {
    id: c.id,
    label: c.label,
    code: r.code,
    seconds: Math.round(r.seconds),
    rawStack: RAW.test(r.stderr),
    userFilesTouched: touched,
    silentWrong: wrong,
    notes: (r.stderr.match(/apreqel: cache: /g) ?? []).length,
    stderr: r.stderr.split("\n").filter((l) => !/^\r|\[\d+\/\d+/.test(l)).slice(-6).join("\n"),
  };
  results.push(result);
  appendFileSync(log, JSON.stringify(result) + "\n");
  console.log(`case ${c.id} [${c.label}]: exit ${r.code}, ${result.notes} note(s), ${r.seconds.toFixed(0)} s${result.rawStack ? ", RAW STACK" : ""}${touched ? `, ${touched} USER FILE(S) TOUCHED` : ""}${wrong ? `, SILENT WRONG: ${wrong}` : ""}`);
  // a restored user file keeps the next case honest
  if (touched) throw new Error("a user file was changed; stopping (see the case above)");
}

const summary = {
  seed,
  cases: results.length,
  exit0: results.filter((r) => r.code === 0).length,
  failedRuns: results.filter((r) => r.code !== 0).map((r) => ({ id: r.id, label: r.label, code: r.code, stderr: r.stderr })),
  silentWrong: results.filter((r) => r.silentWrong !== null).length,
  userFilesTouched: results.reduce((s, r) => s + r.userFilesTouched, 0),
  rawStacks: results.filter((r) => r.rawStack).length,
  withNote: results.filter((r) => r.notes > 0).length,
  warmRunSeconds: Math.round(first.seconds),
};
writeFileSync(path.join(out, "summary.json"), JSON.stringify(summary, null, 2));
const md = [
  `| cases | exit 0 | other exits | silent-wrong outputs | user files touched | raw stacks | runs that noted a damaged entry |`,
  `|---|---|---|---|---|---|---|`,
  `| ${summary.cases} | ${summary.exit0} | ${summary.failedRuns.length} | ${summary.silentWrong} | ${summary.userFilesTouched} | ${summary.rawStacks} | ${summary.withNote} |`,
].join("\n");
writeFileSync(path.join(out, "summary.md"), md + "\n");
console.log(JSON.stringify({ ...summary, failedRuns: summary.failedRuns.map((f) => `${f.id} ${f.label}: ${f.code}`) }, null, 2));
console.log(md);
process.exitCode = summary.silentWrong + summary.userFilesTouched + summary.rawStacks > 0 ? 1 : 0;
