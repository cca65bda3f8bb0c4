//! Logs never contain a token or the signing secret: the real `xingyi local` binary at the
//! most verbose level (`XINGYI_LOG=trace`, JSON lines), exercised through every door that
//! sees a token — GraphQL at the hub and the nodes (good, refused and malformed tokens), the
//! hub forwarding the caller's token to the nodes, and the nodes pushing with their own node
//! tokens — and its whole stderr searched.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn xingyi() -> Command {
    Command::new(env!("CARGO_BIN_EXE_xingyi"))
}

fn token(dir: &std::path::Path, args: &[&str]) -> String {
    let out = xingyi()
        .arg("token")
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[tokio::test]
async fn logs_never_contain_tokens_or_the_secret() {
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("local.log");
    let (hub, yc, lf) = (free_port(), free_port(), free_port());
    let _server = Server(
        xingyi()
            .args(["local", "--data-dir"])
            .arg(dir.path())
            .args([
                "--hub-port",
                &hub.to_string(),
                "--yuncheng-port",
                &yc.to_string(),
                "--linfen-port",
                &lf.to_string(),
            ])
            .env("XINGYI_LOG", "trace")
            .env("XINGYI_LOG_FORMAT", "json")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log_path).unwrap())
            .spawn()
            .unwrap(),
    );
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    for port in [hub, yc, lf] {
        loop {
            let up = client
                .get(format!("http://127.0.0.1:{port}/health"))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200);
            if up {
                break;
            }
            assert!(Instant::now() < deadline, "port {port} never came up");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

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
    // A refused write (recorded), a write at the node, bad tokens.
    let r = post(
        yc,
        &editor,
        "mutation { deleteUnit(id: \"Unit:140800:central-cardiology\") { id } }",
    )
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
