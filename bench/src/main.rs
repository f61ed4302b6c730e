//! Load generator for todo-graphql. Starts the release server on a fresh
//! SQLite database (or uses `--url`), seeds users through the API, runs a
//! scenario and prints what it measured.
//!
//! `cargo build --release && cargo run --release -p bench -- --scenario fanout`

mod fanout;
mod server;

use clap::{Parser, ValueEnum};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Scenario {
    /// Sockets subscribed to `taskEvents`, a steady rate of mutations.
    Fanout,
}

#[derive(Debug, Parser)]
#[command(about = "Load generator for todo-graphql")]
pub struct Args {
    #[arg(long, value_enum, default_value = "fanout")]
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
    /// How long the measured phase lasts, in seconds.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Users to seed.
    #[arg(long, default_value_t = 100)]
    users: usize,
    /// Sockets to open, spread evenly over the users.
    #[arg(long, default_value_t = 1000)]
    sockets: usize,
    /// Mutations per second, spread over the users.
    #[arg(long, default_value_t = 100)]
    rate: u64,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let server = match &args.url {
        Some(url) => server::Server::external(url),
        None => server::Server::start(args.server_bin.as_deref(), args.database_url.as_deref()).await?,
    };
    let report = match args.scenario {
        Scenario::Fanout => fanout::run(&server, &args).await?,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for (k, v) in report.as_object().into_iter().flatten() {
            println!("{k:<28} {v}");
        }
    }
    Ok(())
}
