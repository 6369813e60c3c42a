// Redraws docs/results' figures from docs/results/study.json without measuring anything (after a
// change to the chart code). The document is written to a temp folder and only the SVGs are copied
// back: docs/results.md carries sections appended by other scripts, which a rewrite would drop.
//   npx vite-node scripts/eval/study-render.ts [STUDY.json]
import { promises as fs, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { writeStudy, type Study } from "./study-doc.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const input = path.resolve(process.argv[2] ?? path.join(root, "docs", "results", "study.json"));
const figDir = path.dirname(input);
const study = JSON.parse(readFileSync(input, "utf8")) as Study;
const temp = await fs.mkdtemp(path.join(os.tmpdir(), "apreqel-study-render-"));
try {
  await writeStudy(study, { outFile: path.join(temp, "results.md"), figDir: path.join(temp, "results"), root });
  const svgs = (await fs.readdir(path.join(temp, "results"))).filter((f) => f.endsWith(".svg"));
  for (const f of svgs) await fs.copyFile(path.join(temp, "results", f), path.join(figDir, f));
  console.log(`redrew ${svgs.length} figures in ${path.relative(root, figDir)} from ${path.relative(root, input)}`);
} finally {
  await fs.rm(temp, { recursive: true, force: true });
}
