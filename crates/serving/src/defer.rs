//! `@defer`: which parts of a query a client asked to have later, and the documents that
//! answer each part.
//!
//! A query whose fragments carry `@defer` (and whose client accepts `multipart/mixed`) is
//! answered as several executions of documents derived from it, run at once:
//!
//! - the **initial** document is the query with every deferred fragment wrapped in
//!   `... @skip(if: true) { … }`: everything it says is still validated (so a mistake inside a
//!   deferred fragment is refused up front, and no variable or fragment becomes unused), but the
//!   deferred parts are not executed;
//! - one **deferred** document per deferred fragment: the query with everything *beside* the
//!   path to that fragment wrapped the same way, so only the fields above it (which the
//!   initial answer holds too) and the fragment itself are executed.
//!
//! Fragment spreads are expanded into inline fragments first, so a `@defer` inside a named
//! fragment is a place in one tree like any other. The payloads are put together by
//! [`payload`]: each deferred fragment's data goes to every place the initial answer holds its
//! parent object (once per list item), in the `deferSpec=20220824` format Apollo Router and
//! Apollo Client speak. A `@defer` nested inside a deferred fragment is delivered with it (a
//! server may always deliver deferred data sooner); `@defer(if: false)` is not deferred.

use std::collections::HashMap;

use async_graphql::{
    Name, Positioned, Variables,
    parser::types::{
        Directive, DocumentOperations, ExecutableDocument, FragmentDefinition, InlineFragment,
        OperationDefinition, OperationType, Selection, SelectionSet,
    },
};
use async_graphql_value::{ConstValue, Value};

/// The parts a query is answered in.
#[derive(Debug)]
pub struct Plan {
    /// The query without its deferred fragments.
    pub initial: ExecutableDocument,
    /// One per deferred fragment, in document order.
    pub deferred: Vec<Deferred>,
}

/// A server that can ask for one item of a list field at the root by that field's own
/// arguments (the hub's `cities(codes: […])`): a fragment deferred under such a list is then
/// answered item by item, each part sent when its item is ready — a slow city holds back only
/// its own part.
pub trait ListItems: Send + Sync + std::fmt::Debug {
    /// For the root field `field` with `arguments` (variables resolved; absent ones left out),
    /// the arguments that select each of its items alone, in the list's order. `None`: not a
    /// list this server splits (or arguments it would refuse: the whole list then runs once
    /// and reports the error).
    fn items(
        &self,
        field: &str,
        arguments: &[(Name, ConstValue)],
    ) -> Option<Vec<Vec<(Name, ConstValue)>>>;
}

/// One deferred fragment (or one item's share of it).
#[derive(Debug)]
pub struct Deferred {
    /// The document that answers it.
    pub document: ExecutableDocument,
    /// Its `label`, echoed in its payloads.
    pub label: Option<String>,
    /// The response keys from the root to the object the fragment belongs to (lists crossed
    /// item by item).
    pub keys: Vec<Name>,
    /// Set when the document answers only item `i` of the root list (`ListItems`): its answer
    /// holds that item at index 0.
    pub item: Option<usize>,
}

/// Plans the deferred execution of `doc`'s chosen operation; `None` when nothing is deferred
/// (not a query, no `@defer` that applies, or a fragment that cannot be expanded — left to
/// validation). At most `max` fragments are deferred; any further ones are delivered with the
/// initial answer. With `items`, a fragment under a root list the server can split is one
/// document per item; `max` then counts documents.
pub fn plan(
    doc: &ExecutableDocument,
    operation_name: Option<&str>,
    variables: &Variables,
    max: usize,
    items: Option<&dyn ListItems>,
) -> Option<Plan> {
    let op = crate::graphql::operation(doc, operation_name)?;
    if op.node.ty != OperationType::Query || !mentions_defer(doc) {
        return None;
    }
    let mut stack = Vec::new();
    let root = expand(&op.node.selection_set.node, &doc.fragments, &mut stack)?;
    let values = Values {
        variables,
        defaults: op
            .node
            .variable_definitions
            .iter()
            .filter_map(|d| {
                let v = d.node.default_value.as_ref()?;
                Some((d.node.name.node.clone(), v.node.clone()))
            })
            .collect(),
    };
    let mut found = Vec::new();
    find(&root, &mut Vec::new(), &mut Vec::new(), &values, &mut found);
    found.truncate(max);
    if found.is_empty() {
        return None;
    }
    let document = |set: SelectionSet| ExecutableDocument {
        operations: DocumentOperations::Single(Positioned::new(
            OperationDefinition {
                ty: OperationType::Query,
                variable_definitions: op.node.variable_definitions.clone(),
                directives: op.node.directives.clone(),
                selection_set: Positioned::new(set, op.node.selection_set.pos),
            },
            op.pos,
        )),
        fragments: HashMap::new(),
    };
    let mut initial = root.clone();
    for f in &found {
        skip_at(&mut initial, &f.at);
    }
    let mut deferred = Vec::new();
    for f in found {
        let mut set = root.clone();
        keep_only(&mut set, &f.at);
        let split = items
            .and_then(|items| split_root(&set, &f.at, &values, items))
            // Every fragment keeps at least its one document within `max`.
            .filter(|per_item| per_item.len() + deferred.len() < max);
        match split {
            Some(per_item) => {
                for (i, arguments) in per_item.into_iter().enumerate() {
                    let mut one = set.clone();
                    if let Some(Selection::Field(field)) =
                        f.at.first()
                            .and_then(|&r| one.items.get_mut(r))
                            .map(|s| &mut s.node)
                    {
                        field.node.arguments = arguments
                            .into_iter()
                            .map(|(n, v)| {
                                (
                                    Positioned::new(n, field.pos),
                                    Positioned::new(v.into_value(), field.pos),
                                )
                            })
                            .collect();
                    }
                    deferred.push(Deferred {
                        document: document(one),
                        label: f.label.clone(),
                        keys: f.keys.clone(),
                        item: Some(i),
                    });
                }
            }
            None => deferred.push(Deferred {
                document: document(set),
                label: f.label,
                keys: f.keys,
                item: None,
            }),
        }
    }
    Some(Plan {
        initial: document(initial),
        deferred,
    })
}

/// The per-item arguments of the root field above a deferred fragment at `at`, when it is a
/// list the server splits into more than one item.
fn split_root(
    root: &SelectionSet,
    at: &[usize],
    values: &Values<'_>,
    items: &dyn ListItems,
) -> Option<Vec<Vec<(Name, ConstValue)>>> {
    // A fragment at the root has no list above it.
    if at.len() < 2 {
        return None;
    }
    let Selection::Field(field) = &root.items.get(*at.first()?)?.node else {
        return None;
    };
    let arguments: Vec<(Name, ConstValue)> = field
        .node
        .arguments
        .iter()
        .filter_map(|(n, v)| Some((n.node.clone(), values.resolve(&v.node)?)))
        .collect();
    items
        .items(&field.node.name.node, &arguments)
        .filter(|per_item| per_item.len() > 1)
}

/// Whether `@defer` appears anywhere in `doc` (the cheap test before any copying).
fn mentions_defer(doc: &ExecutableDocument) -> bool {
    fn in_set(set: &SelectionSet) -> bool {
        set.items.iter().any(|item| match &item.node {
            Selection::Field(f) => in_set(&f.node.selection_set.node),
            Selection::FragmentSpread(s) => has_defer(&s.node.directives),
            Selection::InlineFragment(i) => {
                has_defer(&i.node.directives) || in_set(&i.node.selection_set.node)
            }
        })
    }
    doc.operations
        .iter()
        .any(|(_, o)| in_set(&o.node.selection_set.node))
        || doc
            .fragments
            .values()
            .any(|f| in_set(&f.node.selection_set.node))
}

fn has_defer(directives: &[Positioned<Directive>]) -> bool {
    directives.iter().any(|d| d.node.name.node == "defer")
}

/// `set` with every fragment spread replaced by an inline fragment of the fragment's type and
/// selections (the spread's directives kept); `None` for an unknown or cyclic fragment.
fn expand(
    set: &SelectionSet,
    fragments: &HashMap<Name, Positioned<FragmentDefinition>>,
    stack: &mut Vec<Name>,
) -> Option<SelectionSet> {
    let mut items = Vec::with_capacity(set.items.len());
    for item in &set.items {
        let node = match &item.node {
            Selection::Field(f) => {
                let mut field = f.clone();
                field.node.selection_set.node =
                    expand(&f.node.selection_set.node, fragments, stack)?;
                Selection::Field(field)
            }
            Selection::InlineFragment(i) => {
                let mut inline = i.clone();
                inline.node.selection_set.node =
                    expand(&i.node.selection_set.node, fragments, stack)?;
                Selection::InlineFragment(inline)
            }
            Selection::FragmentSpread(s) => {
                let name = &s.node.fragment_name.node;
                if stack.contains(name) {
                    return None;
                }
                let def = fragments.get(name)?;
                stack.push(name.clone());
                let inner = expand(&def.node.selection_set.node, fragments, stack)?;
                stack.pop();
                let mut directives = s.node.directives.clone();
                directives.extend(def.node.directives.iter().cloned());
                Selection::InlineFragment(Positioned::new(
                    InlineFragment {
                        type_condition: Some(def.node.type_condition.clone()),
                        directives,
                        selection_set: Positioned::new(inner, def.node.selection_set.pos),
                    },
                    s.pos,
                ))
            }
        };
        items.push(Positioned::new(node, item.pos));
    }
    Some(SelectionSet { items })
}

/// The request's variables, with the operation's defaults for those it leaves out.
struct Values<'a> {
    variables: &'a Variables,
    defaults: HashMap<Name, ConstValue>,
}

impl Values<'_> {
    fn resolve(&self, v: &Value) -> Option<ConstValue> {
        match v {
            Value::Variable(name) => self
                .variables
                .get(name)
                .or_else(|| self.defaults.get(name))
                .cloned(),
            other => other.clone().into_const(),
        }
    }

    /// `Some(label)` when `directives` defer their fragment.
    fn deferral(&self, directives: &[Positioned<Directive>]) -> Option<Option<String>> {
        let defer = directives.iter().find(|d| d.node.name.node == "defer")?;
        let arg = |name: &str| {
            defer
                .node
                .arguments
                .iter()
                .find(|(n, _)| n.node == name)
                .and_then(|(_, v)| self.resolve(&v.node))
        };
        if matches!(arg("if"), Some(ConstValue::Boolean(false))) {
            return None;
        }
        Some(match arg("label") {
            Some(ConstValue::String(s)) => Some(s),
            _ => None,
        })
    }
}

/// A deferred fragment found in the expanded tree.
struct Found {
    /// The item indices from the root's selection set down to the fragment.
    at: Vec<usize>,
    keys: Vec<Name>,
    label: Option<String>,
}

/// The deferred fragments of `set` not inside another deferred fragment, in document order.
fn find(
    set: &SelectionSet,
    at: &mut Vec<usize>,
    keys: &mut Vec<Name>,
    values: &Values<'_>,
    out: &mut Vec<Found>,
) {
    for (i, item) in set.items.iter().enumerate() {
        at.push(i);
        match &item.node {
            Selection::Field(f) => {
                keys.push(f.node.response_key().node.clone());
                find(&f.node.selection_set.node, at, keys, values, out);
                keys.pop();
            }
            Selection::InlineFragment(frag) => match values.deferral(&frag.node.directives) {
                Some(label) => out.push(Found {
                    at: at.clone(),
                    keys: keys.clone(),
                    label,
                }),
                None => find(&frag.node.selection_set.node, at, keys, values, out),
            },
            // Expanded away.
            Selection::FragmentSpread(_) => {}
        }
        at.pop();
    }
}

/// The selection set under `item` (a field's or an inline fragment's).
fn children(item: &mut Positioned<Selection>) -> Option<&mut SelectionSet> {
    match &mut item.node {
        Selection::Field(f) => Some(&mut f.node.selection_set.node),
        Selection::InlineFragment(i) => Some(&mut i.node.selection_set.node),
        Selection::FragmentSpread(_) => None,
    }
}

/// `item` wrapped in `... @skip(if: true) { item }`: validated, never executed.
fn skipped(item: Positioned<Selection>) -> Positioned<Selection> {
    let pos = item.pos;
    let skip = Directive {
        name: Positioned::new(Name::new("skip"), pos),
        arguments: vec![(
            Positioned::new(Name::new("if"), pos),
            Positioned::new(Value::Boolean(true), pos),
        )],
    };
    Positioned::new(
        Selection::InlineFragment(Positioned::new(
            InlineFragment {
                type_condition: None,
                directives: vec![Positioned::new(skip, pos)],
                selection_set: Positioned::new(SelectionSet { items: vec![item] }, pos),
            },
            pos,
        )),
        pos,
    )
}

/// Wraps the item at `at` in a skip.
fn skip_at(set: &mut SelectionSet, at: &[usize]) {
    let Some((&i, rest)) = at.split_first() else {
        return;
    };
    let Some(item) = set.items.get_mut(i) else {
        return;
    };
    if rest.is_empty() {
        let taken = std::mem::replace(item, Positioned::new(placeholder(), item.pos));
        *item = skipped(taken);
    } else if let Some(inner) = children(item) {
        skip_at(inner, rest);
    }
}

/// Wraps everything beside the path `at` in skips, level by level, and takes `@defer` off the
/// fragment at its end.
fn keep_only(set: &mut SelectionSet, at: &[usize]) {
    let Some((&keep, rest)) = at.split_first() else {
        return;
    };
    let items = std::mem::take(&mut set.items);
    set.items = items
        .into_iter()
        .enumerate()
        .map(|(i, mut item)| {
            if i != keep {
                return skipped(item);
            }
            if rest.is_empty() {
                if let Selection::InlineFragment(f) = &mut item.node {
                    f.node.directives.retain(|d| d.node.name.node != "defer");
                }
            } else if let Some(inner) = children(&mut item) {
                keep_only(inner, rest);
            }
            item
        })
        .collect();
}

/// A stand-in while an item is moved (never left in a document).
fn placeholder() -> Selection {
    Selection::InlineFragment(Positioned::new(
        InlineFragment {
            type_condition: None,
            directives: Vec::new(),
            selection_set: Positioned::new(SelectionSet::default(), Default::default()),
        },
        Default::default(),
    ))
}

/// The places in `data` (an initial answer) where the object at `keys` is, as response paths
/// (keys and list indices); a `null` on the way means no place.
pub fn places(data: &ConstValue, keys: &[Name]) -> Vec<Vec<serde_json::Value>> {
    fn walk(
        v: &ConstValue,
        keys: &[Name],
        path: &mut Vec<serde_json::Value>,
        out: &mut Vec<Vec<serde_json::Value>>,
    ) {
        match v {
            ConstValue::List(items) => {
                for (i, item) in items.iter().enumerate() {
                    path.push(serde_json::Value::from(i));
                    walk(item, keys, path, out);
                    path.pop();
                }
            }
            ConstValue::Object(fields) => match keys.split_first() {
                None => out.push(path.clone()),
                Some((k, rest)) => {
                    if let Some(inner) = fields.get(k) {
                        path.push(serde_json::Value::from(k.as_str()));
                        walk(inner, rest, path, out);
                        path.pop();
                    }
                }
            },
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(data, keys, &mut Vec::new(), &mut out);
    out
}

/// The value at `path` in `data`.
pub fn at<'a>(data: &'a ConstValue, path: &[serde_json::Value]) -> Option<&'a ConstValue> {
    path.iter().try_fold(data, |v, step| match (v, step) {
        (ConstValue::Object(fields), serde_json::Value::String(k)) => fields.get(k.as_str()),
        (ConstValue::List(items), serde_json::Value::Number(n)) => {
            items.get(usize::try_from(n.as_u64()?).ok()?)
        }
        _ => None,
    })
}

/// The `incremental` entries of one deferred fragment's answer: its object at each of
/// `places`, with the answer's errors on the first (their paths are absolute already). No
/// place: nothing (the initial answer already says why — a `null` or an error above it).
///
/// With `item` (the answer of one item of the root list, held at index 0): only the places of
/// that item, and the errors' paths moved to it.
pub fn payload(
    places: &[Vec<serde_json::Value>],
    data: &ConstValue,
    mut errors: Vec<serde_json::Value>,
    label: Option<&str>,
    item: Option<usize>,
) -> Vec<serde_json::Value> {
    if let Some(i) = item {
        for e in &mut errors {
            if let Some(step) = e
                .get_mut("path")
                .and_then(|p| p.as_array_mut())
                .and_then(|p| p.get_mut(1))
                && step.as_u64() == Some(0)
            {
                *step = serde_json::Value::from(i);
            }
        }
    }
    let mut errors = Some(errors).filter(|e| !e.is_empty());
    let mut out = Vec::with_capacity(places.len());
    for path in places {
        let in_answer = match item {
            None => path.clone(),
            Some(i) => {
                if path.get(1).and_then(serde_json::Value::as_u64) != u64::try_from(i).ok() {
                    continue;
                }
                let mut p = path.clone();
                p[1] = serde_json::Value::from(0);
                p
            }
        };
        let object = at(data, &in_answer).cloned().unwrap_or(ConstValue::Null);
        // A fragment whose type condition does not match this object selects nothing here.
        if matches!(&object, ConstValue::Object(o) if o.is_empty()) && errors.is_none() {
            continue;
        }
        let mut item = serde_json::Map::new();
        item.insert(
            "data".into(),
            serde_json::to_value(&object).unwrap_or(serde_json::Value::Null),
        );
        item.insert("path".into(), serde_json::Value::Array(path.clone()));
        if let Some(label) = label {
            item.insert("label".into(), serde_json::Value::from(label));
        }
        if let Some(e) = errors.take() {
            item.insert("errors".into(), serde_json::Value::Array(e));
        }
        out.push(serde_json::Value::Object(item));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(q: &str) -> ExecutableDocument {
        async_graphql::parser::parse_query(q).unwrap()
    }

    /// A document printed compactly enough to compare (names, aliases and directives).
    fn print(doc: &ExecutableDocument) -> String {
        fn set(s: &SelectionSet, out: &mut String) {
            out.push('{');
            for item in &s.items {
                out.push(' ');
                match &item.node {
                    Selection::Field(f) => {
                        if let Some(a) = &f.node.alias {
                            out.push_str(&format!("{}: ", a.node));
                        }
                        out.push_str(&f.node.name.node);
                        dirs(&f.node.directives, out);
                        if !f.node.selection_set.node.items.is_empty() {
                            out.push(' ');
                            set(&f.node.selection_set.node, out);
                        }
                    }
                    Selection::InlineFragment(i) => {
                        out.push_str("...");
                        if let Some(t) = &i.node.type_condition {
                            out.push_str(&format!(" on {}", t.node.on.node));
                        }
                        dirs(&i.node.directives, out);
                        out.push(' ');
                        set(&i.node.selection_set.node, out);
                    }
                    Selection::FragmentSpread(s) => {
                        out.push_str(&format!("...{}", s.node.fragment_name.node))
                    }
                }
            }
            out.push_str(" }");
        }
        fn dirs(d: &[Positioned<Directive>], out: &mut String) {
            for d in d {
                out.push_str(&format!(" @{}", d.node.name.node));
                for (n, v) in &d.node.arguments {
                    out.push_str(&format!("({}: {})", n.node, v.node));
                }
            }
        }
        let mut out = String::new();
        for (_, op) in doc.operations.iter() {
            set(&op.node.selection_set.node, &mut out);
        }
        out
    }

    #[test]
    fn a_deferred_fragment_is_skipped_at_first_and_alone_in_its_own_document() {
        let doc = parse(
            r#"query Q($c: String!) {
                programmes { totalCount }
                a: city(code: $c) { code ... @defer(label: "yc") { programmes { totalCount } } }
            }"#,
        );
        let plan = plan(&doc, Some("Q"), &Variables::default(), 8, None).unwrap();
        assert_eq!(
            print(&plan.initial),
            "{ programmes { totalCount } a: city { code ... @skip(if: true) { ... @defer(label: \"yc\") { programmes { totalCount } } } } }"
        );
        assert_eq!(plan.deferred.len(), 1);
        let d = &plan.deferred[0];
        assert_eq!(d.label.as_deref(), Some("yc"));
        assert_eq!(d.keys, vec![Name::new("a")]);
        assert_eq!(
            print(&d.document),
            "{ ... @skip(if: true) { programmes { totalCount } } a: city { ... @skip(if: true) { code } ... { programmes { totalCount } } } }"
        );
        // The variable definitions go with every document (still used by the skipped parts).
        for doc in std::iter::once(&plan.initial).chain(plan.deferred.iter().map(|d| &d.document)) {
            let (_, op) = doc.operations.iter().next().unwrap();
            assert_eq!(op.node.variable_definitions.len(), 1);
        }
    }

    #[test]
    fn named_fragments_are_expanded_and_each_defer_gets_its_own_document() {
        let doc = parse(
            r#"{
                cities { ...Parts }
                ... @defer { slow: city(code: "141000") { code } }
            }
            fragment Parts on City { code ...Late @defer(label: "late") }
            fragment Late on City { programmes { totalCount } ... @defer { nested } }"#,
        );
        let plan = plan(&doc, None, &Variables::default(), 8, None).unwrap();
        assert!(plan.initial.fragments.is_empty(), "spreads are expanded");
        assert_eq!(
            plan.deferred.len(),
            2,
            "the nested defer goes with its parent"
        );
        assert_eq!(plan.deferred[0].label.as_deref(), Some("late"));
        assert_eq!(plan.deferred[0].keys, vec![Name::new("cities")]);
        assert_eq!(
            print(&plan.deferred[0].document),
            "{ cities { ... on City { ... @skip(if: true) { code } ... on City { programmes { totalCount } ... @defer { nested } } } } ... @skip(if: true) { ... @defer { slow: city { code } } } }"
        );
        assert!(plan.deferred[1].keys.is_empty(), "a root fragment");
    }

    #[test]
    fn nothing_is_planned_when_nothing_is_deferred() {
        let vars = Variables::from_json(serde_json::json!({ "d": false }));
        for (q, name, vars) in [
            ("{ a }", None, Variables::default()),
            (
                "mutation { a ... @defer { b } }",
                None,
                Variables::default(),
            ),
            (
                "{ a ... @defer(if: false) { b } }",
                None,
                Variables::default(),
            ),
            (
                "query($d: Boolean!) { a ... @defer(if: $d) { b } }",
                None,
                vars,
            ),
            (
                "query($d: Boolean = false) { a ... @defer(if: $d) { b } }",
                None,
                Variables::default(),
            ),
            (
                "{ a ...F @defer } fragment F on Q { ...F }",
                None,
                Variables::default(),
            ),
            ("{ a ...Missing @defer }", None, Variables::default()),
            (
                "query A { a ... @defer { b } }",
                Some("B"),
                Variables::default(),
            ),
        ] {
            assert!(plan(&parse(q), name, &vars, 8, None).is_none(), "{q}");
        }
        let vars = Variables::from_json(serde_json::json!({ "d": true }));
        assert!(
            plan(
                &parse("query($d: Boolean!) { a ... @defer(if: $d) { b } }"),
                None,
                &vars,
                8,
                None
            )
            .is_some()
        );
    }

    #[test]
    fn at_most_max_fragments_are_deferred() {
        let doc = parse("{ ... @defer { a } ... @defer { b } ... @defer { c } }");
        let plan = plan(&doc, None, &Variables::default(), 2, None).unwrap();
        assert_eq!(plan.deferred.len(), 2);
        assert_eq!(
            print(&plan.initial),
            "{ ... @skip(if: true) { ... @defer { a } } ... @skip(if: true) { ... @defer { b } } ... @defer { c } }"
        );
    }

    /// Splits `cities(codes: [...])` into one code each, as the hub does.
    #[derive(Debug)]
    struct Codes;

    impl ListItems for Codes {
        fn items(
            &self,
            field: &str,
            arguments: &[(Name, ConstValue)],
        ) -> Option<Vec<Vec<(Name, ConstValue)>>> {
            if field != "cities" {
                return None;
            }
            let Some((_, ConstValue::List(codes))) = arguments.iter().find(|(n, _)| n == "codes")
            else {
                return None;
            };
            Some(
                codes
                    .iter()
                    .map(|c| vec![(Name::new("codes"), ConstValue::List(vec![c.clone()]))])
                    .collect(),
            )
        }
    }

    #[test]
    fn a_fragment_under_a_list_the_server_splits_is_one_document_per_item() {
        let doc = parse(
            r#"query($c: [String!]) { cities(codes: $c) { code ... @defer { slow } } other { ... @defer { x } } }"#,
        );
        let vars = Variables::from_json(serde_json::json!({ "c": ["1", "2", "3"] }));
        let plan = plan(&doc, None, &vars, 8, Some(&Codes)).unwrap();
        let items: Vec<Option<usize>> = plan.deferred.iter().map(|d| d.item).collect();
        assert_eq!(items, [Some(0), Some(1), Some(2), None]);
        assert_eq!(
            print(&plan.deferred[1].document),
            "{ cities { ... @skip(if: true) { code } ... { slow } } ... @skip(if: true) { other { ... @defer { x } } } }"
        );
        let (_, op) = plan.deferred[1].document.operations.iter().next().unwrap();
        let Selection::Field(f) = &op.node.selection_set.node.items[0].node else {
            panic!()
        };
        assert_eq!(f.node.arguments[0].1.node.to_string(), r#"["2"]"#);
        // Too many documents for the limit: the list runs once.
        let plan = super::plan(&doc, None, &vars, 3, Some(&Codes)).unwrap();
        let items: Vec<Option<usize>> = plan.deferred.iter().map(|d| d.item).collect();
        assert_eq!(items, [None, None]);
        // One item's answer holds it at index 0; its places and error paths are the item's.
        let initial = ConstValue::from_json(serde_json::json!({
            "cities": [ { "code": "1" }, { "code": "2" }, { "code": "3" } ]
        }))
        .unwrap();
        let keys = [Name::new("cities")];
        let answer =
            ConstValue::from_json(serde_json::json!({ "cities": [ { "slow": 2 } ] })).unwrap();
        let error = serde_json::json!({ "message": "x", "path": ["cities", 0, "slow"] });
        let got = payload(
            &places(&initial, &keys),
            &answer,
            vec![error],
            None,
            Some(1),
        );
        assert_eq!(
            serde_json::Value::Array(got),
            serde_json::json!([{
                "data": { "slow": 2 },
                "path": ["cities", 1],
                "errors": [{ "message": "x", "path": ["cities", 1, "slow"] }]
            }])
        );
    }

    #[test]
    fn payloads_go_to_every_place_the_initial_answer_holds_the_parent() {
        let initial = ConstValue::from_json(serde_json::json!({
            "cities": [ { "code": "1" }, { "code": "2" }, null ],
            "gone": null
        }))
        .unwrap();
        let keys = [Name::new("cities")];
        let places = places(&initial, &keys);
        assert_eq!(
            places,
            vec![
                vec![serde_json::json!("cities"), serde_json::json!(0)],
                vec![serde_json::json!("cities"), serde_json::json!(1)],
            ]
        );
        assert!(super::places(&initial, &[Name::new("gone")]).is_empty());
        let deferred = ConstValue::from_json(serde_json::json!({
            "cities": [ { "n": 1 }, { "n": 2 }, null ]
        }))
        .unwrap();
        let error = serde_json::json!({ "message": "x", "path": ["cities", 1, "n"] });
        let items = payload(&places, &deferred, vec![error.clone()], Some("l"), None);
        assert_eq!(
            serde_json::Value::Array(items),
            serde_json::json!([
                { "data": { "n": 1 }, "path": ["cities", 0], "label": "l", "errors": [error] },
                { "data": { "n": 2 }, "path": ["cities", 1], "label": "l" },
            ])
        );
    }
}
