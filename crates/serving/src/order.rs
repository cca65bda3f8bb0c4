//! Response keys in the query's order. async-graphql resolves a query's fields concurrently and
//! writes each into the response object as it completes, so a slow field (a city asked of its
//! node) can land after a fast one selected later. The GraphQL spec says a response SHOULD keep
//! the selection's order; this puts every object of the response back in it.

use async_graphql::{
    Name, Value,
    parser::types::{ExecutableDocument, Selection, SelectionSet},
};

/// The response keys of a selection, in order, each with the order of its own selection
/// (fragments and inline fragments spread in place; a key selected twice keeps its first place
/// and merges its sub-selections).
#[derive(Debug, Default)]
pub struct Order(Vec<(Name, Order)>);

impl Order {
    /// The order of the operation `name` (or the only one) of `doc`.
    pub fn of(doc: &ExecutableDocument, name: Option<&str>) -> Self {
        let op = crate::graphql::operation(doc, name);
        op.map_or_else(Self::default, |op| {
            plan(doc, &[&op.node.selection_set.node], &mut Vec::new())
        })
    }

    /// Reorders `value`'s objects (and the objects in its lists) to this order; keys the order
    /// does not name keep their place after the named ones.
    pub fn apply(&self, value: &mut Value) {
        match value {
            Value::Object(map) if !self.0.is_empty() => {
                // In place: most objects are in order already, and a stable sort by each key's
                // place (keys the order does not name last) moves nothing then.
                let place = |k: &Name| {
                    self.0
                        .iter()
                        .position(|(n, _)| n == k)
                        .unwrap_or(usize::MAX)
                };
                if !map.keys().map(place).is_sorted() {
                    map.sort_by(|a, _, b, _| place(a).cmp(&place(b)));
                }
                for (key, child) in &self.0 {
                    if let Some(v) = map.get_mut(key) {
                        child.apply(v);
                    }
                }
            }
            Value::List(items) => {
                for item in items {
                    self.apply(item);
                }
            }
            _ => {}
        }
    }
}

fn plan<'a>(
    doc: &'a ExecutableDocument,
    sets: &[&'a SelectionSet],
    spreading: &mut Vec<&'a str>,
) -> Order {
    let mut keys: Vec<(&'a Name, Vec<&'a SelectionSet>)> = Vec::new();
    for set in sets {
        collect(doc, set, &mut keys, spreading);
    }
    Order(
        keys.into_iter()
            .map(|(key, subs)| (key.clone(), plan(doc, &subs, spreading)))
            .collect(),
    )
}

fn collect<'a>(
    doc: &'a ExecutableDocument,
    set: &'a SelectionSet,
    keys: &mut Vec<(&'a Name, Vec<&'a SelectionSet>)>,
    spreading: &mut Vec<&'a str>,
) {
    for item in &set.items {
        match &item.node {
            Selection::Field(f) => {
                let key = &f.node.response_key().node;
                let sub = &f.node.selection_set.node;
                match keys.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, subs)) => subs.push(sub),
                    None => keys.push((key, vec![sub])),
                }
            }
            Selection::InlineFragment(i) => {
                collect(doc, &i.node.selection_set.node, keys, spreading)
            }
            Selection::FragmentSpread(s) => {
                let name = s.node.fragment_name.node.as_str();
                // A fragment spread inside itself is refused by validation; never loop on one.
                if spreading.contains(&name) {
                    continue;
                }
                if let Some(f) = doc.fragments.get(&s.node.fragment_name.node) {
                    spreading.push(name);
                    collect(doc, &f.node.selection_set.node, keys, spreading);
                    spreading.pop();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(v: &Value) -> Vec<String> {
        match v {
            Value::Object(m) => m.keys().map(|k| k.to_string()).collect(),
            _ => Vec::new(),
        }
    }

    #[test]
    fn objects_follow_the_selection_through_fragments_and_lists() {
        let doc = async_graphql::parser::parse_query(
            "query Q { b: city { ...F units { nodes { y x } } } a }
             fragment F on City { code ... on City { name } }",
        )
        .unwrap();
        let order = Order::of(&doc, Some("Q"));
        let mut v = Value::from_json(serde_json::json!({
            "a": 1,
            "b": { "units": { "nodes": [{ "x": 1, "y": 2 }, { "x": 3, "y": 4 }] }, "name": "n", "extra": 0, "code": "c" }
        }))
        .unwrap();
        order.apply(&mut v);
        assert_eq!(keys(&v), ["b", "a"]);
        let Value::Object(root) = &v else { panic!() };
        let b = &root["b"];
        assert_eq!(keys(b), ["code", "name", "units", "extra"]);
        let Value::Object(b) = b else { panic!() };
        let Value::Object(units) = &b["units"] else {
            panic!()
        };
        let Value::List(nodes) = &units["nodes"] else {
            panic!()
        };
        assert!(nodes.iter().all(|n| keys(n) == ["y", "x"]));
    }

    #[test]
    fn a_fragment_that_spreads_itself_does_not_loop() {
        let doc =
            async_graphql::parser::parse_query("{ ...F } fragment F on Query { a ...F }").unwrap();
        let order = Order::of(&doc, None);
        let mut v = Value::from_json(serde_json::json!({ "a": 1 })).unwrap();
        order.apply(&mut v);
        assert_eq!(keys(&v), ["a"]);
    }
}
