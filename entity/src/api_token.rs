//! An API token: a user's personal access token for scripts. Only the
//! SHA-256 of its secret is kept; the secret is shown once, at creation.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_tokens")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    /// 1 to 100 characters, trimmed.
    pub name: String,
    /// Hex SHA-256 of the secret; unique.
    pub token_hash: String,
    /// Space-separated scopes it holds (never `account`).
    pub scopes: String,
    pub created_at: i64,
    pub expires_at: i64,
    /// Written at most once a minute.
    pub last_used_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::UserId",
        to = "super::user::Column::Id",
        on_delete = "Cascade"
    )]
    User,
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
