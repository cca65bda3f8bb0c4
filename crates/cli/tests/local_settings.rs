//! `xingyi local` takes the same `XINGYI_*` settings as `xingyi hub` and `xingyi node`: a
//! frontend dev server on another origin can call the local federation, and the playground can
//! be turned off — on the hub and on both nodes.

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

#[tokio::test]
async fn local_honours_the_environments_settings() {
    let dir = tempfile::tempdir().unwrap();
    let (hub, yc, lf) = (free_port(), free_port(), free_port());
    let _server = Server(
        Command::new(env!("CARGO_BIN_EXE_xingyi"))
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
            .env("XINGYI_GRAPHQL__PLAYGROUND", "false")
            .env(
                "XINGYI_GRAPHQL__CORS_ORIGINS",
                r#"["http://localhost:5173"]"#,
            )
            .env("XINGYI_GRAPHQL__MAX_DEPTH", "3")
            // Each server keeps its own SQLite file whatever the environment says.
            .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
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
    let out = Command::new(env!("CARGO_BIN_EXE_xingyi"))
        .args([
            "token",
            "--role",
            "province_viewer",
            "--sub",
            "dev",
            "--data-dir",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let viewer = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    for port in [hub, yc, lf] {
        let graphiql = client
            .get(format!("http://127.0.0.1:{port}/graphiql"))
            .send()
            .await
            .unwrap();
        assert_eq!(graphiql.status(), 404, "{port}: playground = false");
        let preflight = client
            .request(
                reqwest::Method::OPTIONS,
                format!("http://127.0.0.1:{port}/graphql"),
            )
            .header("origin", "http://localhost:5173")
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            )
            .send()
            .await
            .unwrap();
        assert_eq!(
            preflight
                .headers()
                .get("access-control-allow-origin")
                .map(|v| v.to_str().unwrap()),
            Some("http://localhost:5173"),
            "{port}: the configured origin may call"
        );
        let deep = client
            .post(format!("http://127.0.0.1:{port}/graphql"))
            .bearer_auth(&viewer)
            .json(&serde_json::json!({ "query": "{ programmes { nodes { units { nodes { id } } } } }" }))
            .send()
            .await
            .unwrap();
        let body: serde_json::Value = deep.json().await.unwrap();
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "QUERY_TOO_DEEP",
            "{port}: max_depth = 3: {body}"
        );
    }
}
