//! The server under test: started here on a fresh database, or external.

use std::path::PathBuf;
use std::process::Stdio;

use anyhow::{bail, Context};
use tokio::io::{AsyncBufReadExt, BufReader};

pub struct Server {
    pub base: String,
    pub pid: Option<u32>,
    _child: Option<tokio::process::Child>,
    _dir: Option<tempfile::TempDir>,
}

impl Server {
    pub fn external(url: &str) -> Self {
        Self { base: url.trim_end_matches('/').to_owned(), pid: None, _child: None, _dir: None }
    }

    /// Starts the server binary on port 0 and waits for the address it logs.
    pub async fn start(bin: Option<&str>, database_url: Option<&str>, bcrypt_cost: u32) -> anyhow::Result<Self> {
        let bin = match bin {
            Some(b) => PathBuf::from(b),
            None => {
                let target = std::env::var("CARGO_TARGET_DIR")
                    .map(PathBuf::from)
                    .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
                let release = target.join("release/todo-graphql");
                if release.exists() {
                    release
                } else {
                    target.join("debug/todo-graphql")
                }
            }
        };
        if !bin.exists() {
            bail!("{} not found: run `cargo build --release` first", bin.display());
        }
        let dir = tempfile::tempdir()?;
        let db = match database_url {
            Some(url) => url.to_owned(),
            None => format!("sqlite://{}?mode=rwc", dir.path().join("bench.db").display()),
        };
        let mut child = tokio::process::Command::new(&bin)
            .env_clear()
            .env("BIND_ADDR", "127.0.0.1:0")
            .env("DATABASE_URL", db)
            .env("JWT_SECRET", "bench-secret-bench-secret-bench-secret-0000")
            .env("BCRYPT_COST", bcrypt_cost.to_string())
            .env("SIGNUP_IP_MAX", "1000000")
            .env("LOGIN_IP_MAX_ATTEMPTS", "1000000")
            .env("RUST_LOG", "warn,todo_graphql=info")
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let pid = child.id();
        let mut lines = BufReader::new(child.stderr.take().context("no stderr")?).lines();
        let addr = loop {
            let line = lines.next_line().await?.context("server exited before listening")?;
            if let Some(i) = line.find("http://127.0.0.1:") {
                let rest = &line[i..];
                break rest[..rest.find("/graphql").unwrap_or(rest.len())].to_owned();
            }
        };
        // Keep draining the log so the server never blocks on it.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Self { base: addr, pid, _child: Some(child), _dir: Some(dir) })
    }

    /// Resident memory of the started server, in KiB.
    pub fn rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid?)).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
    }
}
