//! The `todo-graphql` binary: parse configuration, set up logging, run.

use std::process::ExitCode;

use clap::Parser;
use todo_graphql::config::{Cli, Command};
use todo_graphql::{db, graphql, Application};

/// glibc's malloc was a fifth of a `tasks` request's CPU under load
/// (`perf`, BENCHMARKS.md); mimalloc's thread-local heaps take most of it away.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = cli.config;
    let filter = tracing_subscriber::EnvFilter::try_new(&config.rust_log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if config.log_format == "json" {
        logs.json().with_current_span(true).with_span_list(false).init();
    } else {
        logs.init();
    }

    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::ExportSchema => {
            print!("{}", graphql::sdl());
            Ok(())
        }
        Command::Migrate => migrate(&config).await,
        Command::Serve => serve(config).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: the error and its causes.
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn migrate(config: &todo_graphql::Config) -> anyhow::Result<()> {
    let conn = todo_graphql::connect(config).await?;
    db::migrate(&conn).await?;
    tracing::info!("migrations applied");
    Ok(())
}

async fn serve(config: todo_graphql::Config) -> anyhow::Result<()> {
    let app = Application::build(config).await?;
    app.run_until_stopped().await?;
    Ok(())
}
