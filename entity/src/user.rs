//! A person: a password account (`issuer` is `None`), or an identity from
//! an external issuer, made on first sight of its token.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Trimmed, NFKC-normalised, lower-cased: unique among password accounts.
    pub email: String,
    /// bcrypt hash; never leaves the server. `None` for external identities.
    pub password_hash: Option<String>,
    /// `iss` of the external identity provider; `None` for password accounts.
    pub issuer: Option<String>,
    /// `sub` at that issuer; unique together with `issuer`.
    pub subject: Option<String>,
    pub name: Option<String>,
    /// Bumped by logout, password change and account deletion; refresh
    /// tokens carry it, so older ones stop working.
    pub token_version: i32,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::task::Entity")]
    Task,
}

impl Related<super::task::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Task.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
