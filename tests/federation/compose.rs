//! `docker-compose.yml` cannot run here (no Docker engine on the build machines), so its
//! structure is checked instead: services, one database per server, ports, and wiring.

use std::path::Path;

use serde_yaml_ng::Value;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn compose() -> Value {
    let mut c: Value = serde_yaml_ng::from_str(
        &std::fs::read_to_string(root().join("docker-compose.yml")).unwrap(),
    )
    .unwrap();
    c.apply_merge().unwrap(); // the shared `<<: *xingyi` parts
    c
}

fn env(service: &Value, key: &str) -> String {
    service["environment"][key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} missing"))
        .to_owned()
}

/// The xingyi services: name, port, command.
fn servers() -> [(&'static str, &'static str, Vec<&'static str>); 4] {
    let hub = |listen| {
        vec![
            "hub",
            "--config",
            "/etc/xingyi/hub.toml",
            "--listen",
            listen,
        ]
    };
    [
        ("hub-a", "8600", hub("0.0.0.0:8600")),
        ("hub-b", "8601", hub("0.0.0.0:8601")),
        (
            "node-yuncheng",
            "8608",
            vec!["node", "--city", "140800", "--listen", "0.0.0.0:8608"],
        ),
        (
            "node-linfen",
            "8610",
            vec!["node", "--city", "141000", "--listen", "0.0.0.0:8610"],
        ),
    ]
}

#[test]
fn compose_runs_postgres_two_hubs_and_both_city_nodes_each_node_on_its_own_database() {
    let c = compose();
    let services = c["services"].as_mapping().unwrap();
    let mut names: Vec<&str> = services.keys().map(|k| k.as_str().unwrap()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["hub-a", "hub-b", "node-linfen", "node-yuncheng", "postgres"]
    );

    let init = std::fs::read_to_string(root().join("docker/postgres-init.sql")).unwrap();
    let mut dbs = Vec::new();
    for (name, port, command) in servers() {
        let s = &c["services"][name];
        let url = env(s, "DATABASE_URL");
        assert!(
            url.starts_with("postgres://") && url.contains("@postgres:5432/"),
            "{name}: {url}"
        );
        let db = url.rsplit('/').next().unwrap().to_owned();
        assert!(
            init.contains(&format!("CREATE DATABASE {db};")),
            "{name}'s database {db} is created at init"
        );
        dbs.push(db);
        let ports: Vec<&str> = s["ports"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        assert_eq!(ports, [format!("{port}:{port}")], "{name}");
        let cmd: Vec<&str> = s["command"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        assert_eq!(cmd, command, "{name}");
        assert_eq!(
            s["depends_on"]["postgres"]["condition"].as_str(),
            Some("service_healthy"),
            "{name}"
        );
        assert_eq!(s["build"].as_str(), Some("."), "{name}");
        // Restarted when it dies, and checked through its own /health by the binary itself.
        assert_eq!(s["restart"].as_str(), Some("unless-stopped"), "{name}");
        let check: Vec<&str> = s["healthcheck"]["test"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        assert_eq!(
            check,
            [
                "CMD",
                "xingyi",
                "probe",
                &format!("http://127.0.0.1:{port}/ready")
            ],
            "{name}"
        );
        // One HS256 secret for all, generated on first start in a shared volume: none is
        // committed.
        assert_eq!(
            env(s, "XINGYI_AUTH__SECRET_FILE"),
            "/var/lib/xingyi/secrets/jwt-secret",
            "{name}"
        );
        assert!(
            s["volumes"]
                .as_sequence()
                .unwrap()
                .iter()
                .any(|v| v.as_str() == Some("secrets:/var/lib/xingyi/secrets")),
            "{name} mounts the shared secret volume"
        );
    }
    assert!(c["volumes"].as_mapping().unwrap().contains_key("secrets"));
    assert!(
        !root().join("config/compose-jwt-secret").exists(),
        "no secret in the repository"
    );
    // Both hubs serve the same databases (config/docker-hub.toml, mounted in each); every
    // replica has its own database; each node lists both hubs.
    let hub: province_hub::Config =
        cli::config::load(Some(&root().join("config/docker-hub.toml"))).unwrap();
    for name in ["hub-a", "hub-b"] {
        let mount = c["services"][name]["volumes"][1].as_str().unwrap();
        assert_eq!(mount, "./config/docker-hub.toml:/etc/xingyi/hub.toml:ro");
    }
    for (service, city) in [("node-yuncheng", "140800"), ("node-linfen", "141000")] {
        let node = hub
            .nodes
            .iter()
            .find(|n| n.city.to_string() == city)
            .unwrap();
        let s = &c["services"][service];
        let push = sync::node::PushConfig {
            hub_url: env(s, "XINGYI_SYNC__HUB_URL"),
            ..Default::default()
        };
        assert_eq!(
            push.hubs(),
            ["http://hub-a:8600", "http://hub-b:8601"],
            "{service}"
        );
        assert!(
            node.url.starts_with(&format!("http://{service}:")),
            "{service}"
        );
        let db = node.replica.url.rsplit('/').next().unwrap().to_owned();
        assert!(
            init.contains(&format!("CREATE DATABASE {db};")),
            "replica {db} is created"
        );
        dbs.push(db);
    }
    dbs.sort();
    dbs.dedup();
    assert_eq!(
        dbs.len(),
        5,
        "one hub database for both hubs, one per node and per replica"
    );
    assert!(c["services"]["postgres"]["healthcheck"]["test"].is_sequence());
}

#[test]
fn the_commands_in_compose_parse_with_the_real_cli() {
    use clap::Parser as _;
    let c = compose();
    for name in ["hub-a", "hub-b", "node-yuncheng", "node-linfen"] {
        let mut args = vec!["xingyi".to_owned()];
        args.extend(
            c["services"][name]["command"]
                .as_sequence()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_owned()),
        );
        cli::Cli::try_parse_from(&args).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let dockerfile = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    assert!(dockerfile.contains("cargo build --release --locked -p cli"));
    assert!(dockerfile.contains("ENTRYPOINT [\"/usr/local/bin/xingyi\"]"));
}
