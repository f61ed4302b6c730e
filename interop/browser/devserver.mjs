// A stand-in for the serving side of todo-graphql's bundled GraphiQL, until
// the binary embeds graphiql/dist itself: serves graphiql/dist exactly as the
// server is meant to, and proxies everything else (POST /graphql, GET
// queries, the /graphql WebSocket) to a real todo-graphql process.
//
//   GET /graphql, Accept: text/html, no query string  -> dist/index.html
//       Content-Security-Policy: <dist/csp.txt>, X-Content-Type-Options: nosniff,
//       Cache-Control: no-cache
//   GET|HEAD /graphiql/assets/<file>                   -> dist/assets/<file>
//       content type by extension, Cache-Control: public, max-age=31536000, immutable,
//       nosniff, br/gzip by Accept-Encoding (what tower-http's compression layer does)
//   with graphiql: false, neither route exists: GET /graphql goes to the
//   backend and /graphiql/assets/* is 404.
//
// Run by hand: `node devserver.mjs` (starts todo-graphql as server.mjs does
// and prints the IDE's URL; GRAPHIQL=false to check the IDE is gone).
import { createServer, request as httpRequest } from "node:http";
import { connect } from "node:net";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, constants as zlib, gzipSync } from "node:zlib";

export const DIST = fileURLToPath(new URL("../../graphiql/dist/", import.meta.url));

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
export function startDevServer({ backend, graphiql = true }) {
  const target = new URL(backend);
  const html = readFileSync(join(DIST, "index.html"));
  const csp = readFileSync(join(DIST, "csp.txt"), "utf8").trim();
  const assets = new Map(
    readdirSync(join(DIST, "assets")).map((f) => {
      const body = readFileSync(join(DIST, "assets", f));
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
    if (graphiql && get && url.pathname === "/graphql" && !url.search && (req.headers.accept ?? "").includes("text/html")) {
      res.writeHead(200, {
        "content-type": "text/html; charset=utf-8",
        "content-security-policy": csp,
        "x-content-type-options": "nosniff",
        "cache-control": "no-cache",
        "content-length": html.length,
      });
      return res.end(req.method === "HEAD" ? undefined : html);
    }
    if (url.pathname.startsWith("/graphiql/")) {
      const asset = graphiql && get && url.pathname.startsWith("/graphiql/assets/")
        ? assets.get(url.pathname.slice("/graphiql/assets/".length))
        : undefined;
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
        stop: () => new Promise((r) => {
          for (const s of sockets) s.destroy();
          server.close(() => r());
        }),
      });
    });
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (!existsSync(join(DIST, "index.html"))) throw new Error("build graphiql/dist first: cd graphiql && npm ci && node build.mjs");
  const { startApi } = await import("../server.mjs");
  const graphiql = process.env.GRAPHIQL !== "false";
  const api = await startApi({ GRAPHIQL: String(graphiql) });
  const dev = await startDevServer({ backend: api.url, graphiql });
  console.log(`GraphiQL (dist/) at ${dev.url}, API at ${api.url}; Ctrl-C stops both`);
  const stop = async () => {
    await dev.stop();
    await api.stop();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}
