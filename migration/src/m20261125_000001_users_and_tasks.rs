//! Users and their tasks.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Email,
    PasswordHash,
    Issuer,
    Subject,
    Name,
    TokenVersion,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Tasks {
    Table,
    Id,
    OwnerId,
    Title,
    TitleLower,
    Description,
    DescriptionLower,
    Completed,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Sorting by title compares the lower-cased title byte-wise, which
        // SQLite does by default; PostgreSQL needs the "C" collation to
        // agree with it (and to ignore the server's locale).
        let mut title_lower = ColumnDef::new(Tasks::TitleLower);
        title_lower.string_len(1000).not_null();
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            title_lower.extra("COLLATE \"C\"");
        }

        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(ColumnDef::new(Users::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Users::Email).string_len(254).not_null())
                    .col(ColumnDef::new(Users::PasswordHash).string_len(100).null())
                    .col(ColumnDef::new(Users::Issuer).string_len(2048).null())
                    .col(ColumnDef::new(Users::Subject).string_len(2048).null())
                    .col(ColumnDef::new(Users::Name).string_len(400).null())
                    .col(ColumnDef::new(Users::TokenVersion).integer().not_null().default(0))
                    .col(ColumnDef::new(Users::CreatedAt).big_integer().not_null())
                    .col(ColumnDef::new(Users::UpdatedAt).big_integer().not_null())
                    .to_owned(),
            )
            .await?;
        // Email is unique among password accounts only: an identity from an
        // external issuer may share it without ever being joined to it.
        manager
            .get_connection()
            .execute_unprepared("CREATE UNIQUE INDEX users_email_key ON users (email) WHERE issuer IS NULL")
            .await?;
        // One local user per external identity (password accounts, with
        // NULLs here, never collide).
        manager
            .create_index(
                Index::create()
                    .name("users_issuer_subject_key")
                    .table(Users::Table)
                    .col(Users::Issuer)
                    .col(Users::Subject)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Tasks::Table)
                    .col(ColumnDef::new(Tasks::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Tasks::OwnerId).uuid().not_null())
                    .col(ColumnDef::new(Tasks::Title).string_len(1000).not_null())
                    .col(&mut title_lower)
                    .col(ColumnDef::new(Tasks::Description).text().null())
                    .col(ColumnDef::new(Tasks::DescriptionLower).text().null())
                    .col(ColumnDef::new(Tasks::Completed).boolean().not_null().default(false))
                    .col(ColumnDef::new(Tasks::CreatedAt).big_integer().not_null())
                    .col(ColumnDef::new(Tasks::UpdatedAt).big_integer().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("tasks_owner_id_fkey")
                            .from(Tasks::Table, Tasks::OwnerId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade)
                            .on_update(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        // One index per sort order, each led by the owner so a page is one
        // range scan: (owner, key, id) serves both directions.
        for (name, key) in [
            ("tasks_owner_created_idx", Tasks::CreatedAt),
            ("tasks_owner_updated_idx", Tasks::UpdatedAt),
            ("tasks_owner_title_idx", Tasks::TitleLower),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Tasks::Table)
                        .col(Tasks::OwnerId)
                        .col(key)
                        .col(Tasks::Id)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Tasks::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Users::Table).to_owned()).await
    }
}
