//! Builds the document the hub forwards to a node: exactly the requested sub-selection, printed
//! back to GraphQL from the caller's own syntax tree — aliases, arguments, directives, variables,
//! named and inline fragments and `__typename` intact — plus the variable definitions and
//! fragment definitions it uses (transitively), and the values of those variables.
//!
//! Hub-only wrappers (the `City` type) do not exist on nodes, so fragments *on the wrapper* are
//! flattened by [`collect_fields`]; everything below a delegated field is forwarded as written.

use std::{
    collections::{BTreeSet, HashMap},
    fmt::Write as _,
};

use async_graphql::{
    Name, Positioned, Variables,
    parser::types::{
        Directive, Field, FragmentDefinition, Selection, SelectionSet, VariableDefinition,
    },
};
use async_graphql_value::Value as AstValue;

/// A query ready to send to a node.
#[derive(Debug, Clone, PartialEq)]
pub struct Forwarded {
    /// The GraphQL document.
    pub query: String,
    /// The variables it uses, from the caller's request.
    pub variables: serde_json::Map<String, serde_json::Value>,
}

/// What the forwarded document may draw on from the caller's request.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// The caller's fragment definitions.
    pub fragments: &'a HashMap<Name, Positioned<FragmentDefinition>>,
    /// The caller's operation's variable definitions.
    pub variable_definitions: &'a [Positioned<VariableDefinition>],
    /// The caller's variable values.
    pub variables: &'a Variables,
}

/// The fields of `set` on a hub-only wrapper type, with fragment spreads and inline fragments
/// (which can only be on the wrapper type) expanded in place.
pub fn collect_fields<'a>(
    set: &'a SelectionSet,
    src: Source<'a>,
    out: &mut Vec<&'a Positioned<Field>>,
) {
    for item in &set.items {
        match &item.node {
            Selection::Field(f) => out.push(f),
            Selection::FragmentSpread(s) => {
                if included(&s.node.directives, src)
                    && let Some(def) = src.fragments.get(&s.node.fragment_name.node)
                {
                    collect_fields(&def.node.selection_set.node, src, out);
                }
            }
            Selection::InlineFragment(i) => {
                if included(&i.node.directives, src) {
                    collect_fields(&i.node.selection_set.node, src, out);
                }
            }
        }
    }
}

/// Whether a fragment's `@skip` / `@include` let it in (a field's own are forwarded with it,
/// for the node to apply; a fragment on the wrapper is flattened, so the hub applies them).
fn included(directives: &[Positioned<Directive>], src: Source<'_>) -> bool {
    let condition = |name: &str| {
        let d = directives.iter().find(|d| d.node.name.node == name)?;
        let (_, v) = d.node.arguments.iter().find(|(n, _)| n.node == "if")?;
        match &v.node {
            AstValue::Boolean(b) => Some(*b),
            AstValue::Variable(var) => {
                match src.variables.get(var).or_else(|| {
                    src.variable_definitions
                        .iter()
                        .find(|d| d.node.name.node == *var)
                        .and_then(|d| d.node.default_value.as_ref().map(|v| &v.node))
                }) {
                    Some(async_graphql::Value::Boolean(b)) => Some(*b),
                    _ => None,
                }
            }
            _ => None,
        }
    };
    condition("skip") != Some(true) && condition("include") != Some(false)
}

/// Prints `fields` as the root selection of a query for a node.
pub fn forward(fields: &[&Positioned<Field>], src: Source<'_>) -> Forwarded {
    let mut p = Printer {
        vars: BTreeSet::new(),
        frags: BTreeSet::new(),
        out: String::new(),
    };
    let mut body = String::from("{");
    for f in fields {
        p.out.clear();
        p.field(&f.node);
        body.push(' ');
        body.push_str(&p.out);
    }
    body.push_str(" }");
    let tail = p.finish(src);
    Forwarded {
        query: format!("{} {body}{}", tail.header, tail.fragments),
        variables: tail.variables,
    }
}

/// A selection set printed once, to be repeated under several root fields (one per batched key).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PreparedSelection {
    /// The selection set, braces included.
    pub selection: String,
    /// `query(...)`: the variable definitions it uses.
    pub header: String,
    /// The fragment definitions it uses.
    pub fragments: String,
    /// The variables' values, as JSON text (so the whole value can be a map key).
    pub variables: String,
}

impl PreparedSelection {
    /// Prints `set` (the selection under a field).
    pub fn new(set: &SelectionSet, src: Source<'_>) -> Self {
        let mut p = Printer {
            vars: BTreeSet::new(),
            frags: BTreeSet::new(),
            out: String::new(),
        };
        p.selection_set(set);
        let selection = std::mem::take(&mut p.out);
        let tail = p.finish(src);
        Self {
            selection,
            header: tail.header,
            fragments: tail.fragments,
            variables: serde_json::Value::Object(tail.variables).to_string(),
        }
    }

    /// A query with one root field per `(alias, field call)`, each with this selection.
    pub fn document(&self, roots: &[(String, String)]) -> Forwarded {
        let mut body = String::from("{");
        for (alias, call) in roots {
            let _ = write!(body, " {alias}: {call}{}", self.selection);
        }
        body.push_str(" }");
        let variables = match serde_json::from_str(&self.variables) {
            Ok(serde_json::Value::Object(m)) => m,
            _ => serde_json::Map::new(),
        };
        Forwarded {
            query: format!("{} {body}{}", self.header, self.fragments),
            variables,
        }
    }
}

struct Tail {
    header: String,
    fragments: String,
    variables: serde_json::Map<String, serde_json::Value>,
}

struct Printer {
    vars: BTreeSet<Name>,
    frags: BTreeSet<Name>,
    out: String,
}

impl Printer {
    /// The fragment definitions (transitively) and variable definitions the printed text uses.
    fn finish(&mut self, src: Source<'_>) -> Tail {
        // Fragments may use further fragments and variables: print until nothing new appears.
        let mut printed = BTreeSet::new();
        let mut fragments = String::new();
        while let Some(name) = self.frags.iter().find(|n| !printed.contains(*n)).cloned() {
            printed.insert(name.clone());
            if let Some(def) = src.fragments.get(&name) {
                self.out.clear();
                let _ = write!(
                    self.out,
                    " fragment {} on {}",
                    name, def.node.type_condition.node.on.node
                );
                self.directives(&def.node.directives);
                self.selection_set(&def.node.selection_set.node);
                fragments.push_str(&self.out);
            }
        }
        let mut header = String::from("query");
        let mut variables = serde_json::Map::new();
        let defs: Vec<&Positioned<VariableDefinition>> = src
            .variable_definitions
            .iter()
            .filter(|d| self.vars.contains(&d.node.name.node))
            .collect();
        if !defs.is_empty() {
            header.push('(');
            for (i, d) in defs.iter().enumerate() {
                if i > 0 {
                    header.push_str(", ");
                }
                let _ = write!(header, "${}: {}", d.node.name.node, d.node.var_type.node);
                if let Some(default) = &d.node.default_value {
                    let _ = write!(header, " = {}", default.node);
                }
                if let Some(json) = src
                    .variables
                    .get(&d.node.name.node)
                    .and_then(|v| v.clone().into_json().ok())
                {
                    variables.insert(d.node.name.node.to_string(), json);
                }
            }
            header.push(')');
        }
        Tail {
            header,
            fragments,
            variables,
        }
    }

    fn field(&mut self, f: &Field) {
        if let Some(alias) = &f.alias {
            let _ = write!(self.out, "{}: ", alias.node);
        }
        let _ = write!(self.out, "{}", f.name.node);
        if !f.arguments.is_empty() {
            self.out.push('(');
            for (i, (name, value)) in f.arguments.iter().enumerate() {
                if i > 0 {
                    self.out.push_str(", ");
                }
                let _ = write!(self.out, "{}: ", name.node);
                self.value(&value.node);
            }
            self.out.push(')');
        }
        self.directives(&f.directives);
        if !f.selection_set.node.items.is_empty() {
            self.selection_set(&f.selection_set.node);
        }
    }

    fn directives(&mut self, directives: &[Positioned<Directive>]) {
        // `@defer` is the hub's (delivered over multipart by the hub itself); nodes do not
        // declare it, and a forwarded document is answered whole anyway.
        for d in directives.iter().filter(|d| d.node.name.node != "defer") {
            let _ = write!(self.out, " @{}", d.node.name.node);
            if !d.node.arguments.is_empty() {
                self.out.push('(');
                for (i, (name, value)) in d.node.arguments.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    let _ = write!(self.out, "{}: ", name.node);
                    self.value(&value.node);
                }
                self.out.push(')');
            }
        }
    }

    fn selection_set(&mut self, set: &SelectionSet) {
        self.out.push_str(" {");
        for item in &set.items {
            self.out.push(' ');
            match &item.node {
                Selection::Field(f) => self.field(&f.node),
                Selection::FragmentSpread(s) => {
                    let _ = write!(self.out, "...{}", s.node.fragment_name.node);
                    self.frags.insert(s.node.fragment_name.node.clone());
                    self.directives(&s.node.directives);
                }
                Selection::InlineFragment(i) => {
                    self.out.push_str("...");
                    if let Some(tc) = &i.node.type_condition {
                        let _ = write!(self.out, " on {}", tc.node.on.node);
                    }
                    self.directives(&i.node.directives);
                    self.selection_set(&i.node.selection_set.node);
                }
            }
        }
        self.out.push_str(" }");
    }

    fn value(&mut self, v: &AstValue) {
        // Record the variables a value uses; the value itself prints as GraphQL syntax.
        collect_vars(v, &mut self.vars);
        let _ = write!(self.out, "{v}");
    }
}

fn collect_vars(v: &AstValue, out: &mut BTreeSet<Name>) {
    match v {
        AstValue::Variable(n) => {
            out.insert(n.clone());
        }
        AstValue::List(items) => items.iter().for_each(|i| collect_vars(i, out)),
        AstValue::Object(map) => map.values().for_each(|i| collect_vars(i, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::parser::parse_query;

    use super::*;

    fn forward_root_fields(query: &str, vars: serde_json::Value) -> Forwarded {
        let doc = parse_query(query).unwrap();
        let (_, op) = doc.operations.iter().next().unwrap();
        let variables = Variables::from_json(vars);
        let src = Source {
            fragments: &doc.fragments,
            variable_definitions: &op.node.variable_definitions,
            variables: &variables,
        };
        // The root field is the hub-only `cities`; forward what is under it.
        let Selection::Field(cities) = &op.node.selection_set.node.items[0].node else {
            panic!()
        };
        let mut fields = Vec::new();
        collect_fields(&cities.node.selection_set.node, src, &mut fields);
        let fields: Vec<_> = fields
            .into_iter()
            .filter(|f| f.node.name.node != "code")
            .collect();
        forward(&fields, src)
    }

    #[test]
    fn forwards_aliases_arguments_directives_and_only_the_variables_used() {
        let f = forward_root_fields(
            r#"query Q($first: Int = 5, $unused: String, $y: Int!, $skip: Boolean!) {
                cities { code
                  u: units(first: $first) @skip(if: $skip) { nodes { __typename nameZh } }
                  planItems(filter: {year: $y, category: BEDS}) { totalCount } } }"#,
            serde_json::json!({ "y": 2021, "skip": false, "unused": "x" }),
        );
        assert_eq!(
            f.query,
            "query($first: Int = 5, $y: Int!, $skip: Boolean!) { u: units(first: $first) @skip(if: $skip) { nodes { __typename nameZh } } planItems(filter: {year: $y, category: BEDS}) { totalCount } }"
        );
        assert_eq!(
            serde_json::Value::Object(f.variables),
            serde_json::json!({ "y": 2021, "skip": false })
        );
    }

    #[test]
    fn forwards_fragments_used_below_and_flattens_those_on_the_wrapper() {
        let f = forward_root_fields(
            r#"query { cities { code ...C } }
               fragment C on City { programmes { nodes { ...P } } ... on City { units { nodes { ... on Unit { id } } } } }
               fragment P on Programme { id ...Q }
               fragment Q on Programme { nameZh }
               fragment Unused on Unit { id }"#,
            serde_json::json!({}),
        );
        assert_eq!(
            f.query,
            "query { programmes { nodes { ...P } } units { nodes { ... on Unit { id } } } } fragment P on Programme { id ...Q } fragment Q on Programme { nameZh }"
        );
    }

    #[test]
    fn fragments_skipped_on_the_wrapper_are_not_forwarded_and_defer_never_is() {
        let f = forward_root_fields(
            r#"query($no: Boolean!, $yes: Boolean = true) { cities { code
                 ... @skip(if: true) { owner { code } }
                 ... @include(if: $no) { units { totalCount } }
                 ...P @skip(if: $no)
                 ... @include(if: $yes) @defer(label: "d") { planItems { totalCount } } } }
               fragment P on City { programmes { nodes { id ... @defer { nameZh } } } }"#,
            serde_json::json!({ "no": false }),
        );
        assert_eq!(
            f.query,
            "query { programmes { nodes { id ... { nameZh } } } planItems { totalCount } }"
        );
    }

    #[test]
    fn literal_values_survive_printing() {
        let f = forward_root_fields(
            r#"{ cities { targets(filter: {indicator: "beds \"added\"", scope: {kind: UNIT, id: "Unit:140800:x"}}, first: 3) { totalCount } } }"#,
            serde_json::json!({}),
        );
        let reparsed = parse_query(&f.query).expect("the forwarded document parses");
        assert_eq!(reparsed.fragments.len(), 0);
        assert!(
            f.query.contains(r#"indicator: "beds \"added\"""#),
            "{}",
            f.query
        );
    }
}
