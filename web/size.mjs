// The page's weight: the gzip size of index.html and of every file it loads
// (scripts, styles, icon; Vite lists them all in index.html). Fails at 250 KB.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const DIST = new URL("./dist/", import.meta.url).pathname;
const LIMIT = 250 * 1024;
const html = readFileSync(join(DIST, "index.html"), "utf8");
const files = ["index.html", ...new Set([...html.matchAll(/(?:src|href)="\/app\/([^"]+)"/g)].map((m) => m[1]))];
let total = 0;
for (const file of files) {
  const bytes = readFileSync(join(DIST, file));
  const gz = gzipSync(bytes, { level: 9 }).length;
  total += gz;
  console.log(`${file.padEnd(40)} ${String(bytes.length).padStart(8)} B  ${String(gz).padStart(7)} B gzip`);
}
console.log(`total: ${(total / 1024).toFixed(1)} KB gzip (${total} B), limit ${LIMIT / 1024} KB`);
if (total >= LIMIT) {
  console.error(`the page loads ${total} B gzip, over the ${LIMIT} B budget`);
  process.exit(1);
}
