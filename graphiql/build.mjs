// Builds graphiql/dist/ from the pinned npm packages and src/: no bundler,
// no network, byte-for-byte reproducible.
//
//   cd graphiql && npm ci && node build.mjs
//
// Output:
//   dist/index.html     the IDE page, served at GET /graphql (Accept: text/html)
//   dist/csp.txt        the page's Content-Security-Policy header value (one line, no newline)
//   dist/assets/*       <name>.<first 12 hex of sha256>.<ext>, served at /graphiql/assets/<file>
//
// The fonts and images that GraphiQL's CSS inlines as data: URLs are written
// out as files of their own, so the CSP can say font-src 'self' and
// img-src 'self' instead of allowing data:, and a browser fetches only the
// font subsets a page actually uses.
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, gzipSync } from "node:zlib";

const HERE = dirname(fileURLToPath(import.meta.url));
const DIST = join(HERE, "dist");
const ASSETS = join(DIST, "assets");
/** Where the server mounts dist/assets/. */
const PREFIX = "/graphiql/assets/";

/** The one inline style GraphiQL creates: opening a dialog or a dropdown
 * (Radix UI, through react-remove-scroll-bar) appends a <style> element that
 * locks the page's scrolling. Its text depends only on the scrollbar gap and
 * the body's margin and padding, which src/page.css pins to 0, so it is this
 * exact text and can be allowed by its hash instead of 'unsafe-inline'. The
 * browser test (interop/browser) fails on any CSP violation, so a change of
 * this text in a new GraphiQL version is caught there. */
const SCROLL_LOCK_STYLE = (() => {
  const gap = 0;
  const important = "!important";
  return `
  .with-scroll-bars-hidden {
   overflow: hidden ${important};
   padding-right: ${gap}px ${important};
  }
  body {
    overflow: hidden ${important};
    overscroll-behavior: contain;
    position: relative ${important};
    padding-left: 0px;
    padding-top: 0px;
    padding-right: 0px;
    margin-left:0;
    margin-top:0;
    margin-right: ${gap}px ${important};
    
  }
  
  .right-scroll-bar-position {
    right: ${gap}px ${important};
  }
  
  .width-before-scroll-bar {
    margin-right: ${gap}px ${important};
  }
  
  .right-scroll-bar-position .right-scroll-bar-position {
    right: 0 ${important};
  }
  
  .width-before-scroll-bar .width-before-scroll-bar {
    margin-right: 0 ${important};
  }
  
  body {
    --removed-body-scroll-bar-size: ${gap}px;
  }
`;
})();
const sha256 = (text) => `'sha256-${createHash("sha256").update(text).digest("base64")}'`;

/** The page's Content-Security-Policy: this origin only, no inline script,
 * no inline style but the one above (by hash).
 * connect-src 'self' covers the same-origin WebSocket too (CSP Level 3:
 * 'self' matches ws: from an http: page and wss: from an https: one).
 * default-src 'none' shuts everything not listed (workers, frames,
 * objects, media, manifests): GraphiQL 3 (CodeMirror 5) needs none of them. */
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  `style-src 'self' ${sha256(SCROLL_LOCK_STYLE)}`,
  "font-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const pkg = JSON.parse(readFileSync(join(HERE, "package.json"), "utf8"));

/** Reads a file of an installed package, after checking that the installed
 * version is the one package.json pins (a stale node_modules must not leak
 * into dist/). */
function fromPackage(name, file) {
  const installed = JSON.parse(readFileSync(join(HERE, "node_modules", name, "package.json"), "utf8")).version;
  if (installed !== pkg.dependencies[name]) {
    throw new Error(`${name} ${installed} is installed but package.json pins ${pkg.dependencies[name]}: run npm ci`);
  }
  return readFileSync(join(HERE, "node_modules", name, file));
}

/** Drops a trailing `//# sourceMappingURL=` comment: the maps are not shipped,
 * and the hashed name would not match them anyway. */
function stripSourceMap(buf) {
  return Buffer.from(buf.toString("utf8").replace(/\n?\/\/# sourceMappingURL=\S+\s*$/, "\n"));
}

const written = new Map(); // file name -> bytes

/** Stores `bytes` as assets/<name>.<hash>.<ext>; returns the file name. */
function emit(name, ext, bytes) {
  const hash = createHash("sha256").update(bytes).digest("hex").slice(0, 12);
  const file = `${name}.${hash}.${ext}`;
  const prior = written.get(file);
  if (prior && !prior.equals(bytes)) throw new Error(`hash collision on ${file}`);
  written.set(file, bytes);
  return file;
}

const EXT = { "font/woff2": "woff2", "font/woff": "woff", "image/png": "png", "image/svg+xml": "svg", "image/gif": "gif" };

/** Moves every data: URL out of a stylesheet into an asset file, referenced
 * by a relative URL (resolved against the stylesheet's own URL). */
function externaliseDataUrls(css, label) {
  const dataUrl = /url\(\s*(["']?)data:([^;,)]+)(;base64)?,([^)"']*)\1\s*\)/g;
  const nameFor = (mime, context) => {
    const family = /font-family:\s*["']?([^;"'}]+)/.exec(context)?.[1];
    if (family) {
      const style = /font-style:\s*(\w+)/.exec(context)?.[1] ?? "normal";
      const weight = /font-weight:\s*(\w+)/.exec(context)?.[1] ?? "400";
      return `${family}-${style}-${weight}`.toLowerCase().replace(/[^a-z0-9]+/g, "-");
    }
    return `${label}-${mime.split("/")[0]}`;
  };
  let count = 0;
  // Each @font-face block names its font after family, style and weight.
  const out = css.replace(/@font-face\s*\{[^}]*\}|[^@]+|@/g, (chunk) =>
    chunk.replace(dataUrl, (_m, _q, mime, b64, data) => {
      const ext = EXT[mime];
      if (!ext) throw new Error(`${label}: data: URL of unexpected type ${mime}`);
      const bytes = b64 ? Buffer.from(data, "base64") : Buffer.from(decodeURIComponent(data), "utf8");
      count++;
      return `url(${emit(nameFor(mime, chunk.startsWith("@font-face") ? chunk : ""), ext, bytes)})`;
    }),
  );
  if (/data:/.test(out)) throw new Error(`${label}: a data: URL was left in the stylesheet`);
  return { css: out, count };
}

// Scripts, in load order: React, ReactDOM, GraphiQL (needs both; bundles
// graphql, graphql-ws and @graphiql/react), the explorer plugin (needs
// React and GraphiQL's React and GraphQL exports), then ours.
const scripts = [
  emit("react", "js", fromPackage("react", "umd/react.production.min.js")),
  emit("react-dom", "js", fromPackage("react-dom", "umd/react-dom.production.min.js")),
  emit("graphiql", "js", stripSourceMap(fromPackage("graphiql", "graphiql.min.js"))),
  emit("plugin-explorer", "js", stripSourceMap(fromPackage("@graphiql/plugin-explorer", "dist/index.umd.js"))),
  emit("app", "js", readFileSync(join(HERE, "src", "app.js"))),
];
{
  // The scroll-lock template SCROLL_LOCK_STYLE mirrors must still be there.
  const js = fromPackage("graphiql", "graphiql.min.js").toString("utf8");
  for (const piece of ["with-scroll-bars-hidden", "--removed-body-scroll-bar-size", "overscroll-behavior: contain;"]) {
    if (!js.includes(piece)) throw new Error(`graphiql.min.js no longer has ${piece}: re-check SCROLL_LOCK_STYLE`);
  }
}
const styles = [
  ["graphiql", fromPackage("graphiql", "graphiql.min.css")],
  ["plugin-explorer", fromPackage("@graphiql/plugin-explorer", "dist/style.css")],
  ["page", readFileSync(join(HERE, "src", "page.css"))],
].map(([name, bytes]) => emit(name, "css", Buffer.from(externaliseDataUrls(bytes.toString("utf8"), name).css)));
const favicon = emit("favicon", "svg", readFileSync(join(HERE, "src", "favicon.svg")));

const html = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>todo-graphql · GraphiQL</title>
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <link rel="icon" type="image/svg+xml" href="${PREFIX}${favicon}">
${styles.map((f) => `  <link rel="stylesheet" href="${PREFIX}${f}">`).join("\n")}
</head>
<body>
  <div id="graphiql">Loading GraphiQL…</div>
${scripts.map((f) => `  <script src="${PREFIX}${f}"></script>`).join("\n")}
</body>
</html>
`;

rmSync(DIST, { recursive: true, force: true });
mkdirSync(ASSETS, { recursive: true });
const files = [...written.keys()].sort();
for (const file of files) writeFileSync(join(ASSETS, file), written.get(file));
writeFileSync(join(DIST, "index.html"), html);
writeFileSync(join(DIST, "csp.txt"), CSP);

// Sizes: everything in assets/, and what one page load fetches (the page,
// its scripts and stylesheets; fonts only as used, so not counted here).
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
const measure = (bufs) =>
  bufs.reduce(
    (a, b) => ({ raw: a.raw + b.length, gzip: a.gzip + gzipSync(b).length, br: a.br + brotliCompressSync(b).length }),
    { raw: 0, gzip: 0, br: 0 },
  );
const all = measure(files.map((f) => written.get(f)));
const page = measure([Buffer.from(html), ...[...scripts, ...styles].map((f) => written.get(f))]);
console.log(`graphiql/dist: ${files.length} assets`);
console.log(`  all assets:              raw ${kib(all.raw)}, gzip ${kib(all.gzip)}, brotli ${kib(all.br)}`);
console.log(`  page + scripts + styles: raw ${kib(page.raw)}, gzip ${kib(page.gzip)}, brotli ${kib(page.br)}`);
