//! What the binary's tests share: free ports, the `xingyi` binary as a child process that is
//! killed when dropped, waiting for servers to come up, and tokens issued by the binary.

#![allow(clippy::unwrap_used, dead_code)] // in tests a panic is the failure report; each test uses a part

use std::{
    process::{Child, Command},
    time::{Duration, Instant},
};

/// A port nobody listens on now.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running `xingyi`, killed when dropped.
pub(crate) struct Server(pub(crate) Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The binary under test.
pub(crate) fn xingyi() -> Command {
    Command::new(env!("CARGO_BIN_EXE_xingyi"))
}

/// `xingyi local` on the three ports, data in `dir`.
pub(crate) fn local(dir: &std::path::Path, (hub, yc, lf): (u16, u16, u16)) -> Command {
    let mut cmd = xingyi();
    cmd.args(["local", "--data-dir"]).arg(dir).args([
        "--hub-port",
        &hub.to_string(),
        "--yuncheng-port",
        &yc.to_string(),
        "--linfen-port",
        &lf.to_string(),
    ]);
    cmd
}

/// Waits until every port answers `GET /health` with 200.
pub(crate) async fn wait_up(client: &reqwest::Client, ports: &[u16]) {
    let deadline = Instant::now() + Duration::from_secs(120);
    for port in ports {
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
}

/// A token issued by `xingyi token <args> --data-dir dir`.
pub(crate) fn token(dir: &std::path::Path, args: &[&str]) -> String {
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
