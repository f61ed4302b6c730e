//! Test harness: the real `Application` on port 0 against a fresh SQLite
//! file, or a fresh PostgreSQL schema when `TEST_DATABASE_URL` is set, and
//! typed helpers to speak GraphQL to it over HTTP.

use std::io::Write as _;
use std::net::SocketAddr;

use serde_json::{json, Value};
use tempfile::TempDir;
use todo_graphql::{Application, Config};

/// A secret every test server signs with, so tests can forge tokens.
pub const SECRET: &str = "test-secret-test-secret-test-secret-0123456789";
pub const PASSWORD: &str = "correct horse battery";

/// Where a test's database lives.
#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite,
    Postgres(String),
}

impl Backend {
    /// PostgreSQL from `TEST_DATABASE_URL`, or `None` after saying loudly
    /// that the test is skipped.
    pub fn postgres(test: &str) -> Option<Self> {
        match std::env::var("TEST_DATABASE_URL") {
            Ok(url) if !url.is_empty() => Some(Self::Postgres(url)),
            _ => {
                // Straight to the process's stderr, past the test harness's
                // capture, so a skip is never silent.
                let _ = writeln!(std::io::stderr().lock(), "SKIPPED (TEST_DATABASE_URL not set): {test} on PostgreSQL");
                None
            }
        }
    }
}

/// Runs each test body once on SQLite and once on PostgreSQL:
/// `<name>::sqlite` and `<name>::postgres`.
#[macro_export]
macro_rules! both_backends {
    ($(async fn $name:ident($backend:ident: Backend) $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            async fn run($backend: $crate::helpers::Backend) $body

            #[tokio::test]
            async fn sqlite() {
                run($crate::helpers::Backend::Sqlite).await
            }

            #[tokio::test]
            async fn postgres() {
                if let Some(b) = $crate::helpers::Backend::postgres(concat!(module_path!())) {
                    run(b).await
                }
            }
        }
    )*};
}

/// A running server and what a test needs to talk to it.
pub struct TestApp {
    pub addr: SocketAddr,
    /// The metrics listener, when `metrics_addr` is set.
    pub metrics_addr: Option<SocketAddr>,
    pub client: reqwest::Client,
    pub config: Config,
    pub dir: TempDir,
    /// The server's own pool, to reach behind its back in fault tests.
    pub db: sea_orm::DatabaseConnection,
    /// The server's services, to read their counters.
    pub services: todo_graphql::service::Services,
    pg_schema: Option<(String, String)>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

/// A config for tests: port 0, cheap bcrypt, the shared secret.
pub fn test_config(backend: &Backend, dir: &TempDir) -> (Config, Option<(String, String)>) {
    let mut config = Config {
        bind_addr: "127.0.0.1:0".parse().unwrap(),
        bcrypt_cost: 4,
        jwt_secret: Some(SECRET.into()),
        ..Config::default()
    };
    let mut pg = None;
    match backend {
        Backend::Sqlite => {
            config.database_url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display()).into();
        }
        Backend::Postgres(url) => {
            let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
            let sep = if url.contains('?') { '&' } else { '?' };
            config.database_url = format!("{url}{sep}options=-c%20search_path%3D{schema}").into();
            pg = Some((url.clone(), schema));
        }
    }
    (config, pg)
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Spawns with a changed configuration.
    pub async fn spawn_with(backend: Backend, change: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (mut config, pg) = test_config(&backend, &dir);
        if let Some((url, schema)) = &pg {
            admin_sql(url, &format!("CREATE SCHEMA {schema}")).await;
        }
        change(&mut config);
        Self::start(config, dir, pg).await
    }

    /// Starts a server on `config` (used to restart on the same files).
    /// `TEST_LOG=debug` shows the server's log while debugging a test.
    pub async fn start(config: Config, dir: TempDir, pg_schema: Option<(String, String)>) -> Self {
        if let Ok(filter) = std::env::var("TEST_LOG") {
            let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
        }
        let app = Application::build(config.clone()).await.expect("application builds");
        let addr = app.local_addr();
        let metrics_addr = app.metrics_addr();
        let db = app.db().clone();
        let services = app.services().clone();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until(async {
            let _ = rx.await;
        }));
        Self {
            addr,
            metrics_addr,
            client: reqwest::Client::new(),
            config,
            dir,
            db,
            services,
            pg_schema,
            shutdown: Some(tx),
            server: Some(server),
        }
    }

    /// Stops the server and waits for it to drain.
    pub async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// POSTs one GraphQL operation, with a bearer token when given.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Gql {
        post_gql(&self.client, &self.url("/graphql"), token, query, variables).await
    }

    /// POSTs with a raw `Authorization` header value.
    pub async fn gql_with_auth(&self, authorization: &str, query: &str) -> Gql {
        let req = self
            .client
            .post(self.url("/graphql"))
            .header("authorization", authorization)
            .json(&json!({ "query": query }));
        Gql::from(req.send().await.unwrap()).await
    }

    /// Signs up a new user and returns its session.
    pub async fn signup(&self, email: &str) -> Session {
        let r = self
            .gql(
                None,
                "mutation($i: SignupInput!) { signup(input: $i) { accessToken refreshToken user { id email } } }",
                json!({ "i": { "email": email, "password": PASSWORD } }),
            )
            .await;
        assert_eq!(r.status, 200, "signup failed: {}", r.body);
        Session::from_payload(&r.data()["signup"])
    }

    /// Creates a task and returns its id.
    pub async fn create_task(&self, token: &str, title: &str) -> String {
        let r = self
            .gql(
                Some(token),
                "mutation($i: CreateTaskInput!) { createTask(input: $i) { id } }",
                json!({ "i": { "title": title } }),
            )
            .await;
        r.data()["createTask"]["id"].as_str().unwrap_or_else(|| panic!("createTask failed: {}", r.body)).to_owned()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some((url, schema)) = self.pg_schema.take() {
            // Drop the test's schema from a thread of its own: Drop cannot await.
            let _ = std::thread::spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    rt.block_on(admin_sql(&url, &format!("DROP SCHEMA IF EXISTS {schema} CASCADE")));
                }
            })
            .join();
        }
    }
}

/// Runs one statement against the PostgreSQL test database.
pub async fn admin_sql(url: &str, sql: &str) {
    use sea_orm::ConnectionTrait;
    let db = sea_orm::Database::connect(url).await.expect("TEST_DATABASE_URL reachable");
    db.execute_unprepared(sql).await.expect(sql);
    db.close().await.ok();
}

/// A signed-in user.
#[derive(Debug, Clone)]
pub struct Session {
    pub access: String,
    pub refresh: String,
    pub user_id: String,
    pub email: String,
}

impl Session {
    pub fn from_payload(p: &Value) -> Self {
        Self {
            access: p["accessToken"].as_str().unwrap().to_owned(),
            refresh: p["refreshToken"].as_str().unwrap().to_owned(),
            user_id: p["user"]["id"].as_str().unwrap().to_owned(),
            email: p["user"]["email"].as_str().unwrap().to_owned(),
        }
    }
}

/// One HTTP answer to a GraphQL request.
#[derive(Debug)]
pub struct Gql {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Gql {
    pub async fn from(resp: reqwest::Response) -> Self {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Self { status, headers, body }
    }

    pub fn data(&self) -> &Value {
        &self.body["data"]
    }

    /// `extensions.code` of the first error.
    pub fn code(&self) -> Option<&str> {
        self.body["errors"][0]["extensions"]["code"].as_str()
    }

    /// `extensions.field` of the first error.
    pub fn field(&self) -> Option<&str> {
        self.body["errors"][0]["extensions"]["field"].as_str()
    }

    pub fn message(&self) -> Option<&str> {
        self.body["errors"][0]["message"].as_str()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts success and no errors.
    #[track_caller]
    pub fn ok(&self) -> &Value {
        assert_eq!(self.status, 200, "{}", self.body);
        assert!(self.body.get("errors").is_none(), "unexpected errors: {}", self.body);
        self.data()
    }

    /// Asserts an error with `code`.
    #[track_caller]
    pub fn assert_code(&self, code: &str) {
        assert_eq!(self.code(), Some(code), "expected {code}: {}", self.body);
    }
}

/// The real binary as a child process, for what only a process shows:
/// its log, signals, crashes.
pub struct ServerProcess {
    pub child: std::process::Child,
    pub addr: SocketAddr,
    pub log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl ServerProcess {
    /// Starts `todo-graphql` in `dir` with `env` on port 0 and waits for
    /// the address it logs.
    pub fn start(dir: &std::path::Path, env: &[(&str, &str)]) -> Self {
        use std::io::BufRead as _;
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_todo-graphql"));
        cmd.current_dir(dir)
            .env_clear()
            .env("BIND_ADDR", "127.0.0.1:0")
            .env("BCRYPT_COST", "4")
            .env("JWT_SECRET", SECRET)
            .stderr(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(i) = line.find("http://127.0.0.1:") {
                    let rest = &line[i + "http://".len()..];
                    let end = rest.find('/').unwrap_or(rest.len());
                    let _ = tx.send(rest[..end].to_owned());
                }
                sink.lock().unwrap().push(line);
            }
        });
        let addr = rx
            .recv_timeout(std::time::Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("server did not start: {:?}", log.lock().unwrap()));
        Self { child, addr: addr.parse().unwrap(), log }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Sends a signal by name (`TERM`, `KILL`).
    pub fn signal(&self, name: &str) {
        let ok = std::process::Command::new("kill").arg(format!("-{name}")).arg(self.child.id().to_string()).status();
        assert!(ok.unwrap().success());
    }

    /// Waits for the process to end, at most `secs` seconds.
    pub fn wait(&mut self, secs: u64) -> std::process::ExitStatus {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(std::time::Instant::now() < deadline, "server did not exit in {secs} s");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    pub fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// POSTs one GraphQL operation to any URL.
pub async fn post_gql(client: &reqwest::Client, url: &str, token: Option<&str>, query: &str, variables: Value) -> Gql {
    let mut req = client.post(url).json(&json!({ "query": query, "variables": variables }));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    Gql::from(req.send().await.unwrap()).await
}
