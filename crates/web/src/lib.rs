//! The pages the servers ship inside the binary — the province dashboard (`/dashboard`, the
//! hub's) and GraphiQL (`/graphiql`, every server's) — with the browser libraries they use,
//! vendored from npm at pinned versions (`vendor/`, refreshed and hash-checked by
//! `scripts/vendor-refresh.sh`). No page asks anything of another origin: the
//! Content-Security-Policy forbids it, so they work on an intranet with no internet.
//!
//! Every script and style is served under a name carrying its content hash
//! (`/assets/echarts.1a2b3c4d5e6f.js`), cached as immutable, gzip-compressed (once, on first
//! use) for clients that accept it, with an `ETag`. Pages are revalidated (`no-cache`) so a new
//! binary's assets are picked up at once.

use std::{
    collections::HashMap,
    io::Write as _,
    sync::{LazyLock, OnceLock},
};

use axum::{
    Router,
    body::Bytes,
    extract::Path,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
    routing::get,
};
use sha2::{Digest as _, Sha256};

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

/// What the pages may load: their own origin only. Styles may be inline (GraphiQL's editor
/// and ECharts' tooltips set them); scripts never.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; \
    connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The GraphQL operations the dashboard sends, one file each (also the reference for
/// frontend teams: they are checked against the hub's schema by the tests).
pub const OPERATIONS: &[(&str, &str)] = &[
    ("Overview", include_str!("../operations/Overview.graphql")),
    (
        "Indicators",
        include_str!("../operations/Indicators.graphql"),
    ),
    ("Compare", include_str!("../operations/Compare.graphql")),
    (
        "CompareExport",
        include_str!("../operations/CompareExport.graphql"),
    ),
    ("City", include_str!("../operations/City.graphql")),
    ("Sync", include_str!("../operations/Sync.graphql")),
    ("Goals", include_str!("../operations/Goals.graphql")),
];

struct Source {
    name: &'static str,
    media: &'static str,
    bytes: &'static [u8],
}

const SOURCES: &[Source] = &[
    Source {
        name: "echarts.js",
        media: JS,
        bytes: include_bytes!("../vendor/echarts/echarts.common.min.js"),
    },
    Source {
        name: "react.js",
        media: JS,
        bytes: include_bytes!("../vendor/react/react.production.min.js"),
    },
    Source {
        name: "react-dom.js",
        media: JS,
        bytes: include_bytes!("../vendor/react/react-dom.production.min.js"),
    },
    Source {
        name: "graphiql.js",
        media: JS,
        bytes: include_bytes!("../vendor/graphiql/graphiql.min.js"),
    },
    Source {
        name: "graphiql.css",
        media: CSS,
        bytes: include_bytes!("../vendor/graphiql/graphiql.min.css"),
    },
    Source {
        name: "graphiql-page.js",
        media: JS,
        bytes: include_bytes!("../pages/graphiql-page.js"),
    },
    Source {
        name: "dashboard.js",
        media: JS,
        bytes: include_bytes!("../pages/dashboard.js"),
    },
    Source {
        name: "favicon.svg",
        media: "image/svg+xml",
        bytes: include_bytes!("../pages/favicon.svg"),
    },
    Source {
        name: "dashboard.css",
        media: CSS,
        bytes: include_bytes!("../pages/dashboard.css"),
    },
];

const LICENSES: &[(&str, &str)] = &[
    ("Apache ECharts", include_str!("../vendor/echarts/LICENSE")),
    (
        "Apache ECharts NOTICE",
        include_str!("../vendor/echarts/NOTICE"),
    ),
    ("GraphiQL", include_str!("../vendor/graphiql/LICENSE")),
    ("React, ReactDOM", include_str!("../vendor/react/LICENSE")),
];

/// One servable file.
struct Asset {
    /// `/assets/<stem>.<hash>.<ext>`.
    path: String,
    media: &'static str,
    /// Served as they are: a clone shares them (no copy per response).
    bytes: Bytes,
    etag: HeaderValue,
    gzip: OnceLock<Bytes>,
}

impl Asset {
    fn new(name: &str, media: &'static str, bytes: Bytes) -> Self {
        let hash = short_hash(&bytes);
        let (stem, ext) = name.rsplit_once('.').unwrap_or((name, "bin"));
        let etag = HeaderValue::from_str(&format!("\"{hash}\""))
            .unwrap_or_else(|_| HeaderValue::from_static("\"0\""));
        Self {
            path: format!("/assets/{stem}.{hash}.{ext}"),
            media,
            bytes,
            etag,
            gzip: OnceLock::new(),
        }
    }

    fn gzipped(&self) -> &Bytes {
        self.gzip.get_or_init(|| {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            // Writing to a Vec cannot fail; an error would leave the plain bytes in use.
            match enc.write_all(&self.bytes).and_then(|()| enc.finish()) {
                Ok(gz) => Bytes::from(gz),
                Err(e) => {
                    tracing::error!(error = %e, path = %self.path, "cannot compress an asset");
                    Bytes::new()
                }
            }
        })
    }

    fn respond(&self, headers: &HeaderMap, cache: &'static str) -> Response {
        if headers
            .get(header::IF_NONE_MATCH)
            .is_some_and(|v| v.as_bytes() == self.etag.as_bytes())
        {
            return (
                StatusCode::NOT_MODIFIED,
                [
                    (header::ETAG, self.etag.clone()),
                    (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
                ],
            )
                .into_response();
        }
        let gz = accepts_gzip(headers)
            .then(|| self.gzipped())
            .filter(|g| !g.is_empty());
        let body = match gz {
            Some(g) => g.clone(),
            None => self.bytes.clone(),
        };
        let mut resp = (StatusCode::OK, body).into_response();
        let h = resp.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(self.media));
        h.insert(header::ETAG, self.etag.clone());
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
        h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        if gz.is_some() {
            h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        resp
    }
}

fn short_hash(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|part| {
            let mut it = part.split(';');
            let coding = it.next().unwrap_or("").trim();
            let refused = it.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .is_some_and(|q| q.trim().parse::<f32>().is_ok_and(|q| q == 0.0))
            });
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
        })
}

/// Every asset by its hashed path, and the paths by logical name.
struct Assets {
    by_path: HashMap<String, Asset>,
    names: HashMap<&'static str, String>,
}

static ASSETS: LazyLock<Assets> = LazyLock::new(|| {
    let mut list: Vec<(&'static str, Asset)> = SOURCES
        .iter()
        .map(|s| {
            (
                s.name,
                Asset::new(s.name, s.media, Bytes::from_static(s.bytes)),
            )
        })
        .collect();
    list.push((
        "operations.js",
        Asset::new("operations.js", JS, Bytes::from(operations_js())),
    ));
    let licences: String = LICENSES
        .iter()
        .map(|(what, text)| format!("==== {what} ====\n\n{text}\n\n"))
        .collect();
    list.push((
        "licenses.txt",
        Asset::new("licenses.txt", TEXT, Bytes::from(licences)),
    ));
    let names = list.iter().map(|(n, a)| (*n, a.path.clone())).collect();
    let by_path = list.into_iter().map(|(_, a)| (a.path.clone(), a)).collect();
    Assets { by_path, names }
});

/// `window.XINGYI_OPERATIONS = { name: document, … }`, from the `.graphql` files.
fn operations_js() -> String {
    let mut out = String::from("window.XINGYI_OPERATIONS = {\n");
    for (name, doc) in OPERATIONS {
        out.push_str(&format!("  {}: {},\n", js_string(name), js_string(doc)));
    }
    out.push_str("};\n");
    out
}

fn js_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            '<' => out.push_str("\\u003c"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A page: its template with every `{{asset-name}}` replaced by the asset's hashed path.
struct Page(Asset);

fn page(name: &str, template: &str) -> Page {
    let mut html = template.to_owned();
    for (logical, path) in &ASSETS.names {
        html = html.replace(&format!("{{{{{logical}}}}}"), path);
    }
    Page(Asset::new(
        name,
        "text/html; charset=utf-8",
        Bytes::from(html),
    ))
}

static GRAPHIQL: LazyLock<Page> =
    LazyLock::new(|| page("graphiql.html", include_str!("../pages/graphiql.html")));
static DASHBOARD: LazyLock<Page> =
    LazyLock::new(|| page("dashboard.html", include_str!("../pages/dashboard.html")));

impl Page {
    fn respond(&self, headers: &HeaderMap) -> Response {
        let mut resp = self.0.respond(headers, "no-cache");
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        );
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        resp
    }
}

/// The GraphiQL page (also what `GET /graphql` answers a browser).
pub fn graphiql_page(headers: &HeaderMap) -> Response {
    GRAPHIQL.respond(headers)
}

/// Which pages a server offers.
#[derive(Debug, Clone, Copy, Default)]
pub struct Pages {
    /// `/graphiql`.
    pub graphiql: bool,
    /// `/dashboard`, and `/` leading there (the hub).
    pub dashboard: bool,
}

/// The routes of the pages asked for, and `/assets/…` when any is.
pub fn routes(pages: Pages) -> Router {
    let mut router = Router::new();
    if !(pages.graphiql || pages.dashboard) {
        return router;
    }
    router = router.route("/assets/{file}", get(asset));
    if pages.graphiql {
        router = router.route(
            "/graphiql",
            get(|h: HeaderMap| async move { graphiql_page(&h) }),
        );
    }
    if pages.dashboard {
        router = router
            .route(
                "/dashboard",
                get(|h: HeaderMap| async move { DASHBOARD.respond(&h) }),
            )
            .route("/", get(|| async { Redirect::temporary("/dashboard") }));
    }
    router
}

async fn asset(Path(file): Path<String>, headers: HeaderMap) -> Response {
    match ASSETS.by_path.get(&format!("/assets/{file}")) {
        Some(a) => a.respond(&headers, "public, max-age=31536000, immutable"),
        None => (StatusCode::NOT_FOUND, "no such asset").into_response(),
    }
}

/// The hashed path of an asset by its logical name (`echarts.js`), for tests and reports.
pub fn asset_path(name: &str) -> Option<&'static str> {
    ASSETS.names.get(name).map(String::as_str)
}

/// The bytes the assets and pages add to the binary.
pub fn embedded_bytes() -> usize {
    SOURCES.iter().map(|s| s.bytes.len()).sum::<usize>()
        + LICENSES.iter().map(|(_, t)| t.len()).sum::<usize>()
        + OPERATIONS.iter().map(|(_, d)| d.len()).sum::<usize>()
        + include_str!("../pages/graphiql.html").len()
        + include_str!("../pages/dashboard.html").len()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use axum::body::Body;
    use tower::ServiceExt as _;

    use super::*;

    async fn get(router: &Router, path: &str, headers: &[(&str, &str)]) -> Response {
        let mut req = axum::http::Request::get(path);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        router
            .clone()
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap()
    }

    fn all() -> Router {
        routes(Pages {
            graphiql: true,
            dashboard: true,
        })
    }

    #[tokio::test]
    async fn pages_name_only_hashed_assets_of_their_own_origin() {
        let router = all();
        for page in ["/graphiql", "/dashboard"] {
            let resp = get(&router, page, &[]).await;
            assert_eq!(resp.status(), 200);
            assert_eq!(
                resp.headers()[header::CONTENT_SECURITY_POLICY],
                CONTENT_SECURITY_POLICY
            );
            let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
                .await
                .unwrap();
            let html = String::from_utf8(body.to_vec()).unwrap();
            assert!(!html.contains("{{"), "{page}: a placeholder left: {html}");
            assert!(
                !html.contains("http://") && !html.contains("https://"),
                "{page}"
            );
            for src in html
                .split("src=\"")
                .skip(1)
                .chain(html.split("href=\"").skip(1))
            {
                let path = src.split('"').next().unwrap();
                if path.starts_with("/assets/") {
                    let a = get(&router, path, &[]).await;
                    assert_eq!(a.status(), 200, "{page} names {path}");
                }
            }
        }
        let root = get(&router, "/", &[]).await;
        assert_eq!(root.headers()[header::LOCATION], "/dashboard");
    }

    #[tokio::test]
    async fn assets_are_immutable_compressed_and_revalidated_by_etag() {
        let router = all();
        let path = asset_path("echarts.js").unwrap();
        let plain = get(&router, path, &[]).await;
        assert_eq!(plain.status(), 200);
        assert!(
            plain.headers()[header::CACHE_CONTROL]
                .to_str()
                .unwrap()
                .contains("immutable")
        );
        let etag = plain.headers()[header::ETAG].clone();
        let plain_len = axum::body::to_bytes(plain.into_body(), usize::MAX)
            .await
            .unwrap()
            .len();
        let gz = get(&router, path, &[("accept-encoding", "br, gzip")]).await;
        assert_eq!(gz.headers()[header::CONTENT_ENCODING], "gzip");
        let gz_len = axum::body::to_bytes(gz.into_body(), usize::MAX)
            .await
            .unwrap()
            .len();
        assert!(gz_len * 2 < plain_len, "{gz_len} of {plain_len}");
        let refused = get(&router, path, &[("accept-encoding", "gzip;q=0")]).await;
        assert!(refused.headers().get(header::CONTENT_ENCODING).is_none());
        let again = get(&router, path, &[("if-none-match", etag.to_str().unwrap())]).await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(
            get(&router, "/assets/echarts.000000000000.js", &[])
                .await
                .status(),
            404,
            "an old hash is not served"
        );
    }

    #[tokio::test]
    async fn nothing_is_served_when_no_page_is_on() {
        let router = routes(Pages::default());
        assert_eq!(get(&router, "/graphiql", &[]).await.status(), 404);
        assert_eq!(
            get(&router, asset_path("echarts.js").unwrap(), &[])
                .await
                .status(),
            404
        );
    }

    #[test]
    fn operations_are_embedded_as_a_script() {
        let js = operations_js();
        for (name, _) in OPERATIONS {
            assert!(js.contains(&format!("\"{name}\": ")), "{name}");
        }
        assert_eq!(
            js_string("a\"b\\c\n</script>"),
            r#""a\"b\\c\n\u003c/script>""#
        );
    }
}
