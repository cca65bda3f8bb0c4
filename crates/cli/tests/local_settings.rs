//! `xingyi local` takes the same `XINGYI_*` settings as `xingyi hub` and `xingyi node`: a
//! frontend dev server on another origin can call the local federation, and the playground can
//! be turned off — on the hub and on both nodes.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod common;

use std::process::Stdio;

use common::{Server, free_port, local, token, wait_up};

#[tokio::test]
async fn local_honours_the_environments_settings() {
    let dir = tempfile::tempdir().unwrap();
    let (hub, yc, lf) = (free_port(), free_port(), free_port());
    let _server = Server(
        local(dir.path(), (hub, yc, lf))
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
    wait_up(&client, &[hub, yc, lf]).await;
    // `xingyi probe`, the containers' health check: 0 on a 2xx answer, 1 with why otherwise.
    let probe = |url: String| common::xingyi().args(["probe", &url]).output().unwrap();
    assert!(
        probe(format!("http://127.0.0.1:{hub}/health"))
            .status
            .success()
    );
    let missing = probe(format!("http://127.0.0.1:{hub}/no-such-page"));
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("404"));
    let closed = probe(format!("http://127.0.0.1:{}/health", free_port()));
    assert!(!closed.status.success());
    let viewer = token(dir.path(), &["--role", "province_viewer", "--sub", "dev"]);
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
