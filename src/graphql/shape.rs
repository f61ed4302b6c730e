//! The schema's output shape, read once from its own SDL: which type each
//! field returns. The document guard needs it to splice fragments the way
//! CollectFields does, and the response edge to null errored fields as the
//! specification says (a non-null field's error nulls its nullable parent).

use std::collections::HashMap;

use async_graphql::parser::types::{BaseType, Type, TypeKind, TypeSystemDefinition};

/// The introspection types of the GraphQL specification (§4.2), which no
/// exported SDL prints but every schema serves.
const INTROSPECTION_SDL: &str = r#"
type __Schema { description: String types: [__Type!]! queryType: __Type! mutationType: __Type
  subscriptionType: __Type directives: [__Directive!]! }
type __Type { kind: __TypeKind! name: String description: String specifiedByURL: String
  fields(includeDeprecated: Boolean): [__Field!] interfaces: [__Type!] possibleTypes: [__Type!]
  enumValues(includeDeprecated: Boolean): [__EnumValue!] inputFields(includeDeprecated: Boolean): [__InputValue!]
  ofType: __Type isOneOf: Boolean }
type __Field { name: String! description: String args(includeDeprecated: Boolean): [__InputValue!]!
  type: __Type! isDeprecated: Boolean! deprecationReason: String }
type __InputValue { name: String! description: String type: __Type! defaultValue: String
  isDeprecated: Boolean! deprecationReason: String }
type __EnumValue { name: String! description: String isDeprecated: Boolean! deprecationReason: String }
type __Directive { name: String! description: String locations: [__DirectiveLocation!]!
  args(includeDeprecated: Boolean): [__InputValue!]! isRepeatable: Boolean! }
"#;

/// Field types by object type, and the names of the root types.
#[derive(Debug, Default)]
pub struct Shape {
    fields: HashMap<String, HashMap<String, Type>>,
    pub query: String,
    pub mutation: Option<String>,
    pub subscription: Option<String>,
}

impl Shape {
    /// Reads the object types of `sdl` (the schema's own export) plus the
    /// specification's introspection types. A type the SDL cannot describe
    /// is simply unknown: callers then keep the document as it is written.
    pub fn from_sdl(sdl: &str) -> Self {
        let mut shape = Shape { query: "Query".into(), ..Shape::default() };
        for text in [sdl, INTROSPECTION_SDL] {
            let Ok(document) = async_graphql::parser::parse_schema(text) else {
                tracing::error!("the schema's SDL does not parse; fragments are kept as written");
                continue;
            };
            for definition in document.definitions {
                match definition {
                    TypeSystemDefinition::Type(ty) => {
                        let ty = ty.node;
                        if let TypeKind::Object(object) = ty.kind {
                            let fields = object
                                .fields
                                .into_iter()
                                .map(|f| (f.node.name.node.to_string(), f.node.ty.node))
                                .collect();
                            shape.fields.insert(ty.name.node.to_string(), fields);
                        }
                    }
                    TypeSystemDefinition::Schema(schema) => {
                        let schema = schema.node;
                        if let Some(q) = schema.query {
                            shape.query = q.node.to_string();
                        }
                        shape.mutation = schema.mutation.map(|m| m.node.to_string());
                        shape.subscription = schema.subscription.map(|s| s.node.to_string());
                    }
                    TypeSystemDefinition::Directive(_) => {}
                }
            }
        }
        if let Some(query) = shape.fields.get_mut(&shape.query) {
            query.insert("__schema".into(), named("__Schema", false));
            query.insert("__type".into(), named("__Type", true));
        }
        for (root, name) in [("Mutation", &mut shape.mutation), ("Subscription", &mut shape.subscription)] {
            if name.is_none() && shape.fields.contains_key(root) {
                *name = Some(root.to_owned());
            }
        }
        shape
    }

    /// The declared type of `field` on object type `parent`.
    pub fn field(&self, parent: &str, field: &str) -> Option<&Type> {
        self.fields.get(parent)?.get(field)
    }

    /// Whether `name` is an object type of the schema.
    pub fn is_object(&self, name: &str) -> bool {
        self.fields.contains_key(name)
    }

    /// The root type of an operation.
    pub fn root(&self, ty: async_graphql::parser::types::OperationType) -> Option<&str> {
        use async_graphql::parser::types::OperationType as Op;
        match ty {
            Op::Query => Some(self.query.as_str()),
            Op::Mutation => self.mutation.as_deref(),
            Op::Subscription => self.subscription.as_deref(),
        }
    }
}

/// `__typename`'s type, on every object.
pub fn typename() -> Type {
    named("String", false)
}

fn named(name: &str, nullable: bool) -> Type {
    Type { base: BaseType::Named(async_graphql::Name::new(name)), nullable }
}

/// The named type at the bottom of `ty` (lists and non-null unwrapped).
pub fn innermost(ty: &Type) -> &str {
    match &ty.base {
        BaseType::Named(name) => name.as_str(),
        BaseType::List(inner) => innermost(inner),
    }
}
