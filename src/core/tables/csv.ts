import { DataError } from "../errors";

/**
 * xCAT's tabdump/tabrestore CSV (tabutils.pm). Dump: header `#col,...`; a set value is written
 * in double quotes with `"` doubled; an unset one is written as nothing; N columns give
 * exactly N-1 commas; newlines inside values are written raw. Restore follows tabrestore's
 * reader: the header may be quoted, a quoted field may span lines, a row may have fewer
 * fields than columns (the rest are unset), and too many fields is an error.
 */
export function dumpCsv(cols: readonly string[], rows: readonly Record<string, string>[]): string {
  const out: string[] = [`#${cols.join(",")}`];
  for (const row of rows) {
    out.push(cols.map((c) => (row[c] === undefined || row[c] === "" ? "" : `"${row[c].replace(/"/g, '""')}"`)).join(","));
  }
  return `${out.join("\n")}\n`;
}

export interface ParsedCsv {
  columns: string[];
  /** Each record with the 1-based line it starts on, for error messages. */
  rows: { line: number; values: Record<string, string> }[];
}

export function parseCsv(text: string, file: string, knownColumns: readonly string[]): ParsedCsv {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  // xCAT strips quotes that "overzealous CSV apps" put around header names; we also accept
  // a quote before the # for the same reason.
  const headerRaw = lines[0]?.replace(/"/g, "");
  if (headerRaw === undefined || !headerRaw.startsWith("#")) {
    throw new DataError(`${file}:1: data missing header line starting with #`, {
      hint: "the first line must list the columns, as tabdump writes it: #col1,col2,...",
    });
  }
  const columns = headerRaw.slice(1).replace(/\s+$/, "").split(",");
  for (const c of columns) {
    if (!knownColumns.includes(c)) {
      throw new DataError(`${file}:1: the header names column '${c}', which this table does not have`, { hint: `columns: ${knownColumns.join(",")}` });
    }
  }
  const rows: ParsedCsv["rows"] = [];
  for (let i = 1; i < lines.length; i++) {
    const start = i + 1;
    let line = (lines[i] as string).replace(/\s+$/, "");
    if (line === "" || line.startsWith("#")) continue;
    const values: Record<string, string> = {};
    let pos = 0;
    for (const col of columns) {
      if (pos >= line.length) break;
      if (line[pos] === ",") {
        pos++;
        continue;
      }
      if (line[pos] !== '"') {
        const comma = line.indexOf(",", pos);
        const end = comma < 0 ? line.length : comma;
        const raw = line.slice(pos, end);
        if (raw.includes('"')) throw new DataError(`${file}:${start}: missing opening " in field ${col} (column ${pos + 1})`);
        values[col] = raw;
        pos = comma < 0 ? line.length : comma + 1;
        continue;
      }
      // quoted field: find the closing quote, joining following lines if it is not on this one
      let j = pos + 1;
      let val = "";
      for (;;) {
        const q = line.indexOf('"', j);
        if (q < 0) {
          if (i + 1 >= lines.length) throw new DataError(`${file}:${start}: unmatched " in field ${col}`);
          val += line.slice(j) + "\n";
          i++;
          const rest = (lines[i] as string).replace(/\s+$/, "");
          line = `${line}\n${rest}`;
          j = line.length - rest.length;
          continue;
        }
        if (line[q + 1] === '"') {
          val += line.slice(j, q) + '"';
          j = q + 2;
          continue;
        }
        if (q + 1 === line.length || line[q + 1] === ",") {
          val += line.slice(j, q);
          values[col] = val;
          pos = q + 1 === line.length ? q + 1 : q + 2;
          break;
        }
        throw new DataError(`${file}:${start}: unescaped " inside field ${col}`, { hint: 'a quote inside a value is written as ""' });
      }
    }
    if (pos < line.length) throw new DataError(`${file}:${start}: too many fields (the header has ${columns.length} columns)`);
    rows.push({ line: start, values });
  }
  return { columns, rows };
}
