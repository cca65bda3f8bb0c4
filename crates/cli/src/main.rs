//! `xingyi`: see `cli` for the subcommands.

use clap::Parser;

// mimalloc instead of glibc malloc: allocation was a quarter of the hub's CPU under load
// (perf, docs/PERFORMANCE.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc options xingyi runs with unless the operator sets them: commit arena memory as it
/// is used rather than up front, and give freed memory back at once rather than after a second.
/// Measured on the federation benchmark (hub with 11 cities, 50 clients): peak RSS 65.8 →
/// 57.3 MiB with no loss of latency or throughput (`docs/PERFORMANCE.md`).
const ALLOCATOR_OPTIONS: [(&str, &str); 2] = [
    ("MIMALLOC_ARENA_EAGER_COMMIT", "0"),
    ("MIMALLOC_PURGE_DELAY", "0"),
];

/// mimalloc reads its options from the environment as the process starts, before `main`, and
/// setting them from code needs `unsafe`: so when one is missing xingyi executes itself again
/// (same process id, arguments and streams) with it set. Every option present: nothing to do.
fn with_allocator_options() {
    let missing: Vec<(&str, &str)> = ALLOCATOR_OPTIONS
        .into_iter()
        .filter(|(k, _)| std::env::var_os(k).is_none())
        .collect();
    if missing.is_empty() {
        return;
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt as _;
        let Ok(exe) = std::env::current_exe() else {
            return;
        };
        let mut args = std::env::args_os();
        let mut again = std::process::Command::new(exe);
        if let Some(arg0) = args.next() {
            again.arg0(arg0);
        }
        again.args(args).envs(missing);
        // Returns only when the execution failed; xingyi then runs with mimalloc's defaults.
        let e = again.exec();
        eprintln!("warning: cannot apply the allocator's options ({e}); memory use will be higher");
    }
}

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

fn main() -> std::process::ExitCode {
    with_allocator_options();
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    // Tracing is set up inside the runtime, as under `#[tokio::main]`.
    let _inside = runtime.enter();
    let _traces = cli::init_tracing(cli.log_format);
    without_huge_pages();
    match runtime.block_on(cli::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "xingyi stopped with an error");
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
