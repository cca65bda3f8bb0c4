//! `xingyi`: see `cli` for the subcommands.

use clap::Parser;

// mimalloc instead of glibc malloc: allocation was a quarter of the hub's CPU under load
// (perf, docs/PERFORMANCE.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Turns transparent huge pages off for this process. mimalloc asks for them on its memory,
/// and with a heap per thread (each SQLite connection is a thread: the hub has one pool per
/// city) whole 2 MiB pages were committed for a few kilobytes each: an idle hub with 11 cities
/// went from ~66 to ~41 MiB without them, with no loss of speed measured
/// (`docs/PERFORMANCE.md`).
fn without_huge_pages() {
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::thread::disable_transparent_huge_pages(true) {
        tracing::warn!(error = %e, "cannot turn transparent huge pages off; memory use will be higher");
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    let _traces = cli::init_tracing(cli.log_format);
    without_huge_pages();
    match cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "xingyi stopped with an error");
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
