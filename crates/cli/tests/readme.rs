//! README.md is executed: every shell, GraphQL and TOML example in it runs against a fresh
//! `xingyi local`, started by the README's own first command, with the token the text names.
//!
//! Each example's fence is preceded by a comment that says how it runs
//! (`<!-- example: hub as TOKEN -->`); an example without one fails this test, so a new example
//! is either run or explicitly set aside with its reason:
//!
//! - `starts the federation`: the Quick start command, run in a scratch directory (ports moved
//!   to free ones); `output of the federation`: what it must print.
//! - `shell`: run with bash, `set -euo pipefail`; it must succeed, and a GraphQL answer it
//!   prints must carry data and no `errors`. Variables the README defines (`TOKEN=$(…)`, in a block or in the text)
//!   stay defined for the examples after them.
//! - `hub as V` / `node <city> as V`: the GraphQL document, posted there with `$V` as the bearer
//!   token; the answer has no `errors`. An `answer` block after it is the expected data: every
//!   field it shows must be equal, and every field it leaves out must be null.
//! - `config`: a node must start with this TOML as its `--config`.
//! - `servers`: each line starts a server that must become ready.
//! - `not run: <reason>`.
//!
//! The README calls the binary `xingyi` and `cargo run --release -p cli --`; here both are the
//! binary under test.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod common;

use std::{
    collections::BTreeMap,
    io::BufRead,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use common::{Server, free_port, wait_up};
use serde_json::Value;

/// One fenced block of README.md and the line that says how it runs.
#[derive(Debug)]
struct Example {
    line: usize,
    lang: String,
    how: Option<String>,
    body: String,
}

fn examples(readme: &str) -> Vec<Example> {
    let mut out = Vec::new();
    let mut open: Option<Example> = None;
    let mut last_text = "";
    for (i, l) in readme.lines().enumerate() {
        if let Some(ex) = open.as_mut() {
            if l.starts_with("```") {
                out.push(open.take().unwrap());
            } else {
                ex.body.push_str(l);
                ex.body.push('\n');
            }
            continue;
        }
        if let Some(lang) = l.strip_prefix("```") {
            let how = last_text
                .strip_prefix("<!-- example: ")
                .and_then(|s| s.strip_suffix(" -->"))
                .map(str::to_owned);
            open = Some(Example {
                line: i + 1,
                lang: lang.trim().to_owned(),
                how,
                body: String::new(),
            });
        } else if !l.trim().is_empty() {
            last_text = l.trim();
        }
    }
    assert!(open.is_none(), "README.md ends inside a fenced block");
    out
}

/// `NAME=$(xingyi token …)` definitions written in the text as inline code.
fn inline_definitions(readme: &str) -> Vec<String> {
    readme
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|code| {
            code.split_once("=$(").is_some_and(|(name, rest)| {
                !name.is_empty()
                    && name.chars().all(|c| c.is_ascii_uppercase() || c == '_')
                    && rest.ends_with(')')
            })
        })
        .map(str::to_owned)
        .collect()
}

/// Ports and commands as the test runs them.
struct Place {
    dir: PathBuf,
    bin: PathBuf,
    ports: BTreeMap<u16, u16>,
}

impl Place {
    fn localise(&self, text: &str) -> String {
        let mut s = text
            .replace("cargo run -q --release -p cli --", "xingyi")
            .replace("cargo run --release -p cli --", "xingyi");
        for (readme, ours) in &self.ports {
            s = s.replace(&format!("127.0.0.1:{readme}"), &format!("127.0.0.1:{ours}"));
        }
        s
    }

    fn bash(&self, script: &str) -> Command {
        let mut cmd = Command::new("bash");
        cmd.arg("-c")
            .arg(format!("set -euo pipefail\n{script}"))
            .current_dir(&self.dir)
            .env(
                "PATH",
                format!(
                    "{}:{}",
                    self.bin.display(),
                    std::env::var("PATH").unwrap_or_default()
                ),
            )
            .env_remove("XINGYI_LOG_FORMAT");
        cmd
    }

    /// The value of `$name` after `prelude`.
    fn variable(&self, prelude: &str, name: &str) -> String {
        let out = self
            .bash(&format!("{prelude}\nprintf %s \"${name}\""))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "defining ${name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v = String::from_utf8(out.stdout).unwrap();
        assert!(!v.is_empty(), "the README never defines ${name}");
        v
    }
}

/// `expected` shown in the README against `actual`: every shown field equal (numbers as
/// numbers), every field left out null.
fn matches(expected: &Value, actual: &Value, path: &str) -> Result<(), String> {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, v) in e {
                let got = a.get(k).unwrap_or(&Value::Null);
                matches(v, got, &format!("{path}.{k}"))?;
            }
            for (k, v) in a {
                if !e.contains_key(k) && !v.is_null() {
                    return Err(format!("{path}.{k} is {v}; the README leaves it out"));
                }
            }
            Ok(())
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                return Err(format!(
                    "{path}: the README shows {} items, the answer has {}: {actual}",
                    e.len(),
                    a.len()
                ));
            }
            for (i, (x, y)) in e.iter().zip(a).enumerate() {
                matches(x, y, &format!("{path}[{i}]"))?;
            }
            Ok(())
        }
        (Value::Number(x), Value::Number(y)) if x.as_f64() == y.as_f64() => Ok(()),
        (x, y) if x == y => Ok(()),
        (x, y) => Err(format!("{path}: the README shows {x}, the answer is {y}")),
    }
}

fn no_errors(v: &Value, what: &str) {
    assert!(
        v.get("errors").is_none(),
        "{what} answers with errors: {}",
        serde_json::to_string_pretty(v).unwrap()
    );
}

async fn ready(client: &reqwest::Client, port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let ok = client
            .get(format!("http://127.0.0.1:{port}/ready"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200);
        if ok {
            return;
        }
        assert!(Instant::now() < deadline, "{what} never became ready");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn every_readme_example_works_as_written() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let examples = examples(&readme);
    let unmarked: Vec<_> = examples
        .iter()
        .filter(|e| e.how.is_none())
        .map(|e| format!("line {} ({})", e.line, e.lang))
        .collect();
    assert!(
        unmarked.is_empty(),
        "README examples without an `<!-- example: … -->` line: {unmarked:?}"
    );

    let scratch = tempfile::tempdir().unwrap();
    let bin = scratch.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_xingyi"), bin.join("xingyi")).unwrap();
    std::os::unix::fs::symlink(root.join("config"), scratch.path().join("config")).unwrap();
    let (hub, yc, lf) = (free_port(), free_port(), free_port());
    let place = Place {
        dir: scratch.path().to_owned(),
        bin,
        ports: BTreeMap::from([(8600, hub), (8608, yc), (8610, lf)]),
    };
    let endpoint = |city: &str| -> u16 {
        match city {
            "hub" => hub,
            "140800" => yc,
            "141000" => lf,
            other => panic!("no example endpoint `{other}`"),
        }
    };
    let client = reqwest::Client::new();
    let inline = inline_definitions(&readme);
    assert!(
        inline.iter().any(|d| d.starts_with("EDITOR=")),
        "the README names the editor's token in its text: {inline:?}"
    );

    let mut federation: Option<Server> = None;
    let mut banner: Option<std::sync::mpsc::Receiver<String>> = None;
    let mut prelude = String::new();
    let mut last_answer: Option<(usize, Value)> = None;
    let mut ran = 0;
    for ex in &examples {
        let how = ex.how.as_deref().unwrap();
        let body = place.localise(&ex.body);
        let at = format!("README.md line {}", ex.line);
        match how.split_whitespace().collect::<Vec<_>>().as_slice() {
            ["starts", "the", "federation"] => {
                let line = body.trim();
                assert!(line.ends_with(" local"), "{at}: `{line}` is not `… local`");
                let mut child = place
                    .bash(&format!(
                        "exec {line} --hub-port {hub} --yuncheng-port {yc} --linfen-port {lf}"
                    ))
                    .stdout(Stdio::piped())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap();
                let stdout = child.stdout.take().unwrap();
                let (tx, rx) = std::sync::mpsc::channel();
                std::thread::spawn(move || {
                    for l in std::io::BufReader::new(stdout).lines() {
                        let Ok(l) = l else { break };
                        if tx.send(l).is_err() {
                            // Nobody listens any more; keep draining so the child never blocks.
                        }
                    }
                });
                federation = Some(Server(child));
                banner = Some(rx);
                wait_up(&client, &[hub, yc, lf]).await;
                for port in [hub, yc, lf] {
                    ready(&client, port, &format!("{at}: port {port}")).await;
                }
                // Both cities in sync before the examples that read replicas.
                tokio::time::sleep(Duration::from_millis(1500)).await;
            }
            ["output", "of", "the", "federation"] => {
                let rx = banner.as_ref().expect("the output follows the command");
                let mut printed = Vec::new();
                let deadline = Instant::now() + Duration::from_secs(10);
                let wanted: Vec<&str> = body.lines().filter(|l| !l.trim().is_empty()).collect();
                // A line ending in `…` stands for every line that begins with the rest.
                let shown = |p: &str, w: &str| match w.trim_end().strip_suffix('…') {
                    Some(prefix) => p.starts_with(prefix),
                    None => p.trim_end() == w.trim_end(),
                };
                while Instant::now() < deadline
                    && !wanted
                        .iter()
                        .all(|w| printed.iter().any(|p: &String| shown(p, w)))
                {
                    if let Ok(l) = rx.recv_timeout(Duration::from_millis(200)) {
                        printed.push(l);
                    }
                }
                for w in &wanted {
                    assert!(
                        printed.iter().any(|p| shown(p, w)),
                        "{at}: `xingyi local` does not print `{w}`; it printed:\n{}",
                        printed.join("\n")
                    );
                }
            }
            ["shell"] => {
                assert!(
                    federation.is_some(),
                    "{at}: a shell example before the federation"
                );
                let script = format!("{prelude}\n{body}");
                let out = place.bash(&script).output().unwrap();
                let stdout = String::from_utf8_lossy(&out.stdout);
                assert!(
                    out.status.success(),
                    "{at} fails:\n{body}\nstdout: {stdout}\nstderr: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                // A GraphQL answer printed by curl must carry data and no errors.
                if let Ok(v) = serde_json::from_str::<Value>(stdout.trim())
                    && (v.get("data").is_some() || v.get("errors").is_some())
                {
                    no_errors(&v, &at);
                    assert!(v.get("data").is_some_and(|d| !d.is_null()), "{at}: {v}");
                }
                for l in body.lines() {
                    if l.split_once("=$(").is_some_and(|(n, _)| {
                        !n.is_empty() && n.chars().all(|c| c.is_ascii_uppercase() || c == '_')
                    }) {
                        prelude.push_str(l);
                        prelude.push('\n');
                    }
                }
                // The text's definitions hold from where the text gives them on; all of
                // them come before the first example that needs them.
                for d in &inline {
                    if !prelude.contains(d.as_str()) {
                        prelude.push_str(&place.localise(d));
                        prelude.push('\n');
                    }
                }
                ran += 1;
            }
            [place_name, rest @ ..] if rest.len() >= 2 && rest[rest.len() - 2] == "as" => {
                let port = if *place_name == "hub" {
                    endpoint("hub")
                } else {
                    assert_eq!(rest.len(), 3, "{at}: `node <city> as V`");
                    endpoint(rest[0])
                };
                let var = rest[rest.len() - 1];
                let token = place.variable(&prelude, var);
                let resp = client
                    .post(format!("http://127.0.0.1:{port}/graphql"))
                    .bearer_auth(&token)
                    .json(&serde_json::json!({ "query": body }))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(resp.status(), 200, "{at}");
                let v: Value = resp.json().await.unwrap();
                no_errors(&v, &at);
                last_answer = Some((ex.line, v));
                ran += 1;
            }
            ["answer"] => {
                let (line, actual) = last_answer
                    .take()
                    .unwrap_or_else(|| panic!("{at}: an answer with no query before it"));
                let expected: Value = serde_json::from_str(&ex.body)
                    .unwrap_or_else(|e| panic!("{at}: the answer is not JSON: {e}"));
                if let Err(e) = matches(&expected, &actual, "") {
                    panic!(
                        "{at} is not what the example at line {line} answers: {e}\nanswer: {}",
                        serde_json::to_string_pretty(&actual).unwrap()
                    );
                }
            }
            ["config"] => {
                let file = scratch.path().join(format!("readme-{}.toml", ex.line));
                std::fs::write(&file, &ex.body).unwrap();
                let port = free_port();
                let _node = Server(
                    Command::new(env!("CARGO_BIN_EXE_xingyi"))
                        .args(["node", "--city", "140800", "--config"])
                        .arg(&file)
                        .env("XINGYI_LISTEN", format!("127.0.0.1:{port}"))
                        .env(
                            "XINGYI_DATA_DIR",
                            scratch.path().join(format!("config-{}", ex.line)),
                        )
                        .stdout(Stdio::null())
                        .stderr(Stdio::null())
                        .spawn()
                        .unwrap(),
                );
                ready(
                    &client,
                    port,
                    &format!("{at}: a node with this configuration"),
                )
                .await;
                ran += 1;
            }
            ["servers"] => {
                for (i, l) in body.lines().filter(|l| !l.trim().is_empty()).enumerate() {
                    let port = free_port();
                    let _server = Server(
                        place
                            .bash(&format!("exec {}", l.split('#').next().unwrap().trim()))
                            .env("XINGYI_LISTEN", format!("127.0.0.1:{port}"))
                            .env(
                                "XINGYI_DATA_DIR",
                                scratch.path().join(format!("servers-{i}")),
                            )
                            .stdout(Stdio::null())
                            .stderr(Stdio::null())
                            .spawn()
                            .unwrap(),
                    );
                    ready(&client, port, &format!("{at}: `{l}`")).await;
                }
                ran += 1;
            }
            ["not", "run:", ..] => {}
            other => panic!("{at}: unknown example kind {other:?}"),
        }
    }
    assert!(ran >= 10, "only {ran} examples ran");
    drop(federation);
}

#[test]
fn the_answer_comparison_can_fail() {
    let a = serde_json::json!({ "x": 1.0, "y": [1, 2], "z": null });
    assert!(matches(&serde_json::json!({ "x": 1, "y": [1, 2] }), &a, "").is_ok());
    assert!(matches(&serde_json::json!({ "x": 2, "y": [1, 2] }), &a, "").is_err());
    assert!(matches(&serde_json::json!({ "x": 1, "y": [1] }), &a, "").is_err());
    assert!(
        matches(&serde_json::json!({ "y": [1, 2] }), &a, "").is_err(),
        "x left out but not null"
    );
}
