//! `xingyi sync verify`: compares a node's per-table digests with the hub's replica of it and,
//! for every table that differs, names the rows.

use serde::Serialize;
use store::replica::Digests;

use crate::protocol::{RowHashes, bearer};

/// How one table compares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableReport {
    /// Table name.
    pub table: String,
    /// Rows at the node.
    pub node_rows: u64,
    /// Rows in the replica.
    pub replica_rows: u64,
    /// True when the digests are equal.
    pub same: bool,
    /// Ids only the node has (at most [`MAX_IDS`]).
    pub only_at_node: Vec<String>,
    /// Ids only the replica has (at most [`MAX_IDS`]).
    pub only_in_replica: Vec<String>,
    /// Ids whose rows differ (at most [`MAX_IDS`]).
    pub different: Vec<String>,
}

/// The whole comparison.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The city.
    pub city: String,
    /// The node's last sequence.
    pub node_seq: i64,
    /// The replica's cursor.
    pub replica_seq: i64,
    /// Per table.
    pub tables: Vec<TableReport>,
}

impl Report {
    /// True when every table is the same and the replica has applied the node's last change.
    pub fn in_sync(&self) -> bool {
        self.node_seq == self.replica_seq && self.tables.iter().all(|t| t.same)
    }
}

/// Most ids listed per category and table.
pub const MAX_IDS: usize = 20;

/// Why verify could not compare.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// A request failed.
    #[error("{what}: {cause}")]
    Http {
        /// Which request.
        what: String,
        /// Why ([`outbound::cause`]).
        cause: String,
    },
    /// The HTTP client cannot be set up.
    #[error(transparent)]
    Client(#[from] outbound::ClientError),
    /// The server refused, with its answer.
    #[error("{what}: {status}: {body}")]
    Refused {
        /// Which request.
        what: String,
        /// HTTP status.
        status: u16,
        /// The server's answer (its refusal's code and message).
        body: String,
    },
}

async fn get<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    url: String,
    token: &str,
) -> Result<T, VerifyError> {
    let what = format!("GET {url}");
    let wrap = |e: reqwest::Error| VerifyError::Http {
        what: what.clone(),
        cause: outbound::cause(&e),
    };
    let resp = http
        .get(&url)
        .header("authorization", bearer(token))
        .send()
        .await
        .map_err(wrap)?;
    let status = resp.status();
    if !status.is_success() {
        let body = resp.text().await.unwrap_or_default();
        return Err(VerifyError::Refused {
            what,
            status: status.as_u16(),
            body: body.chars().take(1000).collect(),
        });
    }
    resp.json::<T>().await.map_err(wrap)
}

/// Names the differences between two sorted `(id, hash)` lists.
pub fn diff_rows(
    node: &[(String, String)],
    replica: &[(String, String)],
) -> (Vec<String>, Vec<String>, Vec<String>) {
    let (mut only_node, mut only_replica, mut different) = (Vec::new(), Vec::new(), Vec::new());
    let (mut i, mut j) = (0, 0);
    while i < node.len() || j < replica.len() {
        match (node.get(i), replica.get(j)) {
            (Some(a), Some(b)) if a.0 == b.0 => {
                if a.1 != b.1 {
                    different.push(a.0.clone());
                }
                i += 1;
                j += 1;
            }
            (Some(a), Some(b)) if a.0 < b.0 => {
                only_node.push(a.0.clone());
                i += 1;
            }
            (Some(_), Some(b)) => {
                only_replica.push(b.0.clone());
                j += 1;
            }
            (Some(a), None) => {
                only_node.push(a.0.clone());
                i += 1;
            }
            (None, Some(b)) => {
                only_replica.push(b.0.clone());
                j += 1;
            }
            (None, None) => break,
        }
    }
    for v in [&mut only_node, &mut only_replica, &mut different] {
        v.truncate(MAX_IDS);
    }
    (only_node, only_replica, different)
}

/// Compares the node at `node_url` with the hub's replica at `hub_url` (base URLs), both read
/// with the node's `token`.
pub async fn verify(
    node_url: &str,
    hub_url: &str,
    city: model::RegionCode,
    token: &str,
) -> Result<Report, VerifyError> {
    let http = outbound::client_builder(&outbound::TlsConfig::default())
        .map_err(outbound::ClientError::from)?
        .build()
        .map_err(outbound::ClientError::from)?;
    let node_url = node_url.trim_end_matches('/');
    let hub_url = hub_url.trim_end_matches('/');
    let node: Digests = get(&http, format!("{node_url}/sync/digest"), token).await?;
    let replica: Digests = get(&http, format!("{hub_url}/sync/digest/{city}"), token).await?;
    let mut tables = Vec::new();
    for n in &node.tables {
        let r = replica.tables.iter().find(|t| t.table == n.table);
        let same = r.is_some_and(|r| r == n);
        let (mut only_at_node, mut only_in_replica, mut different) = Default::default();
        if !same {
            let a: RowHashes =
                get(&http, format!("{node_url}/sync/rows/{}", n.table), token).await?;
            let b: RowHashes = get(
                &http,
                format!("{hub_url}/sync/rows/{city}/{}", n.table),
                token,
            )
            .await?;
            (only_at_node, only_in_replica, different) = diff_rows(&a.rows, &b.rows);
        }
        tables.push(TableReport {
            table: n.table.clone(),
            node_rows: n.rows,
            replica_rows: r.map_or(0, |r| r.rows),
            same,
            only_at_node,
            only_in_replica,
            different,
        });
    }
    Ok(Report {
        city: city.to_string(),
        node_seq: node.seq,
        replica_seq: replica.seq,
        tables,
    })
}
