//! The `todo-graphql` binary: parse configuration, set up logging, run.

use std::process::ExitCode;

use clap::{CommandFactory as _, FromArgMatches as _};
use todo_graphql::config::{self, Cli, Command, LogFormat};
use todo_graphql::telemetry::traces;
use todo_graphql::{db, graphql, Application};

/// glibc's malloc was a fifth of a `tasks` request's CPU under load
/// (`perf`, BENCHMARKS.md); mimalloc's thread-local heaps take most of it away.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let config = cli.config;
    let traces = match init_logs(&config) {
        Ok(traces) => traces,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::FAILURE;
        }
    };

    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::ExportSchema => {
            print!("{}", graphql::sdl());
            Ok(())
        }
        Command::Config => {
            print!("{}", config::describe(&matches));
            Ok(())
        }
        Command::Migrate => migrate(&config).await,
        Command::Serve => serve(config).await,
    };
    if let Some(traces) = traces {
        // The exporter's HTTP client blocks; it must not run on a runtime thread.
        let _ = tokio::task::spawn_blocking(move || traces.shutdown()).await;
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: the error and its causes.
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Log lines to stderr (text or JSON, filtered by `RUST_LOG`), and spans to
/// an OTLP endpoint when the `OTEL_*` variables name one.
fn init_logs(config: &todo_graphql::Config) -> anyhow::Result<Option<traces::Traces>> {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    use tracing_subscriber::Layer as _;
    let filter = tracing_subscriber::EnvFilter::try_new(&config.rust_log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let logs = match config.log_format {
        LogFormat::Json => logs.json().with_current_span(true).with_span_list(true).boxed(),
        LogFormat::Text => logs.boxed(),
    };
    let registry = tracing_subscriber::registry().with(logs.with_filter(filter));
    match traces::init()? {
        Some((traces, layer)) => {
            // Only this crate's spans: the exporter's own HTTP client must
            // not trace itself.
            let ours = tracing_subscriber::filter::Targets::new().with_target("todo_graphql", tracing::Level::INFO);
            registry.with(layer.with_filter(ours)).init();
            Ok(Some(traces))
        }
        None => {
            registry.init();
            Ok(None)
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
