//! A todo item, always owned by exactly one user.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tasks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub owner_id: Uuid,
    /// Stored trimmed.
    pub title: String,
    /// `title` lower-cased in Rust (Unicode-aware), so sorting and search
    /// agree on SQLite and PostgreSQL; compared byte-wise (`COLLATE "C"` on
    /// PostgreSQL, SQLite's BINARY).
    pub title_lower: String,
    pub description: Option<String>,
    /// `description` lower-cased in Rust, for search.
    pub description_lower: Option<String>,
    pub completed: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::OwnerId",
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
