//! Replica answers kept for reuse: executing a forwarded document on a replica again at the
//! same generation gives the same answer, so the hub keeps recent ones (an LRU) and copies
//! them instead.

use model::RegionCode;

use crate::{delegate::client::NodeResponse, kept::Kept};

/// What a replica's answer is a function of: the city, the replica's generation (changes
/// applied, snapshots taken), what the caller may see, and the document with its variables.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct AnswerKey {
    pub(crate) city: RegionCode,
    pub(crate) generation: (i64, u64),
    pub(crate) visibility: String,
    pub(crate) query: String,
    pub(crate) variables: String,
}

/// Recent replica answers, reused while the replica stays at the same generation: a hit is
/// exactly as fresh as executing the document again, and costs a copy instead of a query
/// over the replica's database. Answers with errors are not kept.
#[derive(Debug)]
pub struct ReplicaAnswers(Kept<AnswerKey, NodeResponse>);

impl ReplicaAnswers {
    /// A cache of `entries` answers (0 turns it off).
    pub fn new(entries: usize) -> Self {
        Self(Kept::new(entries))
    }

    pub(crate) fn enabled(&self) -> bool {
        self.0.enabled()
    }

    pub(crate) fn get(&self, key: &AnswerKey) -> Option<NodeResponse> {
        self.0.get(key)
    }

    /// Keeps `answer` (unless it has errors) as JSON text: smaller than the values, and a hit
    /// is then spliced into the response as a live node's answer is, not written out again.
    pub(crate) fn put(&self, key: AnswerKey, answer: &NodeResponse) {
        if answer.errors.is_empty() {
            let data = answer
                .data
                .as_ref()
                .map(|d| d.iter().map(|(k, p)| (k.clone(), p.to_json())).collect());
            self.0.put(
                key,
                NodeResponse {
                    data,
                    errors: Vec::new(),
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn key(generation: (i64, u64), visibility: &str) -> AnswerKey {
        AnswerKey {
            city: model::region::YUNCHENG,
            generation,
            visibility: visibility.into(),
            query: "query { units { totalCount } }".into(),
            variables: "{}".into(),
        }
    }

    fn answer(n: i64) -> NodeResponse {
        serde_json::from_str(&format!(
            r#"{{ "data": {{ "units": {{ "totalCount": {n} }} }} }}"#
        ))
        .unwrap()
    }

    #[test]
    fn a_kept_replica_answer_is_reused_only_at_its_generation_and_visibility() {
        let kept = ReplicaAnswers::new(8);
        kept.put(key((10, 1), "province_viewer"), &answer(5));
        assert_eq!(kept.get(&key((10, 1), "province_viewer")), Some(answer(5)));
        let computed = NodeResponse {
            data: Some(
                [(
                    "units".to_owned(),
                    crate::delegate::client::Part::Value(
                        async_graphql::value!({ "totalCount": 7 }),
                    ),
                )]
                .into_iter()
                .collect(),
            ),
            errors: Vec::new(),
        };
        kept.put(key((10, 1), "city_viewer"), &computed);
        let hit = kept.get(&key((10, 1), "city_viewer")).unwrap();
        assert!(
            matches!(&hit.data.as_ref().unwrap()["units"], crate::delegate::client::Part::Json(j) if j.get() == r#"{"totalCount":7}"#),
            "kept as text, to be spliced: {hit:?}"
        );
        assert_eq!(hit, computed, "the same answer");
        assert_eq!(
            kept.get(&key((11, 1), "province_viewer")),
            None,
            "a change applied"
        );
        assert_eq!(
            kept.get(&key((10, 2), "province_viewer")),
            None,
            "a snapshot taken"
        );
        assert_eq!(
            kept.get(&key((10, 1), "city_editor:141000")),
            None,
            "another visibility"
        );
        let mut failed = answer(1);
        failed
            .errors
            .push(serde_json::from_value(serde_json::json!({ "message": "no" })).unwrap());
        kept.put(key((12, 1), "province_viewer"), &failed);
        assert_eq!(
            kept.get(&key((12, 1), "province_viewer")),
            None,
            "errors are not kept"
        );
        let off = ReplicaAnswers::new(0);
        off.put(key((10, 1), "province_viewer"), &answer(5));
        assert_eq!(off.get(&key((10, 1), "province_viewer")), None);
    }
}
