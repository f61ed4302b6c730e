// Starts the real todo-graphql binary for the interop tests: a fresh SQLite
// file, port 0, and the address parsed from its log. Shared by every
// interop package (plain Node, no dependencies).
//
// The binary: TODO_GRAPHQL_BIN, else $CARGO_TARGET_DIR/debug/todo-graphql,
// else the workspace's target/debug/todo-graphql (`cargo build` first).
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
export const BIN = process.env.TODO_GRAPHQL_BIN
  || join(process.env.CARGO_TARGET_DIR || join(ROOT, "target"), "debug", "todo-graphql");

/** Starts todo-graphql on a fresh SQLite file; resolves with its URLs. */
export function startApi(extraEnv = {}) {
  const dir = mkdtempSync(join(tmpdir(), "todo-graphql-interop-"));
  const child = spawn(BIN, [], {
    env: {
      PATH: process.env.PATH,
      BIND_ADDR: "127.0.0.1:0",
      DATABASE_URL: `sqlite://${join(dir, "api.db")}?mode=rwc`,
      JWT_SECRET: "interop-secret-interop-secret-interop-sec", // 40 chars
      BCRYPT_COST: "4",
      RUST_LOG: "info",
      ...extraEnv,
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once("exit", r)));
      clearTimeout(killer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`todo-graphql did not start:\n${log}`)), 30_000);
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (d) => {
      log += d;
      const m = log.match(/http:\/\/(127\.0\.0\.1:\d+)\/graphql/);
      if (m) {
        clearTimeout(timer);
        resolve({ url: `http://${m[1]}/graphql`, wsUrl: `ws://${m[1]}/graphql`, stop, log: () => log });
      }
    });
    child.once("exit", (code) => reject(new Error(`todo-graphql exited (${code}):\n${log}`)));
  });
}

