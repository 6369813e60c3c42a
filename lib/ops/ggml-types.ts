/**
 * ggml tensor types, as the linked ggml defines them (names, block and byte sizes), and the
 * targets llama.cpp can quantize to. One place: everything else asks here.
 */
import { unknownName } from "../core/errors.js";
import { binding } from "../native/binding.js";

/** A ggml tensor type as the linked ggml defines it (the method's `GgmlType` is the name alone). */
export interface GgmlTypeInfo {
  readonly name: string;
  readonly blockSize: number;
  /** bytes per block */
  readonly typeSize: number;
  readonly quantized: boolean;
  /** bits per weight: typeSize·8 / blockSize */
  readonly bitsPerWeight: number;
}

let table: ReadonlyMap<string, GgmlTypeInfo> | undefined;

export function ggmlTypes(): ReadonlyMap<string, GgmlTypeInfo> {
  table ??= new Map(
    binding()
      .ggmlTypes()
      .map((t) => [t.name, { name: t.name, blockSize: t.blockSize, typeSize: t.typeSize, quantized: t.quantized, bitsPerWeight: (t.typeSize * 8) / t.blockSize }]),
  );
  return table;
}

/** Types `quantize({ type })` accepts (pure quantization targets). */
export function quantizeTypes(): readonly string[] {
  return binding().quantizeTargets().types;
}

/** llama.cpp's own mixes (`quantize({ preset: "Q4_K_M" })`), for baselines. */
export function quantizePresets(): readonly string[] {
  return binding().quantizeTargets().presets;
}

/** The type named `name`, or an OptionError naming `option` with the nearest valid name. */
export function requireGgmlType(name: unknown, option: string, valid: readonly string[] = [...ggmlTypes().keys()]): string {
  if (typeof name !== "string" || !valid.includes(name)) {
    throw unknownName(option, "ggml type", String(name), valid);
  }
  return name;
}
