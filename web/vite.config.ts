// The app is served by todo-graphql: the page at `/`, every built file under
// `/app/` (content-hashed, cached as immutable). `npm run dev` proxies the
// API (HTTP and WebSocket) to a running server, TODO_GRAPHQL_URL or
// http://127.0.0.1:8000.
import { defineConfig } from "vite";

const api = process.env.TODO_GRAPHQL_URL ? new URL(process.env.TODO_GRAPHQL_URL).origin : "http://127.0.0.1:8000";

export default defineConfig({
  base: "/app/",
  esbuild: { jsx: "automatic", legalComments: "none" },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    // Every file is a file: a data: URI would be blocked by the CSP (img-src 'self').
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    reportCompressedSize: false,
    rollupOptions: {
      output: {
        entryFileNames: "assets/[name]-[hash].js",
        chunkFileNames: "assets/[name]-[hash].js",
        assetFileNames: "assets/[name]-[hash][extname]",
      },
    },
  },
  server: {
    host: "127.0.0.1",
    port: 5173,
    strictPort: true,
    proxy: {
      "/graphql": { target: api, ws: true, changeOrigin: true },
    },
  },
});
