//! Rebuilding a lost city node from the hub: the hub's replica is the province's copy of every
//! city, so a node whose database is gone (and whose backups are too) is rebuilt from it with
//! `xingyi node restore --from-hub`.

use store::Store;

/// Why a restore failed.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    /// The HTTP client cannot be set up (its TLS settings).
    #[error(transparent)]
    Client(#[from] outbound::ClientError),
    /// The hub could not be reached ([`outbound::cause`]).
    #[error("cannot reach the hub: {0}")]
    Http(String),
    /// The hub refused (a token that may not read the city's replica, an unknown city).
    #[error("the hub refused ({status}): {body}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The hub's answer.
        body: String,
    },
    /// The node's database refused or failed.
    #[error("writing the node's database")]
    Store(#[from] store::Error),
}

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Restored {
    /// The sequence the node continues after.
    pub seq: i64,
    /// Rows written.
    pub rows: usize,
    /// The node's new history id.
    pub history: String,
}

/// Fetches `city`'s replica from the hub at `hub` (its base URL, reached with `tls`) with
/// `token` (the province admin's, or the city's node token) and rebuilds `node` from it
/// (`replace`: even if it already holds changes).
pub async fn from_hub(
    hub: &str,
    token: &str,
    tls: &outbound::TlsConfig,
    node: &Store,
    replace: bool,
) -> Result<Restored, RestoreError> {
    let city = node.owner();
    let resp = outbound::client_builder(tls)
        .map_err(outbound::ClientError::from)?
        .build()
        .map_err(outbound::ClientError::from)?
        .get(format!("{}/sync/replica/{city}", hub.trim_end_matches('/')))
        .header("authorization", crate::protocol::bearer(token))
        .send()
        .await
        .map_err(|e| RestoreError::Http(outbound::cause(&e)))?;
    let status = resp.status();
    if !status.is_success() {
        return Err(RestoreError::Refused {
            status: status.as_u16(),
            body: resp.text().await.unwrap_or_default(),
        });
    }
    let snapshot: store::replica::Snapshot = resp
        .json()
        .await
        .map_err(|e| RestoreError::Http(outbound::cause(&e)))?;
    let history = node.restore_node(&snapshot, replace).await?;
    tracing::info!(%city, seq = snapshot.seq, rows = snapshot.rows(), %history, "node rebuilt from the hub's replica");
    Ok(Restored {
        seq: snapshot.seq,
        rows: snapshot.rows(),
        history,
    })
}
