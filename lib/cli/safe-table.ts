/**
 * The summary printed after an output is written: by then the file is complete and in place, so a
 * fault while formatting the table (a value no check foresaw) must not turn a finished run into
 * exit 1 with a raw TypeError (issue 22). The table is built before "wrote" is printed; a fault
 * becomes one note saying the output is complete.
 */

/**
 * The table's lines, or a one-line note when building them throws.
 *
 * @example
 * tableLines(() => resultTable(types, r, estimate), "apreqel quantize") // ["  type   …", …]
 */
export function tableLines(build: () => readonly string[], command: string): readonly string[] {
  try {
    return build();
  } catch (e) {
    return [`note: ${command}: the output is complete, but its summary table could not be shown (${e instanceof Error ? e.message : String(e)})`];
  }
}
