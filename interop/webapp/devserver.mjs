// A stand-in for the serving side of todo-graphql's web app, for a binary
// that does not embed the current web/dist yet (WEBAPP_DEVSERVER=1 in
// test.mjs): serves web/dist exactly as the server does, and proxies
// everything else (POST /graphql, the /graphql WebSocket) to a real
// todo-graphql process.
//
//   GET /                  -> dist/index.html, the server's CSP, Cache-Control: no-cache
//   GET|HEAD /app/<path>   -> dist/<path> (not index.html), content type by extension,
//       Cache-Control: public, max-age=31536000, immutable, br/gzip by Accept-Encoding
//   with webApp: false, neither route exists (both go to the backend).
//
// Run by hand: `node devserver.mjs` (starts todo-graphql as server.mjs does
// and prints the app's URL).
import { createServer, request as httpRequest } from "node:http";
import { connect } from "node:net";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, constants as zlib, gzipSync } from "node:zlib";

export const DIST = fileURLToPath(new URL("../../web/dist/", import.meta.url));
export const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; font-src 'self'; connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

function walk(dir, prefix = "") {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? walk(dir, join(prefix, d.name)) : [join(prefix, d.name)]);
}

const TYPES = {
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  svg: "image/svg+xml",
  png: "image/png",
  woff: "font/woff",
  woff2: "font/woff2",
};

/** Serves dist/ in front of the todo-graphql at `backend` (http://host:port).
 * Resolves with { url, stop }. */
export function startDevServer({ backend, webApp = true }) {
  const target = new URL(backend);
  const html = readFileSync(join(DIST, "index.html"));
  const csp = CSP;
  const assets = new Map(
    walk(DIST).filter((f) => f !== "index.html").map((f) => {
      const body = readFileSync(join(DIST, f));
      const ext = f.slice(f.lastIndexOf(".") + 1);
      // Compressed once up front, as a server with precompressed assets would.
      const compressible = !["woff", "woff2", "png"].includes(ext);
      return [f, {
        type: TYPES[ext] ?? "application/octet-stream",
        identity: body,
        br: compressible ? brotliCompressSync(body, { params: { [zlib.BROTLI_PARAM_QUALITY]: 11 } }) : null,
        gzip: compressible ? gzipSync(body, { level: 9 }) : null,
      }];
    }),
  );

  const server = createServer((req, res) => {
    const url = new URL(req.url, "http://x");
    const get = req.method === "GET" || req.method === "HEAD";
    if (webApp && get && url.pathname === "/") {
      res.writeHead(200, {
        "content-type": "text/html; charset=utf-8",
        "content-security-policy": csp,
        "x-content-type-options": "nosniff",
        "cache-control": "no-cache",
        "content-length": html.length,
      });
      return res.end(req.method === "HEAD" ? undefined : html);
    }
    if (webApp && url.pathname.startsWith("/app/")) {
      const asset = get ? assets.get(url.pathname.slice("/app/".length)) : undefined;
      if (!asset) {
        res.writeHead(404, { "content-type": "text/plain; charset=utf-8", "x-content-type-options": "nosniff" });
        return res.end("Not Found");
      }
      const accept = req.headers["accept-encoding"] ?? "";
      const [encoding, body] = asset.br && /\bbr\b/.test(accept) ? ["br", asset.br]
        : asset.gzip && /\bgzip\b/.test(accept) ? ["gzip", asset.gzip]
        : [null, asset.identity];
      res.writeHead(200, {
        "content-type": asset.type,
        "cache-control": "public, max-age=31536000, immutable",
        "x-content-type-options": "nosniff",
        vary: "accept-encoding",
        "content-length": body.length,
        ...(encoding ? { "content-encoding": encoding } : {}),
      });
      return res.end(req.method === "HEAD" ? undefined : body);
    }
    // Everything else is the API's: pass it through unchanged (Host too, so
    // the backend's same-origin checks see the browser's origin).
    const upstream = httpRequest(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode, up.rawHeaders);
        up.pipe(res);
      },
    );
    upstream.on("error", () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });

  // WebSocket upgrades: replay the request line and headers to the backend,
  // then splice the two TCP streams together.
  const sockets = new Set();
  server.on("upgrade", (req, socket, head) => {
    const up = connect(Number(target.port), target.hostname, () => {
      let raw = `${req.method} ${req.url} HTTP/1.1\r\n`;
      for (let i = 0; i < req.rawHeaders.length; i += 2) raw += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
      up.write(`${raw}\r\n`);
      if (head.length) up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
    for (const s of [up, socket]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
    }
    up.on("error", () => socket.destroy());
    socket.on("error", () => up.destroy());
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });

  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      resolve({
        url: `http://127.0.0.1:${port}/graphql`,
        wsUrl: `ws://127.0.0.1:${port}/graphql`,
        stop: () => new Promise((r) => {
          for (const s of sockets) s.destroy();
          server.close(() => r());
        }),
      });
    });
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (!existsSync(join(DIST, "index.html"))) throw new Error("build web/dist first: cd web && npm ci && npm run build");
  const { startApi } = await import("../server.mjs");
  const api = await startApi({});
  const dev = await startDevServer({ backend: api.url });
  console.log(`the web app (web/dist) at ${new URL("/", dev.url)}, API at ${api.url}; Ctrl-C stops both`);
  const stop = async () => {
    await dev.stop();
    await api.stop();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}
