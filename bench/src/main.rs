//! Load generator for todo-graphql. Starts the release server on a fresh
//! SQLite database (or uses `--url`), seeds users through the API, runs the
//! scenarios and prints what it measured.
//!
//! `cargo build --release && cargo run --release -p bench -- --scenario all`

mod fanout;
mod hostile;
mod http;
mod server;

use clap::{Parser, ValueEnum};
use serde_json::{json, Value};

use http::Load;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    /// Every scenario below, in order.
    All,
    /// `GET /healthz`, closed loop.
    Healthz,
    /// Authenticated `{ __typename }`, closed loop.
    Typename,
    /// `tasks(first: 20)`, closed loop.
    Tasks,
    /// The same page, authenticated by API tokens instead of JWTs.
    TasksApiToken,
    /// 80 % tasks, 15 % createTask/setTaskCompleted, 5 % task(id), closed loop.
    Mixed,
    /// 1,000 connections at a steady total rate (open loop), then saturated.
    C1000,
    /// `tasks` at a steady rate while other connections log in (bcrypt 12).
    Storm,
    /// Sockets subscribed to `taskEvents`, a steady rate of mutations.
    Fanout,
    /// CONTRACT §7's hostile documents, one at a time: time and memory each.
    Hostile,
    /// `typename` and `tasks` on todo-graphql and on the framework's limit
    /// (`limit-server`: axum + async-graphql + HS256, the page from memory),
    /// alternating, with the ratios between them (issue 16).
    SideBySide,
}

#[derive(Debug, Parser)]
#[command(about = "Load generator for todo-graphql")]
pub struct Args {
    #[arg(long, value_enum, default_value = "all")]
    scenario: Scenario,
    /// An already running server (`http://host:port`); default: start one.
    #[arg(long)]
    url: Option<String>,
    /// PostgreSQL for the started server instead of a temporary SQLite file.
    #[arg(long)]
    database_url: Option<String>,
    /// The server binary to start (default: target/release/todo-graphql).
    #[arg(long)]
    server_bin: Option<String>,
    /// Seconds each closed-loop scenario runs.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Users seeded for the HTTP scenarios.
    #[arg(long, default_value_t = 1000)]
    users: usize,
    /// Tasks seeded per user.
    #[arg(long, default_value_t = 100)]
    tasks_per_user: usize,
    /// Keep-alive connections of the closed-loop scenarios.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Seconds of the open-loop `c1000` run.
    #[arg(long, default_value_t = 30)]
    c1000_seconds: u64,
    /// Requests per second of the open-loop runs.
    #[arg(long, default_value_t = 2000.0)]
    open_rate: f64,
    /// Seconds of each half of `storm`.
    #[arg(long, default_value_t = 15)]
    storm_seconds: u64,
    /// bcrypt cost of the `storm` server.
    #[arg(long, default_value_t = 12)]
    storm_cost: u32,
    /// fanout: users (each gets sockets / users sockets).
    #[arg(long, default_value_t = 100)]
    fanout_users: usize,
    /// fanout: sockets to open.
    #[arg(long, default_value_t = 1000)]
    sockets: usize,
    /// fanout: mutations per second.
    #[arg(long, default_value_t = 100)]
    rate: u64,
    /// fanout: seconds of the measured phase.
    #[arg(long, default_value_t = 15)]
    fanout_seconds: u64,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// The framework-limit server, from beside this binary.
async fn start_limit_server() -> anyhow::Result<server::Server> {
    let bin = std::env::current_exe()?.with_file_name("limit-server");
    if !bin.exists() {
        anyhow::bail!("{} not found: build it with `cargo build --release -p bench --bins`", bin.display());
    }
    server::Server::start(bin.to_str(), None, 4).await
}

/// Both servers, same users and tokens, each load run on one then the
/// other; the ratios are todo-graphql / limit, from the same minutes.
async fn side_by_side(base: &str, users: &[http::User], args: &Args, secs: f64) -> anyhow::Result<Value> {
    let limit = start_limit_server().await?;
    let mut out = json!({ "scenario": "side-by-side" });
    for (name, load) in [("healthz", Load::Healthz), ("typename", Load::Typename), ("tasks", Load::Tasks)] {
        let ours = http::closed_loop(base, users, args.connections, load, secs).await?;
        let theirs = http::closed_loop(&limit.base, users, args.connections, load, secs).await?;
        let rps = |o: &http::Outcome| (o.requests as f64 / o.seconds).round();
        out[format!("{name}_todo_graphql_per_s")] = json!(rps(&ours));
        out[format!("{name}_limit_per_s")] = json!(rps(&theirs));
        out[format!("{name}_ratio")] = json!(((rps(&ours) / rps(&theirs).max(1.0)) * 1000.0).round() / 1000.0);
        out[format!("{name}_errors")] = json!(ours.errors + theirs.errors);
    }
    Ok(out)
}

async fn start(args: &Args, cost: u32) -> anyhow::Result<server::Server> {
    match &args.url {
        Some(url) => Ok(server::Server::external(url)),
        None => server::Server::start(args.server_bin.as_deref(), args.database_url.as_deref(), cost).await,
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let wants = |s: Scenario| args.scenario == Scenario::All || args.scenario == s;
    let mut reports: Vec<Value> = Vec::new();
    let secs = args.seconds as f64;

    let http_scenarios = [
        Scenario::Healthz,
        Scenario::Typename,
        Scenario::Tasks,
        Scenario::TasksApiToken,
        Scenario::Mixed,
        Scenario::C1000,
        Scenario::SideBySide,
    ];
    if http_scenarios.iter().any(|s| wants(*s)) {
        let server = start(&args, 4).await?;
        let users = http::seed(&server, args.users.max(1), args.tasks_per_user).await?;
        eprintln!("seeded {} users x {} tasks", users.len(), args.tasks_per_user);
        let base = server.base.clone();
        // healthz always runs: every ratio is against it, from the same run.
        let healthz = http::closed_loop(&base, &users, args.connections, Load::Healthz, secs).await?;
        let h_rps = healthz.requests as f64 / healthz.seconds;
        reports.push(healthz.json("healthz", Some(h_rps)));
        for (s, name, load) in [
            (Scenario::Typename, "typename", Load::Typename),
            (Scenario::Tasks, "tasks", Load::Tasks),
            (Scenario::Mixed, "mixed", Load::Mixed),
        ] {
            if wants(s) {
                reports.push(
                    http::closed_loop(&base, &users, args.connections, load, secs).await?.json(name, Some(h_rps)),
                );
            }
        }
        if wants(Scenario::TasksApiToken) {
            let scripted = http::with_api_tokens(&server, &users).await?;
            let run = http::closed_loop(&base, &scripted, args.connections, Load::Tasks, secs).await?;
            reports.push(run.json("tasks (API token)", Some(h_rps)));
        }
        if wants(Scenario::SideBySide) {
            reports.push(side_by_side(&base, &users, &args, secs).await?);
        }
        if wants(Scenario::C1000) {
            let rss_before = server.rss_kib();
            let open =
                http::open_loop(&base, &users, 1000, Load::Tasks, args.open_rate, args.c1000_seconds as f64).await?;
            let mut r = open.json("c1000 (open loop)", Some(h_rps));
            r["peak_rss_kib"] = json!(server.rss_kib());
            r["rss_before_kib"] = json!(rss_before);
            reports.push(r);
            let saturated = http::closed_loop(&base, &users, 1000, Load::Tasks, secs).await?;
            reports.push(saturated.json("c1000 (closed loop, saturated)", Some(h_rps)));
        }
    }
    if wants(Scenario::Storm) {
        let server = start(&args, args.storm_cost).await?;
        let users = http::seed(&server, 114, 20).await?;
        let (readers, loginers) = users.split_at(64);
        let base = server.base.clone();
        let rate = args.open_rate;
        let calm = http::open_loop(&base, readers, 64, Load::Tasks, rate, args.storm_seconds as f64).await?;
        reports.push(calm.json("storm: tasks without logins", None));
        let storm_base = base.clone();
        let loginers = loginers.to_vec();
        let secs = args.storm_seconds as f64;
        let logins =
            tokio::spawn(async move { http::closed_loop(&storm_base, &loginers, 50, Load::Login, secs).await });
        let stormy = http::open_loop(&base, readers, 64, Load::Tasks, rate, args.storm_seconds as f64).await?;
        reports.push(stormy.json("storm: tasks during 50 login loops", None));
        reports.push(logins.await??.json("storm: the logins", None));
    }
    if wants(Scenario::Fanout) {
        let server = start(&args, 4).await?;
        reports.push(fanout::run(&server, &args).await?);
    }

    if wants(Scenario::Hostile) {
        let (bin, db, url) = (args.server_bin.clone(), args.database_url.clone(), args.url.clone());
        let start = move || -> futures_util::future::BoxFuture<'static, anyhow::Result<server::Server>> {
            let (bin, db, url) = (bin.clone(), db.clone(), url.clone());
            Box::pin(async move {
                match url {
                    Some(url) => Ok(server::Server::external(&url)),
                    None => server::Server::start(bin.as_deref(), db.as_deref(), 4).await,
                }
            })
        };
        let report = hostile::run(start).await?;
        if !args.json {
            println!("hostile documents (POST, one at a time)");
            println!("  {:<40} {:>7} {:>10} {:>12}  answer", "case", "bytes", "answer ms", "peak RSS +KiB");
            for c in report["cases"].as_array().into_iter().flatten() {
                println!(
                    "  {:<40} {:>7} {:>10} {:>12}  {}{}",
                    c["case"].as_str().unwrap_or("?"),
                    c["bytes"].to_string(),
                    c["answer_ms"].to_string(),
                    c["peak_rss_growth_kib"].to_string(),
                    c["answer"].as_str().unwrap_or("?"),
                    if c["alive_after"] == true { "" } else { " (server down after it)" }
                );
            }
        }
        reports.push(report);
    }

    if args.json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
    } else {
        for r in reports.iter().filter(|r| r["scenario"] != "hostile") {
            println!("{}", r["scenario"].as_str().unwrap_or("?"));
            for (k, v) in r.as_object().into_iter().flatten().filter(|(k, _)| *k != "scenario") {
                println!("  {k:<26} {v}");
            }
        }
    }
    Ok(())
}
