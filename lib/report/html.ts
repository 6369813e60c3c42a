/** The report page: one self-contained HTML file, charts inlined as SVG, no scripts. */
import { formatLatency, formatNumber, formatPerplexity, LATENCY_HEADER, PERPLEXITY_HEADER } from "../core/format.js";
import type { ReportInput } from "./types.js";

/** A rendered chart: its id (also the SVG file name when SVGs are written) and markup. */
export interface RenderedChart {
  readonly id: string;
  readonly caption: string;
  readonly svg: string;
}

/**
 * Escapes text for HTML content and attributes.
 *
 * @example
 * escapeHtml('<q4_K & "x">') // "&lt;q4_K &amp; &quot;x&quot;&gt;"
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string);
}

/**
 * The page: title, notes, the charts, and a table of every point (the numbers behind the charts),
 * each value printed by core/format.ts as in the CLI's tables.
 *
 * @example
 * const html = reportHtml(input, charts);
 */
export function reportHtml(input: ReportInput, charts: readonly RenderedChart[]): string {
  const kld = input.accuracy === "kld";
  const rows = [
    ...(input.source ? [{ series: "source", name: input.source.label, ...input.source }] : []),
    ...input.uniform.map((p) => ({ series: "uniform", name: p.type, ...p })),
    ...input.mixed.map((p) => ({ series: "mixed", name: `${p.id} (${p.category})`, ...p })),
    ...(input.presets ?? []).map((p) => ({ series: "llama.cpp preset", name: p.preset, ...p })),
    ...(input.references ?? []).map((p) => ({ series: "reference", name: p.label, ...p })),
  ];
  const table = rows
    .map(
      (r) =>
        `<tr data-series="${escapeHtml(r.series)}"><td>${escapeHtml(r.series)}</td><td>${escapeHtml(r.name)}</td>` +
        `<td>${formatNumber(r.memoryBytes / 1e6, 5)}</td><td>${formatLatency(r, "")}</td><td>${formatPerplexity(r)}</td>${kld ? `<td>${formatKld(r)}</td>` : ""}</tr>`,
    )
    .join("\n");
  const figures = charts
    // the Pareto views scale to their column; the type map keeps its size (its cells are 14 px, its text would grow)
    .map((c) => `<figure id="${escapeHtml(c.id)}"${c.id.startsWith("pareto-") ? ' class="pareto"' : ""}>${stripXmlProlog(c.svg)}<figcaption>${escapeHtml(c.caption)}</figcaption></figure>`)
    .join("\n");
  const notes = (input.notes ?? []).map((n) => `<li>${escapeHtml(n)}</li>`).join("");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="apreqel">
<title>${escapeHtml(input.title)}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 560px), 1fr)); gap: 1.5rem; }
figure { margin: 0; }
figure svg { max-width: 100%; height: auto; }
figure.pareto svg { width: 100%; }
figcaption { font-size: 0.85rem; color: #555; max-width: 40rem; }
table { border-collapse: collapse; font-size: 0.85rem; margin-top: 1.5rem; }
td, th { border-bottom: 1px solid #ddd; padding: 0.2rem 0.6rem; text-align: right; }
td:nth-child(-n+2), th:nth-child(-n+2) { text-align: left; }
</style>
</head>
<body>
<h1>${escapeHtml(input.title)}</h1>
${notes === "" ? "" : `<ul class="notes">${notes}</ul>`}
<div class="charts">
${figures}
</div>
<table>
<thead><tr><th>series</th><th>model</th><th>memory (MB)</th><th>${LATENCY_HEADER.replace("/token", " (ms/token)")}</th><th>${PERPLEXITY_HEADER}</th>${kld ? "<th>KLD ± se</th>" : ""}</tr></thead>
<tbody>
${table}
</tbody>
</table>
<p class="notes">Values are ${input.measured ? "measured" : "estimated from the uniform profile"}.</p>
</body>
</html>
`;
}

/** KLD from the source ± its stderr, the estimate alone, or nothing where not known. */
function formatKld(p: { readonly kld?: number; readonly kldStderr?: number }): string {
  if (p.kld === undefined || !Number.isFinite(p.kld)) return "";
  return p.kldStderr !== undefined ? `${formatNumber(p.kld, 4)} ± ${formatNumber(p.kldStderr, 2)}` : formatNumber(p.kld, 4);
}

function stripXmlProlog(svg: string): string {
  return svg.replace(/^<\?xml[^>]*>\s*/, "");
}
