//! Tokens: what is accepted, and every hostile token refused with its reason.
#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use std::time::Duration;

use auth::{Algorithm, AuthConfig, Claims, Principal, Role, Signer, Verifier};
use base64::Engine as _;
use model::region::{LINFEN, SHANXI, YUNCHENG};

const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/keys");
const HOUR: Duration = Duration::from_secs(3600);

fn key(name: &str) -> Vec<u8> {
    std::fs::read(format!("{KEYS}/{name}")).unwrap()
}

fn config() -> AuthConfig {
    AuthConfig::default()
}

fn secret() -> Vec<u8> {
    b"0123456789abcdef0123456789abcdef".to_vec()
}

async fn reason(v: &Verifier, token: &str) -> &'static str {
    v.verify(token).await.unwrap_err().reason
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn a_valid_hs256_token_names_its_subject_role_and_city() {
    let s = Signer::hs256(&secret(), &config());
    let v = Verifier::hs256(&secret(), &config());
    let t = s
        .issue("alice", Role::CityEditor, Some(YUNCHENG), HOUR)
        .unwrap();
    let subject = v.verify(&t).await.unwrap();
    assert_eq!(subject.sub, "alice");
    assert_eq!(subject.role, Role::CityEditor);
    assert_eq!(subject.city, Some(YUNCHENG));
    let p = v.principal(Some(&format!("Bearer {t}"))).await.unwrap();
    assert_eq!(p.actor(), "city_editor:alice");
    assert_eq!(v.principal(None).await.unwrap(), Principal::Anonymous);
    assert_eq!(
        v.principal(Some(&t)).await.unwrap_err().reason,
        "MALFORMED",
        "a token without `Bearer ` is refused"
    );
}

#[tokio::test]
async fn hostile_hs256_tokens_are_refused_with_their_reason() {
    let s = Signer::hs256(&secret(), &config());
    let v = Verifier::hs256(&secret(), &config());
    let good = s.claims("alice", Role::ProvinceViewer, None, HOUR);

    // Signed with another secret.
    let other = Signer::hs256(b"another secret, long enough for hs256", &config());
    assert_eq!(
        reason(&v, &other.sign(&good).unwrap()).await,
        "BAD_SIGNATURE"
    );
    // A changed payload under the original signature.
    let t = s.sign(&good).unwrap();
    let mut parts: Vec<String> = t.split('.').map(str::to_owned).collect();
    let forged = Claims {
        role: Role::ProvinceAdmin,
        ..good.clone()
    };
    parts[1] = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(serde_json::to_vec(&forged).unwrap());
    assert_eq!(reason(&v, &parts.join(".")).await, "BAD_SIGNATURE");
    // Expired beyond the leeway; expired within the leeway still passes.
    let expired = Claims {
        exp: now() - 3600,
        nbf: now() - 7200,
        ..good.clone()
    };
    assert_eq!(reason(&v, &s.sign(&expired).unwrap()).await, "EXPIRED");
    let skewed = Claims {
        exp: now() - 5,
        ..good.clone()
    };
    assert!(v.verify(&s.sign(&skewed).unwrap()).await.is_ok());
    // Not yet valid.
    let early = Claims {
        nbf: now() + 3600,
        ..good.clone()
    };
    assert_eq!(reason(&v, &s.sign(&early).unwrap()).await, "NOT_YET_VALID");
    // Wrong audience, wrong issuer.
    let aud = Claims {
        aud: "someone-else".into(),
        ..good.clone()
    };
    assert_eq!(reason(&v, &s.sign(&aud).unwrap()).await, "WRONG_AUDIENCE");
    let iss = Claims {
        iss: "someone-else".into(),
        ..good.clone()
    };
    assert_eq!(reason(&v, &s.sign(&iss).unwrap()).await, "WRONG_ISSUER");
    // `alg: none`, unsigned.
    let b64 = |v: &serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
    };
    let none = format!(
        "{}.{}.",
        b64(&serde_json::json!({"alg": "none", "typ": "JWT"})),
        b64(&serde_json::to_value(&good).unwrap())
    );
    assert_eq!(reason(&v, &none).await, "MALFORMED");
    // Claims that do not make a principal.
    for (claims, why) in [
        (
            serde_json::json!({"sub": "x", "role": "city_admin", "iss": "xingyi", "aud": "xingyi", "exp": now() + 60, "nbf": now(), "iat": now()}),
            "city role without city",
        ),
        (
            serde_json::json!({"sub": "x", "role": "city_admin", "city": SHANXI.to_string(), "iss": "xingyi", "aud": "xingyi", "exp": now() + 60, "nbf": now(), "iat": now()}),
            "the province as a city",
        ),
        (
            serde_json::json!({"sub": "x", "role": "city_editor", "city": "140802", "iss": "xingyi", "aud": "xingyi", "exp": now() + 60, "nbf": now(), "iat": now()}),
            "a district of 运城 as a city",
        ),
        (
            serde_json::json!({"sub": "x", "role": "province_viewer", "city": LINFEN.to_string(), "iss": "xingyi", "aud": "xingyi", "exp": now() + 60, "nbf": now(), "iat": now()}),
            "province role with a city",
        ),
        (
            serde_json::json!({"sub": "x", "role": "superuser", "iss": "xingyi", "aud": "xingyi", "exp": now() + 60, "nbf": now(), "iat": now()}),
            "unknown role",
        ),
    ] {
        let t = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(&secret()),
        )
        .unwrap();
        assert_eq!(reason(&v, &t).await, "BAD_CLAIMS", "{why}");
    }
    // No `nbf` at all.
    let t = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &serde_json::json!({"sub": "x", "role": "province_viewer", "iss": "xingyi", "aud": "xingyi", "exp": now() + 60}),
        &jsonwebtoken::EncodingKey::from_secret(&secret()),
    )
    .unwrap();
    assert_eq!(reason(&v, &t).await, "MISSING_CLAIM");
    assert_eq!(reason(&v, "not.a.token").await, "MALFORMED");
}

fn rs256_config(jwks: &str) -> AuthConfig {
    AuthConfig {
        algorithm: Algorithm::RS256,
        jwks: jwks.to_owned(),
        ..config()
    }
}

#[tokio::test]
async fn rs256_keys_come_from_the_jwks_by_kid_and_rotate_without_restart() {
    let dir = tempfile::tempdir().unwrap();
    let jwks = dir.path().join("jwks.json");
    std::fs::write(&jwks, key("rsa-1.jwks.json")).unwrap();
    let v = Verifier::from_config(&rs256_config(jwks.to_str().unwrap()), dir.path())
        .await
        .unwrap();
    let one = Signer::from_pem(Algorithm::RS256, &key("rsa-1.pem"), "rsa-1", &config()).unwrap();
    let two = Signer::from_pem(Algorithm::RS256, &key("rsa-2.pem"), "rsa-2", &config()).unwrap();
    let t1 = one.issue("ops", Role::ProvinceAdmin, None, HOUR).unwrap();
    assert_eq!(v.verify(&t1).await.unwrap().role, Role::ProvinceAdmin);

    // A key the set does not have yet; then the operator publishes it.
    std::fs::write(&jwks, key("rsa-1-2.jwks.json")).unwrap();
    let t2 = two.issue("ops", Role::ProvinceAdmin, None, HOUR).unwrap();
    assert_eq!(v.verify(&t2).await.unwrap().sub, "ops");
    assert!(v.verify(&t1).await.is_ok(), "the old key still works");

    // A kid nobody published; a token naming rsa-1 but signed by rsa-2.
    let stranger =
        Signer::from_pem(Algorithm::RS256, &key("rsa-2.pem"), "rsa-9", &config()).unwrap();
    let t = stranger
        .issue("x", Role::ProvinceAdmin, None, HOUR)
        .unwrap();
    assert_eq!(reason(&v, &t).await, "UNKNOWN_KID");
    let liar = Signer::from_pem(Algorithm::RS256, &key("rsa-2.pem"), "rsa-1", &config()).unwrap();
    let t = liar.issue("x", Role::ProvinceAdmin, None, HOUR).unwrap();
    assert_eq!(reason(&v, &t).await, "BAD_SIGNATURE");
    // No kid.
    let t = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
        &one.claims("x", Role::ProvinceAdmin, None, HOUR),
        &jsonwebtoken::EncodingKey::from_rsa_pem(&key("rsa-1.pem")).unwrap(),
    )
    .unwrap();
    assert_eq!(reason(&v, &t).await, "KID_REQUIRED");

    // The classic confusion: an HS256 token "signed" with the RS256 public key as its secret.
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some("rsa-1".into());
    let t = jsonwebtoken::encode(
        &header,
        &one.claims("x", Role::ProvinceAdmin, None, HOUR),
        &jsonwebtoken::EncodingKey::from_secret(&key("rsa-1.pub.pem")),
    )
    .unwrap();
    assert_eq!(reason(&v, &t).await, "ALGORITHM_NOT_ALLOWED");
    // And the other way: an HS256 server refuses RS256 tokens.
    let hs = Verifier::hs256(&secret(), &config());
    assert_eq!(reason(&hs, &t1).await, "ALGORITHM_NOT_ALLOWED");
}

#[tokio::test]
async fn eddsa_keys_work_from_a_jwks_served_over_http_and_survive_its_outage() {
    use std::sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    };
    // A one-route HTTP server for the key set, counting fetches; it can be made to fail.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let body = String::from_utf8(key("ed-1.jwks.json")).unwrap();
    let fetches = Arc::new(AtomicUsize::new(0));
    let down = Arc::new(AtomicBool::new(false));
    let (count, failing) = (fetches.clone(), down.clone());
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let mut buf = [0u8; 1024];
            let _ = sock.read(&mut buf).await;
            count.fetch_add(1, Ordering::SeqCst);
            let resp = if failing.load(Ordering::SeqCst) {
                "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    .to_owned()
            } else {
                format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                )
            };
            let _ = sock.write_all(resp.as_bytes()).await;
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let cfg = AuthConfig {
        algorithm: Algorithm::EdDSA,
        jwks: format!("http://{addr}/jwks.json"),
        jwks_refresh_s: 1,
        ..config()
    };
    let v = Verifier::from_config(&cfg, dir.path()).await.unwrap();
    let s = Signer::from_pem(Algorithm::EdDSA, &key("ed-1.pem"), "ed-1", &config()).unwrap();
    let t = s.issue("n", Role::Node, Some(LINFEN), HOUR).unwrap();
    let subject = v.verify(&t).await.unwrap();
    assert_eq!((subject.role, subject.city), (Role::Node, Some(LINFEN)));
    // An RS256 token at an EdDSA server.
    let rs = Signer::from_pem(Algorithm::RS256, &key("rsa-1.pem"), "ed-1", &config()).unwrap();
    let rs_token = rs.issue("n", Role::Node, Some(LINFEN), HOUR).unwrap();
    assert_eq!(reason(&v, &rs_token).await, "ALGORITHM_NOT_ALLOWED");

    // The key server goes down and the set goes stale: tokens of known keys still verify,
    // and the hub does not refetch on every request (one failed fetch, then a pause).
    down.store(true, Ordering::SeqCst);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let before = fetches.load(Ordering::SeqCst);
    for _ in 0..20 {
        assert!(v.verify(&t).await.is_ok(), "the old keys serve meanwhile");
    }
    assert_eq!(
        fetches.load(Ordering::SeqCst) - before,
        1,
        "one reload attempt, not one per request"
    );
}

#[test]
fn servers_starting_together_share_one_secret() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared").join("jwt-secret");
    let secrets: Vec<Vec<u8>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| s.spawn(|| auth::load_or_create_secret(&path).unwrap()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(secrets.iter().all(|s| s == &secrets[0] && s.len() == 32));
    let left: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["jwt-secret"], "no partial files left behind");
}

#[tokio::test]
async fn the_local_secret_is_generated_once_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let v1 = Verifier::from_config(&config(), dir.path()).await.unwrap();
    let secret = auth::load_or_create_secret(&dir.path().join("jwt-secret")).unwrap();
    assert_eq!(secret.len(), 32);
    let t = Signer::hs256(&secret, &config())
        .issue("a", Role::ProvinceViewer, None, HOUR)
        .unwrap();
    assert!(v1.verify(&t).await.is_ok());
    // A second start reads the same secret.
    let v2 = Verifier::from_config(&config(), dir.path()).await.unwrap();
    assert!(v2.verify(&t).await.is_ok());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.path().join("jwt-secret"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "only the owner may read the secret");
    }
    // RS256 without a key set is a configuration error, not an open door.
    assert!(
        Verifier::from_config(&rs256_config(""), dir.path())
            .await
            .is_err()
    );
}

#[test]
fn the_access_rules() {
    use auth::{Subject, WriteKind::*};
    use codes::Code::{Forbidden, Unauthenticated};
    let p = |role, city| {
        Principal::Authenticated(Subject {
            sub: "s".into(),
            role,
            city,
        })
    };
    let code = |r: Result<(), auth::Refusal>| r.err().map(|r| r.code);
    let editor = p(Role::CityEditor, Some(YUNCHENG));
    assert_eq!(code(editor.read(YUNCHENG, false)), None);
    assert_eq!(code(editor.read(SHANXI, false)), None);
    assert_eq!(code(editor.read(LINFEN, false)), Some(Forbidden));
    assert_eq!(code(editor.write(YUNCHENG, Record)), None);
    assert_eq!(code(editor.write(YUNCHENG, Administer)), Some(Forbidden));
    assert_eq!(code(editor.write(LINFEN, Record)), Some(Forbidden));
    assert_eq!(code(editor.write(SHANXI, Record)), Some(Forbidden));
    let at_hub = editor.write(SHANXI, Record).unwrap_err().message;
    assert!(
        at_hub.contains("140800's node"),
        "a city's staff writing at the hub are told where to write: {at_hub}"
    );
    let admin = p(Role::CityAdmin, Some(YUNCHENG));
    assert_eq!(code(admin.write(YUNCHENG, Administer)), None);
    assert_eq!(code(admin.write(LINFEN, Administer)), Some(Forbidden));
    let province = p(Role::ProvinceAdmin, None);
    assert_eq!(code(province.write(SHANXI, Administer)), None);
    assert_eq!(code(province.write(YUNCHENG, Record)), Some(Forbidden));
    assert_eq!(code(province.inspect_sync(LINFEN)), None);
    assert_eq!(code(province.sync(LINFEN)), Some(Forbidden));
    let node = p(Role::Node, Some(LINFEN));
    assert_eq!(code(node.inspect_sync(LINFEN)), None);
    assert_eq!(code(node.inspect_sync(YUNCHENG)), Some(Forbidden));
    let refused = p(Role::ProvinceViewer, None)
        .inspect_sync(LINFEN)
        .unwrap_err();
    assert!(
        refused.message.contains("province_admin") && refused.message.contains("node token"),
        "the refusal names the roles that may: {}",
        refused.message
    );
    assert_eq!(code(node.sync(LINFEN)), None);
    assert_eq!(code(node.sync(YUNCHENG)), Some(Forbidden));
    assert_eq!(code(node.read(LINFEN, true)), Some(Forbidden));
    let viewer = p(Role::ProvinceViewer, None);
    assert_eq!(code(viewer.read(LINFEN, false)), None);
    assert_eq!(code(viewer.write(SHANXI, Record)), Some(Forbidden));
    let anon = Principal::Anonymous;
    assert_eq!(code(anon.read(YUNCHENG, false)), Some(Unauthenticated));
    assert_eq!(code(anon.read(YUNCHENG, true)), None);
    assert_eq!(code(anon.private()), Some(Unauthenticated));
    assert_eq!(code(anon.write(YUNCHENG, Record)), Some(Unauthenticated));
}
