//! What a hostile document can cost (CONTRACT §7), decided before anything
//! recursive sees it.
//!
//! 1. [`check_document_nesting`] and [`check_json_nesting`]: one linear,
//!    string-aware scan each, so the parser, serde and every later walk
//!    recurse at most [`MAX_NESTING`] levels (a stack overflow cannot be
//!    caught; it aborts the process).
//! 2. [`analyse`]: depth, complexity, aliases and password-checking fields
//!    counted as the document would run, each fragment's cost computed once
//!    and added at every selection set that collects it; fragment cycles,
//!    unknown and unused fragments refused as the specification's
//!    validation rules say.
//! 3. [`normalise`]: the operations rewritten the way CollectFields runs
//!    them (a fragment already collected into a selection set is not
//!    collected again), so async-graphql's validators and executor, which
//!    expand every spread, see a document no larger than what was counted.

use std::collections::HashMap;

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, Field, FragmentDefinition, InlineFragment, OperationDefinition,
    OperationType, Selection, SelectionSet, TypeCondition,
};
use async_graphql::parser::Pos;
use async_graphql::{Name, Positioned, Request, Value, Variables};

use super::document_cache::DocumentCache;
use super::shape::{innermost, Shape};

/// Nesting deeper than this is refused before it is walked: selection
/// sets, and separately list and object values or list types.
pub const MAX_NESTING: usize = 64;

/// Mutation fields that check a password (bcrypt), at most
/// [`Limits::password_fields`] of them per request.
pub const PASSWORD_FIELDS: &[&str] = &["login", "signup", "changePassword", "deleteAccount"];

/// The bounds of §7, from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub depth: usize,
    pub complexity: usize,
    pub aliases: usize,
    pub password_fields: usize,
    /// Directives on one field, spread or inline fragment.
    pub directives: usize,
}

/// Why a document or body was refused before execution.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The document cannot be read: `GRAPHQL_PARSE_FAILED`.
    #[error("{message}")]
    Parse { message: String, pos: Option<Pos> },
    /// The document reads but may not run: `GRAPHQL_VALIDATION_FAILED`.
    #[error("{message}")]
    Validation { message: String, pos: Option<Pos> },
    /// `operationName` names no operation of the document, or is missing
    /// where it holds several: `OPERATION_RESOLUTION_FAILURE`.
    #[error("{0}")]
    OperationResolution(String),
    /// The body is not a GraphQL request: `BAD_REQUEST`.
    #[error("{0}")]
    BadRequest(String),
}

impl Refusal {
    fn validation(message: impl Into<String>, pos: Option<Pos>) -> Self {
        Self::Validation { message: message.into(), pos }
    }
}

/// The guard of one schema, built once at start-up: its shape, its limits
/// and the parsed-document cache. Every transport calls [`Self::prepare`].
pub struct DocumentGuard {
    shape: Shape,
    limits: Limits,
    cache: DocumentCache,
}

impl DocumentGuard {
    pub fn new(limits: Limits) -> Self {
        Self { shape: Shape::from_sdl(&super::sdl()), limits, cache: DocumentCache::default() }
    }

    /// The limits it enforces.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The type of the operation `request` would run, when its document is
    /// shallow enough to parse and parses (through the cache `prepare`
    /// uses, so a GET is parsed once); `None` when it names no operation.
    pub fn operation_type(&self, request: &Request) -> Option<OperationType> {
        check_document_nesting(&request.query).ok()?;
        let document = self.cache.parse(&request.query).ok()?;
        match (&document.operations, request.operation_name.as_deref()) {
            (DocumentOperations::Single(op), _) => Some(op.node.ty),
            (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name).map(|op| op.node.ty),
            (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next().map(|op| op.node.ty),
            // Ambiguous: any mutation in it is enough to refuse it over GET.
            (DocumentOperations::Multiple(ops), None) => {
                ops.values().any(|op| op.node.ty == OperationType::Mutation).then_some(OperationType::Mutation)
            }
        }
    }

    /// The schema's shape the guard reads documents against.
    pub fn shape(&self) -> &Shape {
        &self.shape
    }

    /// Checks one request and hands async-graphql the rewritten document.
    /// What it returns (cost, and the document as the client wrote it) lets
    /// a batch add up its password checks and the response edge place
    /// errored fields as the specification says.
    pub fn prepare(&self, request: &mut Request) -> Result<Prepared, Refusal> {
        check_value_nesting(request.variables.values().chain(request.extensions.0.values()))?;
        check_document_nesting(&request.query)?;
        let document = self
            .cache
            .parse(&request.query)
            .map_err(|e| Refusal::Parse { message: e.to_string(), pos: e.positions().next() })?;
        check_directives(&document, self.limits.directives)?;
        resolve_operation(&document, request.operation_name.as_deref())?;
        let cost = analyse(&document)?;
        cost.check(&self.limits)?;
        request.set_parsed_query(normalise(&document, &self.shape, &request.variables)?);
        Ok(Prepared { cost, document, operation_name: request.operation_name.clone() })
    }
}

/// A request the guard let through.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub cost: Cost,
    /// The document as parsed (shared with the parse cache).
    pub document: std::sync::Arc<ExecutableDocument>,
    pub operation_name: Option<String>,
}

impl Prepared {
    /// The operation that runs.
    pub fn operation(&self) -> Option<&Positioned<OperationDefinition>> {
        match (&self.document.operations, self.operation_name.as_deref()) {
            (DocumentOperations::Single(op), None) => Some(op),
            (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name),
            (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next(),
            _ => None,
        }
    }

    /// The name of the operation that runs, as the document spells it
    /// (the request need not send `operationName` for a lone operation).
    pub fn name(&self) -> Option<&str> {
        match (&self.document.operations, self.operation_name.as_deref()) {
            (_, Some(name)) => Some(name),
            (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.keys().next().map(|n| n.as_str()),
            _ => None,
        }
    }

    /// The fragment named `name`.
    pub fn fragment(&self, name: &str) -> Option<&Positioned<FragmentDefinition>> {
        self.document.fragments.get(name)
    }
}

/// Refuses a selection with more than `max` directives, as a parse error
/// (what async-graphql's own bound answered). Linear.
fn check_directives(doc: &ExecutableDocument, max: usize) -> Result<(), Refusal> {
    fn walk(set: &SelectionSet, max: usize) -> Result<(), Refusal> {
        for item in &set.items {
            let directives = item.node.directives();
            if directives.len() > max {
                let message = format!("The number of directives on one selection cannot be greater than `{max}`");
                return Err(Refusal::Parse { message, pos: Some(item.pos) });
            }
            match &item.node {
                Selection::Field(f) => walk(&f.node.selection_set.node, max)?,
                Selection::InlineFragment(i) => walk(&i.node.selection_set.node, max)?,
                Selection::FragmentSpread(_) => {}
            }
        }
        Ok(())
    }
    for (_, op) in doc.operations.iter() {
        walk(&op.node.selection_set.node, max)?;
    }
    for fragment in doc.fragments.values() {
        walk(&fragment.node.selection_set.node, max)?;
    }
    Ok(())
}

/// The specification's GetOperation: the one operation, or the one named.
fn resolve_operation(doc: &ExecutableDocument, name: Option<&str>) -> Result<(), Refusal> {
    let found = match (&doc.operations, name) {
        (DocumentOperations::Single(_), None) => true,
        (DocumentOperations::Multiple(ops), None) => ops.len() == 1,
        (DocumentOperations::Single(_), Some(_)) => false,
        (DocumentOperations::Multiple(ops), Some(name)) => ops.contains_key(name),
    };
    match (found, name) {
        (true, _) => Ok(()),
        (false, Some(name)) => Err(Refusal::OperationResolution(format!("Unknown operation named \"{name}\"."))),
        (false, None) => Err(Refusal::OperationResolution(
            "The document holds several operations: name one in `operationName`.".into(),
        )),
    }
}

fn too_deep() -> Refusal {
    Refusal::Parse { message: format!("The document nests deeper than {MAX_NESTING} levels"), pos: None }
}

/// Refuses a GraphQL document nested deeper than [`MAX_NESTING`], counting
/// selection sets (`{`) apart from values and types inside parentheses
/// (`[`, `{`), and skipping strings, block strings and comments. Linear.
pub fn check_document_nesting(text: &str) -> Result<(), Refusal> {
    let b = text.as_bytes();
    // What each open bracket was: a selection set, the arguments or
    // variables of one parenthesis, or a value/type inside one.
    #[derive(Clone, Copy)]
    enum Open {
        Selection,
        Arguments,
        Value,
    }
    let mut stack: Vec<Open> = Vec::new();
    let (mut selections, mut values, mut in_arguments) = (0usize, 0usize, false);
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'#' => {
                while i < b.len() && b[i] != b'\n' && b[i] != b'\r' {
                    i += 1;
                }
                continue;
            }
            b'"' if b[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < b.len() && !b[i..].starts_with(b"\"\"\"") {
                    i += if b[i..].starts_with(b"\\\"\"\"") { 4 } else { 1 };
                }
                i += 3;
                continue;
            }
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' && b[i] != b'\n' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
                continue;
            }
            b'(' | b'[' | b'{' => {
                let open = match (b[i], in_arguments) {
                    (_, true) => Open::Value,
                    (b'(', false) => Open::Arguments,
                    _ => Open::Selection,
                };
                match open {
                    Open::Value => values += 1,
                    Open::Arguments => in_arguments = true,
                    Open::Selection => selections += 1,
                }
                if selections > MAX_NESTING || values > MAX_NESTING {
                    return Err(too_deep());
                }
                stack.push(open);
            }
            b')' | b']' | b'}' => match stack.pop() {
                Some(Open::Value) => values -= 1,
                Some(Open::Arguments) => in_arguments = false,
                Some(Open::Selection) => selections -= 1,
                None => {}
            },
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// Refuses JSON nested deeper than [`MAX_NESTING`] (strings skipped) with
/// `BAD_REQUEST`, before serde or anything else recurses into it. Linear.
pub fn check_json_nesting(text: &[u8]) -> Result<(), Refusal> {
    let mut depth = 0usize;
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'"' => {
                i += 1;
                while i < text.len() && text[i] != b'"' {
                    i += if text[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(Refusal::BadRequest(format!("The JSON body nests deeper than {MAX_NESTING} levels")));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// Refuses a parsed JSON value (GET's `variables`, a socket's payload)
/// nested deeper than [`MAX_NESTING`]; serde already bounds it at 128, so
/// this walk stays shallow.
pub fn check_value_nesting<'a>(values: impl IntoIterator<Item = &'a Value>) -> Result<(), Refusal> {
    fn deeper(value: &Value, left: usize) -> bool {
        match value {
            Value::List(items) => left == 0 || items.iter().any(|v| deeper(v, left - 1)),
            Value::Object(fields) => left == 0 || fields.values().any(|v| deeper(v, left - 1)),
            _ => false,
        }
    }
    if values.into_iter().any(|v| deeper(v, MAX_NESTING - 1)) {
        return Err(Refusal::BadRequest(format!("The variables nest deeper than {MAX_NESTING} levels")));
    }
    Ok(())
}

/// What a document would run: depth (deepest field path), complexity
/// (fields, `__typename` included), aliased fields and password-checking
/// root mutation fields. Summed over the operations of the document.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Cost {
    pub depth: usize,
    pub complexity: usize,
    pub aliases: usize,
    pub password_fields: usize,
}

impl Cost {
    fn add(&mut self, other: Cost) {
        self.depth = self.depth.max(other.depth);
        self.complexity = self.complexity.saturating_add(other.complexity);
        self.aliases = self.aliases.saturating_add(other.aliases);
        self.password_fields = self.password_fields.saturating_add(other.password_fields);
    }

    /// The first limit this cost passes, as the refusal a client sees.
    pub fn check(&self, limits: &Limits) -> Result<(), Refusal> {
        if self.depth > limits.depth {
            return Err(Refusal::validation("Query is nested too deep.", None));
        }
        if self.complexity > limits.complexity {
            return Err(Refusal::validation("Query is too complex.", None));
        }
        if self.aliases > limits.aliases {
            let message = format!("Query has {} aliased fields; at most {} are allowed.", self.aliases, limits.aliases);
            return Err(Refusal::validation(message, None));
        }
        if self.password_fields > limits.password_fields {
            let message = format!(
                "At most {} fields that check a password (login, signup, changePassword, deleteAccount) in one request.",
                limits.password_fields
            );
            return Err(Refusal::validation(message, None));
        }
        Ok(())
    }
}

/// The fragments of a document by index, with what each spreads.
struct Fragments<'a> {
    index: HashMap<&'a str, usize>,
    defs: Vec<(&'a Name, &'a Positioned<FragmentDefinition>)>,
}

impl<'a> Fragments<'a> {
    fn of(doc: &'a ExecutableDocument) -> Self {
        let mut defs: Vec<_> = doc.fragments.iter().collect();
        // Source order, so errors name the first offender the client wrote.
        defs.sort_by_key(|(_, f)| (f.pos.line, f.pos.column));
        let index = defs.iter().enumerate().map(|(i, (name, _))| (name.as_str(), i)).collect();
        Self { index, defs }
    }
}

/// Spreads and fields collected into one selection set without crossing a
/// field: what CollectFields walks for that set.
fn direct<'a>(set: &'a SelectionSet, spreads: &mut Vec<&'a Positioned<Name>>, fields: &mut Vec<&'a Positioned<Field>>) {
    for item in &set.items {
        match &item.node {
            Selection::Field(f) => fields.push(f),
            Selection::FragmentSpread(s) => spreads.push(&s.node.fragment_name),
            Selection::InlineFragment(i) => direct(&i.node.selection_set.node, spreads, fields),
        }
    }
}

/// Every spread anywhere inside a selection set (fields included).
fn all_spreads<'a>(set: &'a SelectionSet, out: &mut Vec<&'a Positioned<Name>>) {
    for item in &set.items {
        match &item.node {
            Selection::Field(f) => all_spreads(&f.node.selection_set.node, out),
            Selection::FragmentSpread(s) => out.push(&s.node.fragment_name),
            Selection::InlineFragment(i) => all_spreads(&i.node.selection_set.node, out),
        }
    }
}

/// Counts what `doc` would run, in time linear in the document (plus, per
/// selection set, the fragments it reaches), and refuses unknown, unused
/// and cyclic fragments. Call only on a document that passed
/// [`check_document_nesting`]: the walks recurse along its nesting.
pub fn analyse(doc: &ExecutableDocument) -> Result<Cost, Refusal> {
    let frags = Fragments::of(doc);
    let n = frags.defs.len();
    let lookup = |name: &Positioned<Name>| -> Result<usize, Refusal> {
        frags
            .index
            .get(name.node.as_str())
            .copied()
            .ok_or_else(|| Refusal::validation(format!("Unknown fragment: \"{}\".", name.node), Some(name.pos)))
    };

    // The spread graph (any spread inside a fragment, fields included).
    let mut edges: Vec<Vec<usize>> = Vec::with_capacity(n);
    for (_, def) in &frags.defs {
        let mut spreads = Vec::new();
        all_spreads(&def.node.selection_set.node, &mut spreads);
        edges.push(spreads.into_iter().map(lookup).collect::<Result<_, _>>()?);
    }
    let mut roots = Vec::new();
    for (_, op) in doc.operations.iter() {
        let mut spreads = Vec::new();
        all_spreads(&op.node.selection_set.node, &mut spreads);
        for s in spreads {
            roots.push(lookup(s)?);
        }
    }

    // Cycles, by an iterative depth-first search; its post-order lists
    // every fragment after the fragments it spreads.
    let order = topological(&edges).map_err(|(from, to)| {
        let (name, def) = frags.defs[from];
        let via = frags.defs[to].0;
        let message = if from == to {
            format!("Cannot spread fragment \"{name}\" within itself.")
        } else {
            format!("Cannot spread fragment \"{name}\" within itself via \"{via}\".")
        };
        Refusal::validation(message, Some(def.pos))
    })?;

    // Unused fragments: not reachable from any operation.
    let mut used = vec![false; n];
    let mut stack = roots;
    while let Some(i) = stack.pop() {
        if !std::mem::replace(&mut used[i], true) {
            stack.extend(edges[i].iter().copied());
        }
    }
    if let Some(i) = used.iter().position(|u| !u) {
        let (name, def) = frags.defs[i];
        return Err(Refusal::validation(format!("Fragment \"{name}\" is never used."), Some(def.pos)));
    }

    // Each fragment's own fields, costed once, dependencies first.
    let mut counter = Counter {
        frags: &frags,
        own: vec![Cost::default(); n],
        direct_spreads: vec![Vec::new(); n],
        seen: vec![0; n],
        generation: 0,
    };
    for &i in &order {
        let set = &frags.defs[i].1.node.selection_set.node;
        let (mut spreads, mut fields) = (Vec::new(), Vec::new());
        direct(set, &mut spreads, &mut fields);
        counter.direct_spreads[i] = spreads.iter().filter_map(|s| frags.index.get(s.node.as_str()).copied()).collect();
        // Password fields counted by name; `set_cost` keeps them only at
        // the root of a mutation.
        counter.own[i] = counter.fields_cost(&fields, true);
    }

    let mut total = Cost::default();
    for (_, op) in doc.operations.iter() {
        let root_mutation = op.node.ty == OperationType::Mutation;
        total.add(counter.set_cost(&op.node.selection_set.node, root_mutation));
    }
    Ok(total)
}

/// Post-order of the spread graph, or the edge that closes a cycle.
fn topological(edges: &[Vec<usize>]) -> Result<Vec<usize>, (usize, usize)> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    let mut mark = vec![Mark::New; edges.len()];
    let mut order = Vec::with_capacity(edges.len());
    for start in 0..edges.len() {
        if mark[start] != Mark::New {
            continue;
        }
        let mut stack = vec![(start, 0usize)];
        mark[start] = Mark::Open;
        while let Some((node, next)) = stack.last_mut() {
            let node = *node;
            if let Some(&to) = edges[node].get(*next) {
                *next += 1;
                match mark[to] {
                    Mark::Open => return Err((to, node)),
                    Mark::New => {
                        mark[to] = Mark::Open;
                        stack.push((to, 0));
                    }
                    Mark::Done => {}
                }
            } else {
                mark[node] = Mark::Done;
                order.push(node);
                stack.pop();
            }
        }
    }
    Ok(order)
}

struct Counter<'a, 'd> {
    frags: &'a Fragments<'d>,
    /// Cost of each fragment's own fields (not of the fragments it spreads).
    own: Vec<Cost>,
    /// The fragments each fragment spreads without crossing a field.
    direct_spreads: Vec<Vec<usize>>,
    /// `seen[i] == generation`: fragment `i` already collected into the
    /// selection set being costed (a generation per set, no clearing).
    seen: Vec<u32>,
    generation: u32,
}

impl Counter<'_, '_> {
    /// The cost of one selection set: its own fields plus every fragment it
    /// reaches, each once, as CollectFields would collect them.
    fn set_cost(&mut self, set: &SelectionSet, root_mutation: bool) -> Cost {
        let (mut spreads, mut fields) = (Vec::new(), Vec::new());
        direct(set, &mut spreads, &mut fields);
        let mut cost = self.fields_cost(&fields, root_mutation);
        if spreads.is_empty() {
            return cost;
        }
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.seen.iter_mut().for_each(|s| *s = 0);
            self.generation = 1;
        }
        let mut stack: Vec<usize> =
            spreads.iter().filter_map(|s| self.frags.index.get(s.node.as_str()).copied()).collect();
        while let Some(i) = stack.pop() {
            if self.seen[i] == self.generation {
                continue;
            }
            self.seen[i] = self.generation;
            let mut own = self.own[i];
            if !root_mutation {
                own.password_fields = 0;
            }
            cost.add(own);
            stack.extend(self.direct_spreads[i].iter().copied());
        }
        cost
    }

    fn fields_cost(&mut self, fields: &[&Positioned<Field>], root_mutation: bool) -> Cost {
        let mut cost = Cost::default();
        for field in fields {
            let field = &field.node;
            let below = if field.selection_set.node.items.is_empty() {
                Cost::default()
            } else {
                self.set_cost(&field.selection_set.node, false)
            };
            cost.add(Cost {
                depth: below.depth + 1,
                complexity: below.complexity.saturating_add(1),
                aliases: below.aliases.saturating_add(usize::from(field.alias.is_some())),
                password_fields: usize::from(PASSWORD_FIELDS.contains(&field.name.node.as_str())),
            });
        }
        if !root_mutation {
            cost.password_fields = 0;
        }
        cost
    }
}

/// `@skip`/`@include` as async-graphql's executor reads them: a literal or
/// a request variable that is `true`; anything else counts as `false`.
fn skipped(directives: &[Positioned<async_graphql::parser::types::Directive>], variables: &Variables) -> bool {
    directives.iter().any(|d| {
        let include = match d.node.name.node.as_str() {
            "skip" => false,
            "include" => true,
            _ => return false,
        };
        let Some(condition) = d.node.get_argument("if") else {
            return false;
        };
        let value = condition.node.clone().into_const_with(|name| variables.get(&name).cloned().ok_or(()));
        let value = matches!(value, Ok(Value::Boolean(true)));
        include != value
    })
}

/// Rewrites every operation the way CollectFields runs it: each fragment
/// spread becomes its fields (spliced in when its type condition is the
/// enclosing type, else an inline fragment on that condition), and a
/// fragment already collected into a selection set is not collected again.
/// A spread that `@skip`/`@include` turns off keeps its content once per
/// operation (wrapped with its directives, which the executor then honours)
/// so that validation still sees the variables it uses. The result has no
/// fragment definitions; its size is bounded by the [`Cost`] of [`analyse`].
/// Call only on a document that [`analyse`] accepted.
pub fn normalise(
    doc: &ExecutableDocument,
    shape: &Shape,
    variables: &Variables,
) -> Result<ExecutableDocument, Refusal> {
    if doc.fragments.is_empty() {
        return Ok(doc.clone());
    }
    let frags = Fragments::of(doc);
    let op = |def: &Positioned<OperationDefinition>| -> Result<Positioned<OperationDefinition>, Refusal> {
        let mut writer = Writer { frags: &frags, shape, variables, skipped_once: vec![false; frags.defs.len()] };
        let root = shape.root(def.node.ty).map(str::to_owned);
        let set = writer.field_set(&def.node.selection_set, root.as_deref(), 0)?;
        Ok(Positioned::new(OperationDefinition { selection_set: set, ..def.node.clone() }, def.pos))
    };
    let operations = match &doc.operations {
        DocumentOperations::Single(def) => DocumentOperations::Single(op(def)?),
        DocumentOperations::Multiple(ops) => DocumentOperations::Multiple(
            ops.iter().map(|(name, def)| Ok((name.clone(), op(def)?))).collect::<Result<_, Refusal>>()?,
        ),
    };
    Ok(ExecutableDocument { operations, fragments: HashMap::new() })
}

struct Writer<'a, 'd> {
    frags: &'a Fragments<'d>,
    shape: &'a Shape,
    variables: &'a Variables,
    /// Fragments whose content this operation already holds inside a
    /// spread that is turned off.
    skipped_once: Vec<bool>,
}

/// Whether a selection set's fragments are collected to run (`Live`) or
/// only kept for validation inside a spread that is turned off.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Live,
    Off,
}

impl Writer<'_, '_> {
    /// A field's (or an operation's) selection set: a CollectFields of its own.
    fn field_set(
        &mut self,
        set: &Positioned<SelectionSet>,
        ty: Option<&str>,
        nesting: usize,
    ) -> Result<Positioned<SelectionSet>, Refusal> {
        let mut visited = vec![false; self.frags.defs.len()];
        let mut items = Vec::with_capacity(set.node.items.len());
        self.collect(&set.node, ty, Mode::Live, &mut visited, nesting + 1, &mut items)?;
        Ok(Positioned::new(SelectionSet { items }, set.pos))
    }

    fn collect(
        &mut self,
        set: &SelectionSet,
        ty: Option<&str>,
        mode: Mode,
        visited: &mut [bool],
        nesting: usize,
        out: &mut Vec<Positioned<Selection>>,
    ) -> Result<(), Refusal> {
        if nesting > MAX_NESTING {
            return Err(Refusal::validation(format!("Fragments nest deeper than {MAX_NESTING} levels."), None));
        }
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => {
                    let child = ty
                        .and_then(|t| self.shape.field(t, &field.node.name.node))
                        .map(innermost)
                        .filter(|t| self.shape.is_object(t))
                        .map(str::to_owned);
                    let selection_set = if field.node.selection_set.node.items.is_empty() {
                        field.node.selection_set.clone()
                    } else {
                        self.field_set(&field.node.selection_set, child.as_deref(), nesting)?
                    };
                    let field = Positioned::new(Field { selection_set, ..field.node.clone() }, field.pos);
                    out.push(Positioned::new(Selection::Field(field), item.pos));
                }
                Selection::InlineFragment(inline) => {
                    let off = mode == Mode::Off || skipped(&inline.node.directives, self.variables);
                    let condition = inline.node.type_condition.as_ref().map(|c| c.node.on.node.as_str());
                    let inner = condition.or(ty);
                    let inner_mode = if off { Mode::Off } else { Mode::Live };
                    self.wrap(
                        item.pos,
                        inline.node.type_condition.clone(),
                        inline.node.directives.clone(),
                        ty,
                        |w, out| {
                            w.collect(&inline.node.selection_set.node, inner, inner_mode, visited, nesting + 1, out)
                        },
                        out,
                    )?;
                }
                Selection::FragmentSpread(spread) => {
                    let Some(&i) = self.frags.index.get(spread.node.fragment_name.node.as_str()) else {
                        continue; // refused by `analyse` already
                    };
                    let off = mode == Mode::Off || skipped(&spread.node.directives, self.variables);
                    if off {
                        if std::mem::replace(&mut self.skipped_once[i], true) {
                            continue;
                        }
                    } else if std::mem::replace(&mut visited[i], true) {
                        continue;
                    }
                    let def = self.frags.defs[i].1;
                    let condition = def.node.type_condition.clone();
                    let inner = condition.node.on.node.to_string();
                    let inner_mode = if off { Mode::Off } else { Mode::Live };
                    self.wrap(
                        item.pos,
                        Some(condition),
                        spread.node.directives.clone(),
                        ty,
                        |w, out| {
                            w.collect(&def.node.selection_set.node, Some(&inner), inner_mode, visited, nesting + 1, out)
                        },
                        out,
                    )?;
                }
            }
        }
        Ok(())
    }

    /// Splices `fill`'s selections into `out` when the fragment always
    /// applies there (no directives, no condition or the enclosing type);
    /// else wraps them in an inline fragment that keeps both.
    fn wrap(
        &mut self,
        pos: Pos,
        condition: Option<Positioned<TypeCondition>>,
        directives: Vec<Positioned<async_graphql::parser::types::Directive>>,
        ty: Option<&str>,
        fill: impl FnOnce(&mut Self, &mut Vec<Positioned<Selection>>) -> Result<(), Refusal>,
        out: &mut Vec<Positioned<Selection>>,
    ) -> Result<(), Refusal> {
        let same_type = match &condition {
            None => true,
            Some(c) => ty == Some(c.node.on.node.as_str()),
        };
        if directives.is_empty() && same_type {
            return fill(self, out);
        }
        let mut items = Vec::new();
        fill(self, &mut items)?;
        let inline = InlineFragment {
            type_condition: condition,
            directives,
            selection_set: Positioned::new(SelectionSet { items }, pos),
        };
        out.push(Positioned::new(Selection::InlineFragment(Positioned::new(inline, pos)), pos));
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(q: &str) -> ExecutableDocument {
        async_graphql::parser::parse_query(q).unwrap()
    }

    #[test]
    fn nesting_counts_selections_and_values_apart_and_skips_strings() {
        let deep = |n: usize| format!("{{ a(x: {}1{}) }}", "[".repeat(n), "]".repeat(n));
        assert!(check_document_nesting(&deep(MAX_NESTING)).is_ok());
        assert!(check_document_nesting(&deep(MAX_NESTING + 1)).is_err());
        let sel = |n: usize| format!("{}a{}", "{ a ".repeat(n), " }".repeat(n));
        assert!(check_document_nesting(&sel(MAX_NESTING)).is_ok());
        assert!(check_document_nesting(&sel(MAX_NESTING + 1)).is_err());
        let hidden = format!(
            "{{ a(x: \"{}\") }} # {}\n{{ b(y: \"\"\"{}\"\"\") }}",
            "[".repeat(500),
            "{".repeat(500),
            "(".repeat(500)
        );
        assert!(check_document_nesting(&hidden).is_ok());
        assert!(check_json_nesting(format!("{{\"q\": \"{}\"}}", "[".repeat(500)).as_bytes()).is_ok());
        assert!(check_json_nesting("[".repeat(MAX_NESTING + 1).as_bytes()).is_err());
    }

    fn dag(levels: usize, leaf: &str) -> String {
        let mut q = format!("query Q {{ ...F{levels} }} fragment F0 on Query {{ {leaf} }}");
        for i in 1..=levels {
            q.push_str(&format!(" fragment F{i} on Query {{ ...F{} ...F{} }}", i - 1, i - 1));
        }
        q
    }

    #[test]
    fn a_fragment_dag_costs_each_fragment_once() {
        let cost = analyse(&parse(&dag(26, "__typename"))).unwrap();
        assert_eq!(cost.complexity, 1);
        let cost = analyse(&parse(&dag(26, "me { id }"))).unwrap();
        assert_eq!((cost.complexity, cost.depth), (2, 2));
        let shape = Shape::from_sdl(&crate::graphql::sdl());
        let doc = normalise(&parse(&dag(26, "me { id }")), &shape, &Variables::default()).unwrap();
        let (_, op) = doc.operations.iter().next().unwrap();
        assert_eq!(op.node.selection_set.node.items.len(), 1, "F0 collected once and spliced");
        assert!(doc.fragments.is_empty());
    }

    #[test]
    fn aliases_and_password_fields_count_through_fragments() {
        let q = "mutation { ...L ...L a: login(input: {email: \"a\", password: \"b\"}) { tokenType } } \
                 fragment L on Mutation { b: login(input: {email: \"a\", password: \"b\"}) { t: tokenType } }";
        let cost = analyse(&parse(q)).unwrap();
        assert_eq!((cost.aliases, cost.password_fields), (3, 2));
    }

    #[test]
    fn cycles_unknown_and_unused_fragments_are_refused() {
        let cycle = analyse(&parse("{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }"));
        assert!(matches!(cycle, Err(Refusal::Validation { .. })), "{cycle:?}");
        let unknown = analyse(&parse("{ ...Nope }"));
        assert!(matches!(unknown, Err(Refusal::Validation { .. })));
        let unused = analyse(&parse("{ __typename } fragment U on Query { __typename }"));
        assert!(matches!(unused, Err(Refusal::Validation { .. })));
    }
}
