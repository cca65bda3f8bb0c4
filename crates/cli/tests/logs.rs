//! Logs never contain a token or the signing secret: the real `xingyi local` binary at the
//! most verbose level (`XINGYI_LOG=trace`, JSON lines), exercised through every door that
//! sees a token — GraphQL at the hub and the nodes (good, refused and malformed tokens), the
//! hub forwarding the caller's token to the nodes, and the nodes pushing with their own node
//! tokens — and its whole stderr searched.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod common;

use std::{process::Stdio, time::Duration};

use common::{Server, free_port, local, token, wait_up};

#[tokio::test]
async fn logs_never_contain_tokens_or_the_secret() {
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("local.log");
    let (hub, yc, lf) = (free_port(), free_port(), free_port());
    let _server = Server(
        local(dir.path(), (hub, yc, lf))
            .env("XINGYI_LOG", "trace")
            .env("XINGYI_LOG_FORMAT", "json")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log_path).unwrap())
            .spawn()
            .unwrap(),
    );
    let client = reqwest::Client::new();
    wait_up(&client, &[hub, yc, lf]).await;

    let admin = token(
        dir.path(),
        &["--role", "province_admin", "--sub", "log-test-admin"],
    );
    let editor = token(
        dir.path(),
        &[
            "--role",
            "city_editor",
            "--city",
            "140800",
            "--sub",
            "log-test-editor",
        ],
    );
    let node = token(
        dir.path(),
        &[
            "--role",
            "node",
            "--city",
            "141000",
            "--sub",
            "log-test-node",
        ],
    );
    // A forged token: a valid one with its signature's last characters changed.
    let forged = format!("{}AAAA", &admin[..admin.len() - 4]);
    let url = |port: u16| format!("http://127.0.0.1:{port}/graphql");
    let post = |port: u16, token: &str, query: &str| {
        client
            .post(url(port))
            .bearer_auth(token)
            .json(&serde_json::json!({ "query": query }))
            .send()
    };
    // Read at the hub, delegated live (the hub forwards the caller's token to both nodes).
    let r = post(
        hub,
        &admin,
        "{ cities(consistency: LIVE) { code owner { code } } }",
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    // A refused write (recorded), with the caller's request id, a write at the node, bad
    // tokens.
    let r = client
        .post(url(yc))
        .bearer_auth(&editor)
        .header("x-request-id", "log-test-request-42")
        .json(&serde_json::json!({ "query": "mutation { deleteUnit(id: \"Unit:140800:central-cardiology\") { id } }" }))
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("FORBIDDEN"));
    for bad in [forged.as_str(), node.as_str()] {
        let _ = post(lf, bad, "{ owner { code } }").await.unwrap();
        let _ = post(hub, bad, "{ owner { code } }").await.unwrap();
    }
    // A sync push to the hub for another city with a node token (refused and recorded).
    let _ = client
        .post(format!("http://127.0.0.1:{hub}/sync/push"))
        .bearer_auth(&node)
        .json(&serde_json::json!({ "city": "140800", "node_seq": 0, "changes": [] }))
        .send()
        .await
        .unwrap();
    // Let the nodes push with their own node tokens at least once.
    tokio::time::sleep(Duration::from_secs(3)).await;

    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        log.contains("refused a bearer token"),
        "the log is the servers' log at the verbose level ({} bytes)",
        log.len()
    );
    assert!(log.lines().count() > 50, "trace level logs plenty");
    // Every line logged while serving that request names it.
    let of_request: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("log-test-request-42"))
        .collect();
    assert!(
        of_request.iter().any(|l| l.contains("refused")),
        "the refusal's log line carries the request id: {of_request:?}"
    );
    assert!(!log.contains("\u{1b}["), "no colour codes in a log file");
    let secret = std::fs::read_to_string(dir.path().join("jwt-secret")).unwrap();
    for (what, needle) in [
        ("the admin token", admin.as_str()),
        ("the editor token", editor.as_str()),
        ("the node token", node.as_str()),
        ("the forged token", forged.as_str()),
        (
            "the admin token's signature",
            admin.rsplit('.').next().unwrap(),
        ),
        ("the secret", secret.trim()),
        // Every JWT's header is base64url JSON, so it starts with `eyJ`.
        ("any JWT", "eyJ"),
        ("a bearer credential", "Bearer ey"),
    ] {
        if let Some(at) = log.find(needle) {
            let line = log[..at].lines().count();
            panic!("the log contains {what} (line {line})");
        }
    }
}
