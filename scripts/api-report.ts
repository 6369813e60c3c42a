/**
 * Writes docs/api-report.md: every name the package's doors export, with its signature
 * (scripts/shared/api-report.ts). Run after changing the public API, and review the diff:
 *   npx vite-node scripts/api-report.ts
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { packageRoot } from "../lib/core/package.js";
import { apiReport, REPORT_FILE } from "./shared/api-report.js";

const file = path.join(packageRoot, REPORT_FILE);
writeFileSync(file, apiReport(packageRoot));
console.log(`wrote ${file}`);
