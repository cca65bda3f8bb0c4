//! The real binary runs with its memory settings: mimalloc's options in its environment (set by
//! executing itself again, keeping the process id and any value the operator chose) and
//! transparent huge pages off for the process.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod common;

use std::process::Stdio;

use common::{Server, free_port, local, wait_up};

fn environ(pid: u32) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/environ"))
        .unwrap()
        .split(|b| *b == 0)
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect()
}

#[tokio::test]
async fn the_binary_runs_with_its_allocator_options_and_without_huge_pages() {
    let dir = tempfile::tempdir().unwrap();
    let ports = (free_port(), free_port(), free_port());
    let server = Server(
        local(dir.path(), ports)
            .env_remove("MIMALLOC_ARENA_EAGER_COMMIT")
            .env("MIMALLOC_PURGE_DELAY", "5")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_up(&reqwest::Client::new(), &[ports.0, ports.1, ports.2]).await;
    // The process started is the one serving (same id after executing itself again).
    let pid = server.0.id();
    let env = environ(pid);
    assert!(
        env.iter().any(|v| v == "MIMALLOC_ARENA_EAGER_COMMIT=0"),
        "{env:?}"
    );
    assert!(
        env.iter().any(|v| v == "MIMALLOC_PURGE_DELAY=5"),
        "the operator's own value is kept: {env:?}"
    );
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    // `THP_enabled` is reported by Linux 5.0 and later (every machine this runs on).
    let line = status
        .lines()
        .find(|l| l.starts_with("THP_enabled:"))
        .expect("the kernel reports THP_enabled");
    assert_eq!(line.split_whitespace().nth(1), Some("0"), "{line}");
}
