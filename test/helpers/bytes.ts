import { openSync, readSync, closeSync } from "node:fs";
import type { ModelInfo } from "../../lib/ops/inspect.js";

/** The raw bytes of one tensor's data, read at the offset inspect() reports. */
export function tensorBytes(model: ModelInfo, name: string): Buffer {
  const t = model.tensors.find((x) => x.name === name);
  if (!t) throw new Error(`no tensor ${name} in ${model.path}`);
  const buf = Buffer.alloc(t.bytes);
  const fd = openSync(model.path, "r");
  try {
    readSync(fd, buf, 0, t.bytes, t.offset);
  } finally {
    closeSync(fd);
  }
  return buf;
}
