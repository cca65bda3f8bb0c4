//! Relay-style connections (`edges`, `nodes`, `pageInfo`, `totalCount`), written out rather than
//! taken from async-graphql's `connection` module so every type can be marked `@shareable` for
//! Apollo composition.

use async_graphql::SimpleObject;

use crate::types::{Actual, Institution, PlanItem, Programme, Target, Unit};

/// 分页信息 — Where this page sits in the list.
#[derive(SimpleObject, Debug, Clone)]
#[graphql(shareable)]
pub struct PageInfo {
    /// 是否还有下一页 — True when more items follow.
    pub has_next_page: bool,
    /// 末项游标 — Pass as `after` to fetch the next page.
    pub end_cursor: Option<String>,
}

macro_rules! connection {
    ($conn:ident, $edge:ident, $node:ident, $doc:literal) => {
        #[doc = concat!("分页边 — One ", $doc, " and its cursor.")]
        #[derive(SimpleObject, Debug, Clone)]
        #[graphql(shareable)]
        pub struct $edge {
            /// 游标 — Opaque position of this item.
            pub cursor: String,
            /// 节点 — The item.
            pub node: $node,
        }

        #[doc = concat!("分页列表 — A page of ", $doc, "s.")]
        #[derive(SimpleObject, Debug, Clone)]
        #[graphql(shareable)]
        pub struct $conn {
            /// 分页边 — Items with their cursors.
            pub edges: Vec<$edge>,
            /// 节点 — The items.
            pub nodes: Vec<$node>,
            /// 分页信息 — Where this page sits.
            pub page_info: PageInfo,
            /// 总数 — Items matching the filter, across all pages.
            pub total_count: i32,
        }

        impl $conn {
            /// Maps a store page.
            pub(crate) fn from_page<R>(page: store::Page<R>, wrap: impl Fn(R) -> $node) -> Self {
                let end_cursor = page.cursors.last().cloned();
                let nodes: Vec<$node> = page.items.into_iter().map(wrap).collect();
                let edges = nodes
                    .iter()
                    .cloned()
                    .zip(page.cursors)
                    .map(|(node, cursor)| $edge { cursor, node })
                    .collect();
                Self {
                    edges,
                    nodes,
                    page_info: PageInfo {
                        has_next_page: page.has_next_page,
                        end_cursor,
                    },
                    total_count: i32::try_from(page.total_count).unwrap_or(i32::MAX),
                }
            }
        }
    };
}

connection!(ProgrammeConnection, ProgrammeEdge, Programme, "programme");
connection!(
    InstitutionConnection,
    InstitutionEdge,
    Institution,
    "institution"
);
connection!(UnitConnection, UnitEdge, Unit, "unit");
connection!(PlanItemConnection, PlanItemEdge, PlanItem, "plan item");
connection!(TargetConnection, TargetEdge, Target, "target");
connection!(ActualConnection, ActualEdge, Actual, "actual");
