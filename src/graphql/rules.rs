//! The rule of every field (CONTRACT §10), as async-graphql guards: public,
//! signed in, or scopes. Each field (or its type, as the default for its
//! fields) names its rule with `guard = "…"` and prints the same rule in
//! the SDL with Apollo's directives (`@authenticated`,
//! `@requiresScopes`); `tests/api/rules.rs` walks the schema to hold every
//! field to exactly one rule and asks each as every kind of caller.

#![allow(non_snake_case)] // the directives' GraphQL names

use async_graphql::{Context, Guard, TypeDirective};

use super::error::{forbidden, to_graphql, unauthenticated};
use crate::auth::{Caller, Principal, Scope, Scopes};
use crate::service::ServiceError;

/// `tasks:read`: `task`, `tasks`, `taskEvents`.
pub const TASKS_READ: &[&[Scope]] = &[&[Scope::TasksRead]];
/// `tasks:write`: the task mutations.
pub const TASKS_WRITE: &[&[Scope]] = &[&[Scope::TasksWrite]];
/// `profile:read`: `User.email`, `User.name`.
pub const PROFILE_READ: &[&[Scope]] = &[&[Scope::ProfileRead]];
/// `account`: logout, password, deletion, API tokens.
pub const ACCOUNT: &[&[Scope]] = &[&[Scope::Account]];

/// A field's rule: who may resolve it.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    kind: Kind,
    /// The rights it is read with, when not the caller's (a `User` inside
    /// an `AuthPayload` is read with that payload's session).
    rights: Option<Scopes>,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Public,
    SignedIn,
    /// Every scope of at least one inner list (outer: any of; inner: all of).
    Scopes(&'static [&'static [Scope]]),
}

/// Anyone.
pub const fn public() -> Rule {
    Rule { kind: Kind::Public, rights: None }
}

/// Any caller with a usable token.
pub const fn signed_in() -> Rule {
    Rule { kind: Kind::SignedIn, rights: None }
}

/// A caller holding every scope of one of `any_of`.
pub const fn scopes(any_of: &'static [&'static [Scope]]) -> Rule {
    Rule { kind: Kind::Scopes(any_of), rights: None }
}

impl Rule {
    /// The same rule, checked against `rights` instead of the caller's
    /// scopes when they are given.
    pub const fn within(self, rights: Option<Scopes>) -> Rule {
        Rule { rights, ..self }
    }
}

impl Guard for Rule {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        let any_of = match self.kind {
            Kind::Public => return Ok(()),
            Kind::SignedIn => &[][..],
            Kind::Scopes(any_of) => any_of,
        };
        let held = match (self.rights, ctx.data_opt::<Caller>()) {
            (Some(rights), _) => rights,
            (None, Some(Caller::User(p))) => p.scopes,
            (None, _) => {
                super::security_event(ctx, super::Refusal::NoToken, "guarded field asked anonymously");
                return Err(unauthenticated(AUTH_REQUIRED));
            }
        };
        if any_of.is_empty() || any_of.iter().any(|all| held.contains_all(all)) {
            return Ok(());
        }
        super::security_event(ctx, super::Refusal::InsufficientScope, "field refused to a token without its scope");
        Err(forbidden(any_of))
    }
}

/// The message of a guarded field asked anonymously.
pub const AUTH_REQUIRED: &str = "Authentication required";

/// The caller of a field whose rule let it through.
pub fn viewer<'a>(ctx: &'a Context<'_>) -> async_graphql::Result<&'a Principal> {
    match ctx.data_opt::<Caller>() {
        Some(Caller::User(p)) => Ok(p),
        _ => Err(to_graphql(ServiceError::Unauthenticated)),
    }
}

/// The field (or every field of the type) needs a signed-in caller: any
/// usable token (Apollo's `@authenticated`).
#[TypeDirective(location = "FieldDefinition", location = "Object")]
pub fn authenticated() {}

/// The field needs a token holding every scope of at least one inner list
/// (Apollo's `@requiresScopes`); anonymous callers get `UNAUTHENTICATED`,
/// others `FORBIDDEN` with `extensions.requiredScopes`.
#[TypeDirective(location = "FieldDefinition", location = "Object")]
pub fn requiresScopes(scopes: Vec<Vec<String>>) {}

/// A scope rule as `@requiresScopes`'s argument.
pub fn names(any_of: &[&[Scope]]) -> Vec<Vec<String>> {
    any_of.iter().map(|all| all.iter().map(|s| s.as_str().to_owned()).collect()).collect()
}
