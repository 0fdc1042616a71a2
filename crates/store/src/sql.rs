//! The store's SQL, written once for both backends: [`SqlStore`] runs every statement over
//! sqlx, generic over a [`Backend`], the small seam where SQLite and PostgreSQL really differ
//! (how a transaction that reads then writes is serialised, how change-feed rows are announced
//! and noticed, where spent `jti`s go, and a few statements in each one's dialect). The
//! statements use `$N` parameters, which both databases accept.
//!
//! Every store call is a span (target `tessera_spans`, named `store.METHOD`) that only traces
//! see (`serve --otlp-endpoint`; `server::telemetry`).
//!
//! Every mutation takes the audit event that describes it and commits the change, its audit
//! entry and its change-feed row in one transaction.

use async_trait::async_trait;
use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Pool, Row as _, Transaction, Type};
use tessera_core::audit::{AuditAction, AuditEvent};
use tessera_core::authorize::CodeChallenge;
use tessera_core::code::IssuedCode;
use tessera_core::device::{DeviceAuthorization, DeviceStatus};
use tessera_core::model::{
    Client, ClientId, ClientKeys, ClientStatus, GrantType, Org, OrgId, PersonId, Pkce, Role, ScopeDef, TokenEndpointAuthMethod, User,
    UserId,
};
use tessera_core::par::PushedRequest;
use tessera_core::refresh::{RefreshRecord, RefreshState};
use tessera_core::scope::ScopeSet;

use crate::migration::Dialect;
use crate::{
    AccountTokenPurpose, AccountTokenRecord, ApprovalRecord, ApprovalRequestRecord, AuditQuery, AuditRecord, Change, ChangeStamp,
    ClientRecord, CodeRecord, CodeRedemption, DeviceApproval, Entity, GrantRecord, IdentityProviderRecord, ImportBatch, Invitation,
    KeyRecord, KeyRotation, KeyState, LoginChallenge, PasskeyRecord, PasswordChange, PreviousSecret, RefreshLookup, Refusals, Result,
    SecretMaterial, SessionRecord, Store, StoreError, TotpFactor, WebauthnCeremony,
};

/// A transaction that reads and then writes, run one at a time with every other of its kind.
#[derive(Debug, Clone, Copy)]
pub enum Serialised<'a> {
    /// A signing-key rotation.
    Keys,
    /// Merging a user's consent to a client.
    Consent { user: &'a str, client: &'a str },
    /// Renumbering the store's recorded migrations.
    Migrations,
    /// Making a user's single-use links of one purpose (counted against a limit).
    AccountTokens { user: &'a str, purpose: &'a str },
}

/// What kind of one-time id is spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spent {
    /// A DPoP proof's `jti`, per key thumbprint.
    DpopProof,
    /// A client assertion's `jti`, per client.
    ClientAssertion,
}

/// The number of rows a statement touched (sqlx has no trait for it).
pub trait RowsAffected {
    fn rows_affected(&self) -> u64;
}

impl RowsAffected for sqlx::sqlite::SqliteQueryResult {
    fn rows_affected(&self) -> u64 {
        self.rows_affected()
    }
}

impl RowsAffected for sqlx::postgres::PgQueryResult {
    fn rows_affected(&self) -> u64 {
        self.rows_affected()
    }
}

/// Where SQLite and PostgreSQL differ. Everything else is in [`SqlStore`]. Public only in name
/// (this module is private): no other crate implements it.
#[async_trait]
pub trait Backend: Send + Sync + 'static {
    type Db: Database<QueryResult: RowsAffected>;
    /// Which migration files it runs.
    const DIALECT: Dialect;
    /// Whether the store has recorded any migration yet (a boolean row).
    const MIGRATIONS_RECORDED: &'static str;
    /// The condition that a user's email is `$1`, whatever its case.
    const EMAIL_IS: &'static str;
    /// The condition that an invitation's email is `$4`, whatever its case.
    const INVITED_EMAIL_IS_4: &'static str;
    /// One row (`1`) when an ON client lists `$1` among its allowed origins.
    const ORIGIN_REGISTERED: &'static str;
    /// A statement that answers a row when the migrations just run broke a rule the store's
    /// own pool would have enforced (see [`Backend::migration_pool`]).
    const MIGRATIONS_BROKE_A_RULE: Option<&'static str> = None;

    /// Begins a transaction that waits for every other one of the same `kind` (it reads, then
    /// writes what it read).
    async fn begin_serialised<'p>(&self, pool: &'p Pool<Self::Db>, kind: Serialised<'_>) -> Result<Transaction<'p, Self::Db>>;
    /// Begins a read-only transaction whose statements all see one snapshot.
    async fn begin_snapshot<'p>(&self, pool: &'p Pool<Self::Db>) -> Result<Transaction<'p, Self::Db>>;
    /// Runs in a transaction right before it appends change-feed rows.
    async fn before_feed_rows(&self, tx: &mut Transaction<'_, Self::Db>) -> Result<()>;
    /// Runs after a commit; `fed` says whether it appended change-feed rows.
    fn committed(&self, fed: bool);
    /// See [`Store::change_stamp`].
    fn change_stamp(&self) -> Option<ChangeStamp>;
    /// See [`Store::follow_changes`].
    fn follow_changes(&self) {}
    /// A pool of its own for the migrations, when they need other connection settings than
    /// the store's pool (SQLite: foreign keys off); closed once they ran. `None`: the store's.
    async fn migration_pool(&self, _pool: &Pool<Self::Db>) -> Result<Option<Pool<Self::Db>>> {
        Ok(None)
    }

    /// Held while this process migrates, so processes starting together on one store migrate
    /// one after the other. `None`: the database serialises them itself (PostgreSQL: sqlx's
    /// advisory lock).
    async fn migration_lock(&self) -> Result<Option<std::fs::File>> {
        Ok(None)
    }

    /// Waits (boundedly) until every running node has seen the changes this process committed,
    /// so that a node's very next request applies them (called by [`SqlStore::commit`] after a
    /// commit that writes a feed row). Only PostgreSQL has something to wait for: on SQLite a
    /// commit moves every process's stamp at once.
    async fn settle(&self, _pool: &Pool<Self::Db>) -> Result<()> {
        Ok(())
    }
    /// Records a one-time id as spent until `expires_at`: false when it was already.
    async fn spend(&self, pool: &Pool<Self::Db>, kind: Spent, key: &str, jti: &str, expires_at: i64) -> Result<bool>;
    /// Purges spent ids that expired before `before` (and the backend's own leftovers), inside
    /// the purge's transaction.
    async fn purge_spent(&self, tx: &mut Transaction<'_, Self::Db>, before: i64) -> Result<()>;
}

/// A row of the backend's database.
type Row<B> = <<B as Backend>::Db as Database>::Row;

/// How long `/readyz` waits for the database.
const PING_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

const SESSION_COLUMNS: &str = "user_id, auth_time, created_at, last_seen_at, expires_at, ip, user_agent, amr";

/// Authentication method references as stored (space-separated; NULL: none recorded).
fn methods(stored: Option<String>) -> Vec<String> {
    stored.map(|s| s.split(' ').filter(|m| !m.is_empty()).map(str::to_owned).collect()).unwrap_or_default()
}
/// A user is a person's membership of one organization: the membership's columns and the
/// person's email, read through [`USERS`].
const USER_COLUMNS: &str = "u.id, u.org_id, u.person_id, p.email, u.role, u.service, u.authorize_applications, u.disabled, \
     u.created_at, u.tokens_not_before, p.email_verified_at";
/// Of a person's memberships, the one signing in and other person-wide lookups by email take:
/// an enabled one first, then the one the person was made with (it carries their id), then the
/// oldest (created in the same second: by id, so always the same one).
const PREFERRED_MEMBERSHIP: &str = "ORDER BY u.service, u.disabled, u.id <> u.person_id, u.created_at, u.id LIMIT 1";
/// Every membership of the person of user `$1`.
const MEMBERSHIPS_OF_PERSON_OF_1: &str = "(SELECT id FROM users WHERE person_id = (SELECT person_id FROM users WHERE id = $1))";
const INVITATION_COLUMNS: &str =
    "id, org_id, email, role, authorize_applications, member_id, invited_by, created_at, expires_at, accepted_at";
/// Users with their person (`u`, `p`).
const USERS: &str = "users u JOIN people p ON p.id = u.person_id";
/// The person of the user `$n` (second factors and passwords are the person's).
fn person_of(n: u8) -> String {
    format!("(SELECT person_id FROM users WHERE id = ${n})")
}

const PROVIDER_COLUMNS: &str = "id, org_id, name, issuer, client_id, client_secret_sealed, default_role, created_at, updated_at";

const PASSKEY_COLUMNS: &str = "id, person_id, credential_id, name, credential, created_at, last_used_at";

const CLIENT_COLUMNS: &str = "id, org_id, name, owner_id, run_as_id, public, grants, scopes, redirect_uris, allowed_origins, \
     allowed_ips, access_token_ttl, requires_org_approval, status, secret_tag, secret_sealed, created_at, \
     require_pushed_authorization_requests, token_endpoint_auth_method, jwks, jwks_uri, resources, dpop_bound_access_tokens, pkce, \
     tokens_not_before";
/// Read with a client's columns, never written with them: set by a secret roll only.
const PREVIOUS_SECRET_COLUMNS: &str = "previous_secret_tag, previous_secret_expires_at";

const GRANT_COLUMNS: &str = "g.id AS grant_id, g.client_id, g.user_id, g.scope, g.auth_time, g.created_at AS grant_created_at, g.expires_at, g.revoked_at, g.resources AS grant_resources, g.amr AS grant_amr, g.parent_id AS grant_parent_id";

const DEVICE_COLUMNS: &str = "client_id, scope, created_at, expires_at, poll_interval, last_polled_at, status, user_id, auth_time, amr";

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_owned())
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "[]".into())
}

/// The store over one backend.
pub struct SqlStore<B: Backend> {
    pub(crate) pool: Pool<B::Db>,
    pub(crate) backend: B,
}

impl<B: Backend> std::fmt::Debug for SqlStore<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore").field("backend", &std::any::type_name::<B>()).finish_non_exhaustive()
    }
}

impl<B: Backend> SqlStore<B>
where
    for<'c> &'c mut <B::Db as Database>::Connection: Executor<'c, Database = B::Db>,
    for<'q> <B::Db as Database>::Arguments<'q>: IntoArguments<'q, B::Db>,
    for<'q> &'q str: Encode<'q, B::Db> + Type<B::Db>,
    for<'q> &'q [u8]: Encode<'q, B::Db> + Type<B::Db>,
    for<'q> String: Encode<'q, B::Db> + Decode<'q, B::Db> + Type<B::Db>,
    for<'q> Vec<u8>: Encode<'q, B::Db> + Decode<'q, B::Db> + Type<B::Db>,
    for<'q> i64: Encode<'q, B::Db> + Decode<'q, B::Db> + Type<B::Db>,
    for<'q> i32: Encode<'q, B::Db> + Decode<'q, B::Db> + Type<B::Db>,
    for<'q> bool: Encode<'q, B::Db> + Decode<'q, B::Db> + Type<B::Db>,
    for<'q> Option<&'q str>: Encode<'q, B::Db>,
    for<'q> Option<String>: Encode<'q, B::Db>,
    for<'q> Option<Vec<u8>>: Encode<'q, B::Db>,
    for<'q> Option<i64>: Encode<'q, B::Db>,
    for<'a> &'a str: ColumnIndex<Row<B>>,
    usize: ColumnIndex<Row<B>>,
    <B::Db as Database>::Connection: sqlx::migrate::Migrate,
{
    /// Whether every migration this binary knows has been applied to the store.
    pub async fn schema_current(&self) -> Result<bool> {
        let applied: Option<i64> =
            sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success").fetch_one(&self.pool).await.unwrap_or(None);
        Ok(applied >= crate::migration::newest(&crate::migration::migrations(B::DIALECT)))
    }

    /// Moves the versions a store recorded under the backends' earlier, separate numbering to
    /// the shared history's, so that sqlx finds every applied migration under its number. One
    /// transaction, serialised with every other process doing the same.
    async fn renumber_migrations(&self, migrations: &[crate::migration::Embedded]) -> Result<()> {
        let mut tx = self.backend.begin_serialised(&self.pool, Serialised::Migrations).await?;
        let recorded: bool = sqlx::query_scalar(B::MIGRATIONS_RECORDED).fetch_one(&mut *tx).await?;
        if !recorded {
            return Ok(());
        }
        let rows: Vec<(i64, Vec<u8>)> = sqlx::query_as("SELECT version, checksum FROM _sqlx_migrations").fetch_all(&mut *tx).await?;
        let moves = crate::migration::renumbering(migrations, &rows);
        if moves.is_empty() {
            return Ok(());
        }
        // Out of each other's way first: the numbers being vacated and taken overlap.
        for (from, _) in &moves {
            sqlx::query("UPDATE _sqlx_migrations SET version = $1 WHERE version = $2").bind(-from).bind(from).execute(&mut *tx).await?;
        }
        for (from, to) in &moves {
            sqlx::query("UPDATE _sqlx_migrations SET version = $1 WHERE version = $2").bind(to).bind(-from).execute(&mut *tx).await?;
        }
        self.commit(tx, false).await?;
        tracing::info!(?moves, "the store's migrations now carry the numbers of the shared history");
        Ok(())
    }

    async fn begin(&self) -> Result<Transaction<'_, B::Db>> {
        Ok(self.pool.begin().await?)
    }

    /// Commits; `fed` says whether the transaction appended change-feed rows.
    async fn commit(&self, tx: Transaction<'_, B::Db>, fed: bool) -> Result<()> {
        tx.commit().await?;
        self.backend.committed(fed);
        if fed {
            // A change in the feed (a revocation, a client turned OFF) holds on every node from
            // its very next request: wait, boundedly, until every running node has heard of it.
            // Nothing to wait for on SQLite, where a commit moves every process's stamp at once.
            self.backend.settle(&self.pool).await?;
        }
        Ok(())
    }

    /// Ends a transaction that changed one row of a cached entity: when the row was there, its
    /// audit entry and change-feed row join the same commit; when not, nothing is written.
    async fn commit_change(
        &self,
        mut tx: Transaction<'_, B::Db>,
        found: bool,
        entity: Entity,
        id: &str,
        audit: &AuditEvent,
    ) -> Result<bool> {
        if found {
            Self::insert_audit(&mut *tx, audit).await?;
            self.record_change(&mut tx, entity, id, audit.at).await?;
        }
        self.commit(tx, found).await?;
        Ok(found)
    }

    /// Commits a change to a person (email, password): every membership of theirs is in the
    /// change feed, so that no cache keeps an old copy of any.
    async fn commit_person_change(&self, mut tx: Transaction<'_, B::Db>, user: &UserId, audit: &AuditEvent) -> Result<bool> {
        Self::insert_audit(&mut *tx, audit).await?;
        let memberships: Vec<String> = sqlx::query_scalar(&format!("SELECT id FROM users WHERE id IN {MEMBERSHIPS_OF_PERSON_OF_1}"))
            .bind(user.as_str())
            .fetch_all(&mut *tx)
            .await?;
        for id in &memberships {
            self.record_change(&mut tx, Entity::User, id, audit.at).await?;
        }
        self.commit(tx, true).await?;
        Ok(true)
    }

    /// Appends a change-feed row.
    async fn record_change(&self, tx: &mut Transaction<'_, B::Db>, entity: Entity, id: &str, at: i64) -> Result<()> {
        self.backend.before_feed_rows(tx).await?;
        sqlx::query("INSERT INTO changes (entity, entity_id, at) VALUES ($1, $2, $3)")
            .bind(entity.as_str())
            .bind(id)
            .bind(at)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// The row of a new client, inside the caller's transaction.
    /// The columns `update_client` writes (everything but the id, organization, owner, kind,
    /// authentication method, secret and status); whether the client was there.
    async fn update_client_row(tx: &mut Transaction<'_, B::Db>, c: &Client, at: i64) -> Result<bool> {
        let found = sqlx::query(
            "UPDATE clients SET name = $1, run_as_id = $2, redirect_uris = $3, allowed_origins = $4, allowed_ips = $5, \
             access_token_ttl = $6, requires_org_approval = $7, require_pushed_authorization_requests = $10, jwks = $11, jwks_uri = $12, resources = $13, \
             dpop_bound_access_tokens = $14, grants = $15, scopes = $16, pkce = $17, tokens_not_before = $18, updated_at = $8 WHERE id = $9",
        )
        .bind(&c.name)
        .bind(c.run_as.as_str())
        .bind(to_json(&c.redirect_uris))
        .bind(to_json(&c.allowed_origins))
        .bind(to_json(&c.allowed_ips))
        .bind(c.access_token_ttl.map(i64::from))
        .bind(c.requires_org_approval)
        .bind(at)
        .bind(c.id.as_str())
        .bind(c.require_pushed_authorization_requests)
        .bind(ClientKeys::jwks(c.keys.as_ref()))
        .bind(ClientKeys::jwks_uri(c.keys.as_ref()))
        .bind(to_json(&c.resources))
        .bind(c.dpop_bound_access_tokens)
        .bind(c.grants.iter().map(|g| g.as_str()).collect::<Vec<_>>().join(" "))
        .bind(c.scopes.to_string())
        .bind(c.pkce.as_str())
        .bind(c.tokens_not_before)
        .execute(&mut **tx)
        .await?
        .rows_affected()
            == 1;
        Ok(found)
    }

    async fn insert_client_row(tx: &mut Transaction<'_, B::Db>, record: &ClientRecord) -> Result<()> {
        let c = &record.client;
        let grants: Vec<&str> = c.grants.iter().map(|g| g.as_str()).collect();
        sqlx::query(&format!(
            "INSERT INTO clients ({CLIENT_COLUMNS}, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $17)"
        ))
        .bind(c.id.as_str())
        .bind(c.org_id.as_str())
        .bind(&c.name)
        .bind(c.owner.as_str())
        .bind(c.run_as.as_str())
        .bind(c.public)
        .bind(grants.join(" "))
        .bind(c.scopes.to_string())
        .bind(to_json(&c.redirect_uris))
        .bind(to_json(&c.allowed_origins))
        .bind(to_json(&c.allowed_ips))
        .bind(c.access_token_ttl.map(i64::from))
        .bind(c.requires_org_approval)
        .bind(c.status.as_str())
        .bind(record.secret.as_ref().map(|s| s.tag.clone()))
        .bind(record.secret.as_ref().map(|s| s.sealed.clone()))
        .bind(c.created_at)
        .bind(c.require_pushed_authorization_requests)
        .bind(c.auth_method.as_str())
        .bind(ClientKeys::jwks(c.keys.as_ref()))
        .bind(ClientKeys::jwks_uri(c.keys.as_ref()))
        .bind(to_json(&c.resources))
        .bind(c.dpop_bound_access_tokens)
        .bind(c.pkce.as_str())
        .bind(c.tokens_not_before)
        .execute(&mut **tx)
        .await
        ?;
        Ok(())
    }

    async fn insert_audit<'e, E: sqlx::Executor<'e, Database = B::Db>>(executor: E, audit: &AuditEvent) -> Result<()> {
        sqlx::query("INSERT INTO audit_log (at, org_id, actor, action, target, ip, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(audit.at)
            .bind(&audit.org_id)
            .bind(&audit.actor)
            .bind(audit.action.as_str())
            .bind(&audit.target)
            .bind(&audit.ip)
            .bind(audit.detail.to_string())
            .execute(executor)
            .await?;
        Ok(())
    }

    async fn insert_provider_domains(tx: &mut Transaction<'_, B::Db>, provider: &IdentityProviderRecord) -> Result<()> {
        for domain in &provider.email_domains {
            sqlx::query("INSERT INTO identity_provider_domains (domain, provider_id) VALUES ($1, $2)")
                .bind(domain)
                .bind(&provider.id)
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    async fn provider_from_row(&self, row: &Row<B>) -> Result<IdentityProviderRecord> {
        let id: String = row.try_get("id")?;
        let email_domains: Vec<String> =
            sqlx::query_scalar("SELECT domain FROM identity_provider_domains WHERE provider_id = $1 ORDER BY domain")
                .bind(&id)
                .fetch_all(&self.pool)
                .await?;
        let role: String = row.try_get("default_role")?;
        Ok(IdentityProviderRecord {
            org_id: OrgId::new(row.try_get::<String, _>("org_id")?),
            name: row.try_get("name")?,
            issuer: row.try_get("issuer")?,
            client_id: row.try_get("client_id")?,
            client_secret_sealed: row.try_get("client_secret_sealed")?,
            email_domains,
            default_role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("identity provider {id}: role {role:?}")))?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
            id,
        })
    }

    fn org_from_row(row: &Row<B>) -> Result<Org> {
        Ok(Org {
            id: OrgId::new(row.try_get::<String, _>("id")?),
            name: row.try_get("name")?,
            created_at: row.try_get("created_at")?,
            require_mfa: row.try_get("require_mfa")?,
            require_sso: row.try_get("require_sso")?,
        })
    }

    fn user_from_row(row: &Row<B>) -> Result<User> {
        let role: String = row.try_get("role")?;
        Ok(User {
            id: UserId::new(row.try_get::<String, _>("id")?),
            org_id: OrgId::new(row.try_get::<String, _>("org_id")?),
            person_id: PersonId::new(row.try_get::<String, _>("person_id")?),
            email: row.try_get("email")?,
            role: Role::parse(&role).ok_or_else(|| corrupt("user role"))?,
            service: row.try_get("service")?,
            authorize_applications: row.try_get("authorize_applications")?,
            disabled: row.try_get("disabled")?,
            created_at: row.try_get("created_at")?,
            tokens_not_before: row.try_get("tokens_not_before")?,
            email_verified_at: row.try_get("email_verified_at")?,
        })
    }

    fn invitation_from_row(row: &Row<B>) -> Result<Invitation> {
        let role: String = row.try_get("role")?;
        Ok(Invitation {
            id: row.try_get("id")?,
            org_id: OrgId::new(row.try_get::<String, _>("org_id")?),
            email: row.try_get("email")?,
            role: Role::parse(&role).ok_or_else(|| corrupt("invitation role"))?,
            authorize_applications: row.try_get("authorize_applications")?,
            member_id: row.try_get::<Option<String>, _>("member_id")?.map(UserId::new),
            invited_by: row.try_get("invited_by")?,
            created_at: row.try_get("created_at")?,
            expires_at: row.try_get("expires_at")?,
            accepted_at: row.try_get("accepted_at")?,
        })
    }

    fn passkey_from_row(row: &Row<B>) -> Result<PasskeyRecord> {
        Ok(PasskeyRecord {
            id: row.try_get("id")?,
            person_id: PersonId::new(row.try_get::<String, _>("person_id")?),
            credential_id: row.try_get("credential_id")?,
            name: row.try_get("name")?,
            credential: row.try_get("credential")?,
            created_at: row.try_get("created_at")?,
            last_used_at: row.try_get("last_used_at")?,
        })
    }

    /// Recovery codes stand in for a second factor: they go when `user`'s person has none left
    /// (no confirmed authenticator app, no passkey), inside `tx`.
    async fn drop_recovery_codes_without_factor(tx: &mut Transaction<'_, B::Db>, user: &UserId) -> Result<()> {
        let person = person_of(1);
        sqlx::query(&format!(
            "DELETE FROM recovery_codes WHERE person_id = {person} \
             AND NOT EXISTS (SELECT 1 FROM passkeys WHERE person_id = {person}) \
             AND NOT EXISTS (SELECT 1 FROM totp_factors WHERE person_id = {person} AND confirmed_at IS NOT NULL)"
        ))
        .bind(user.as_str())
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    fn session_from_row(row: &Row<B>) -> Result<SessionRecord> {
        Ok(SessionRecord {
            user_id: UserId::new(row.try_get::<String, _>("user_id")?),
            auth_time: row.try_get("auth_time")?,
            created_at: row.try_get("created_at")?,
            last_seen_at: row.try_get("last_seen_at")?,
            expires_at: row.try_get("expires_at")?,
            ip: row.try_get("ip")?,
            user_agent: row.try_get("user_agent")?,
            amr: methods(row.try_get("amr")?),
        })
    }

    /// Adds the membership `user`, joining the person who has its email, or making one (under
    /// the user's id, with `password_hash`) when nobody has it. Returns the person's id.
    async fn insert_membership(tx: &mut Transaction<'_, B::Db>, user: &User, password_hash: Option<&str>) -> Result<String> {
        let person: Option<String> = sqlx::query_scalar(&format!("SELECT p.id FROM people p WHERE {}", B::EMAIL_IS))
            .bind(&user.email)
            .fetch_optional(&mut **tx)
            .await?;
        let person = match person {
            Some(person) => {
                // Joining a person keeps their credentials: a password given for them, a
                // service user (which has none) or a person who is one are refused, so that
                // nobody but the person decides how they sign in.
                let shares_with_service: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE person_id = $1 AND service)")
                    .bind(&person)
                    .fetch_one(&mut **tx)
                    .await?;
                if password_hash.is_some() || user.service || shares_with_service {
                    return Err(StoreError::Conflict("an account uses this email"));
                }
                person
            }
            None => {
                // A new person, under the id of their first membership.
                sqlx::query("INSERT INTO people (id, email, password_hash, email_verified_at, created_at) VALUES ($1, $2, $3, $4, $5)")
                    .bind(user.id.as_str())
                    .bind(&user.email)
                    .bind(password_hash)
                    .bind(user.email_verified_at)
                    .bind(user.created_at)
                    .execute(&mut **tx)
                    .await?;
                user.id.to_string()
            }
        };
        sqlx::query(
            "INSERT INTO users (id, org_id, person_id, role, service, authorize_applications, disabled, created_at) \
             VALUES ($1, $2, $8, $3, $4, $5, $6, $7)",
        )
        .bind(user.id.as_str())
        .bind(user.org_id.as_str())
        .bind(user.role.as_str())
        .bind(user.service)
        .bind(user.authorize_applications)
        .bind(user.disabled)
        .bind(user.created_at)
        .bind(&person)
        .execute(&mut **tx)
        .await?;
        Ok(person)
    }

    /// Ends the sessions of `user`'s person (every membership), all but `keep` when given,
    /// inside `tx`.
    async fn end_sessions(tx: &mut Transaction<'_, B::Db>, user: &UserId, keep: Option<&[u8]>) -> Result<u64> {
        let ended = match keep {
            Some(keep) => {
                sqlx::query(&format!("DELETE FROM sessions WHERE user_id IN {MEMBERSHIPS_OF_PERSON_OF_1} AND id_hash <> $2"))
                    .bind(user.as_str())
                    .bind(keep)
                    .execute(&mut **tx)
                    .await?
            }
            None => {
                sqlx::query(&format!("DELETE FROM sessions WHERE user_id IN {MEMBERSHIPS_OF_PERSON_OF_1}"))
                    .bind(user.as_str())
                    .execute(&mut **tx)
                    .await?
            }
        };
        Ok(ended.rows_affected())
    }

    /// Spends a single-use link of `user` for `purpose` if it is still usable at `now`.
    async fn spend_account_token(
        tx: &mut Transaction<'_, B::Db>,
        token_hash: &[u8],
        user: &UserId,
        purpose: AccountTokenPurpose,
        now: i64,
    ) -> Result<bool> {
        let spent = sqlx::query(
            "UPDATE account_tokens SET spent_at = $1 \
             WHERE token_hash = $2 AND user_id = $3 AND purpose = $4 AND spent_at IS NULL AND expires_at > $1",
        )
        .bind(now)
        .bind(token_hash)
        .bind(user.as_str())
        .bind(purpose.as_str())
        .execute(&mut **tx)
        .await?
        .rows_affected();
        Ok(spent == 1)
    }

    fn json_list<T: serde::de::DeserializeOwned>(row: &Row<B>, column: &str) -> Result<Vec<T>> {
        let text: String = row.try_get(column)?;
        serde_json::from_str(&text).map_err(|_| corrupt(column))
    }

    fn client_from_row(row: &Row<B>) -> Result<ClientRecord> {
        let grants: String = row.try_get("grants")?;
        let grants = grants
            .split(' ')
            .filter(|g| !g.is_empty())
            .map(|g| GrantType::parse(g).ok_or_else(|| corrupt("client grants")))
            .collect::<Result<_>>()?;
        let scopes: String = row.try_get("scopes")?;
        let status: String = row.try_get("status")?;
        let ttl: Option<i64> = row.try_get("access_token_ttl")?;
        let tag: Option<Vec<u8>> = row.try_get("secret_tag")?;
        let sealed: Option<Vec<u8>> = row.try_get("secret_sealed")?;
        let method: String = row.try_get("token_endpoint_auth_method")?;
        let jwks: Option<String> = row.try_get("jwks")?;
        let jwks_uri: Option<String> = row.try_get("jwks_uri")?;
        let pkce: String = row.try_get("pkce")?;
        let client = Client {
            id: ClientId::new(row.try_get::<String, _>("id")?),
            org_id: OrgId::new(row.try_get::<String, _>("org_id")?),
            name: row.try_get("name")?,
            owner: UserId::new(row.try_get::<String, _>("owner_id")?),
            run_as: UserId::new(row.try_get::<String, _>("run_as_id")?),
            grants,
            scopes: ScopeSet::parse(&scopes).map_err(|_| corrupt("client scopes"))?,
            redirect_uris: Self::json_list(row, "redirect_uris")?,
            allowed_origins: Self::json_list(row, "allowed_origins")?,
            allowed_ips: Self::json_list(row, "allowed_ips")?,
            public: row.try_get("public")?,
            pkce: Pkce::parse(&pkce).ok_or_else(|| corrupt("client pkce"))?,
            auth_method: TokenEndpointAuthMethod::parse(&method).ok_or_else(|| corrupt("client auth method"))?,
            keys: ClientKeys::from_parts(jwks, jwks_uri),
            access_token_ttl: ttl.map(|t| u32::try_from(t).map_err(|_| corrupt("client ttl"))).transpose()?,
            requires_org_approval: row.try_get("requires_org_approval")?,
            require_pushed_authorization_requests: row.try_get("require_pushed_authorization_requests")?,
            dpop_bound_access_tokens: row.try_get("dpop_bound_access_tokens")?,
            resources: Self::json_list(row, "resources")?,
            status: ClientStatus::parse(&status).ok_or_else(|| corrupt("client status"))?,
            created_at: row.try_get("created_at")?,
            tokens_not_before: row.try_get("tokens_not_before")?,
        };
        let secret = match (tag, sealed) {
            (Some(tag), Some(sealed)) => Some(SecretMaterial { tag, sealed }),
            _ => None,
        };
        let previous_tag: Option<Vec<u8>> = row.try_get("previous_secret_tag")?;
        let previous_until: Option<i64> = row.try_get("previous_secret_expires_at")?;
        let previous_secret = match (previous_tag, previous_until) {
            (Some(tag), Some(expires_at)) => Some(PreviousSecret { tag, expires_at }),
            _ => None,
        };
        Ok(ClientRecord { client, secret, previous_secret })
    }

    fn key_from_row(row: &Row<B>) -> Result<KeyRecord> {
        let state: String = row.try_get("state")?;
        Ok(KeyRecord {
            kid: row.try_get("kid")?,
            alg: row.try_get("alg")?,
            state: KeyState::parse(&state).ok_or_else(|| corrupt("key state"))?,
            private_sealed: row.try_get("private_sealed")?,
            public_jwk: row.try_get("public_jwk")?,
            created_at: row.try_get("created_at")?,
            activated_at: row.try_get("activated_at")?,
            retired_at: row.try_get("retired_at")?,
        })
    }

    fn grant_from_row(row: &Row<B>) -> Result<GrantRecord> {
        let scope: String = row.try_get("scope")?;
        let revoked_at: Option<i64> = row.try_get("revoked_at")?;
        Ok(GrantRecord {
            id: row.try_get("grant_id")?,
            client_id: ClientId::new(row.try_get::<String, _>("client_id")?),
            user_id: UserId::new(row.try_get::<String, _>("user_id")?),
            scope: ScopeSet::parse(&scope).map_err(|_| corrupt("grant scope"))?,
            auth_time: row.try_get("auth_time")?,
            created_at: row.try_get("grant_created_at")?,
            expires_at: row.try_get("expires_at")?,
            revoked: revoked_at.is_some(),
            resources: Self::json_list(row, "grant_resources")?,
            amr: methods(row.try_get("grant_amr")?),
            parent_id: row.try_get("grant_parent_id")?,
        })
    }

    fn code_from_row(row: &Row<B>) -> Result<CodeRecord> {
        let grant = Self::grant_from_row(row)?;
        let challenge: Option<String> = row.try_get("code_challenge")?;
        let code = IssuedCode {
            client_id: grant.client_id.clone(),
            redirect_uri: row.try_get("redirect_uri")?,
            scope: grant.scope.clone(),
            code_challenge: challenge.map(CodeChallenge::from_stored),
            nonce: row.try_get("nonce")?,
            issued_at: row.try_get("issued_at")?,
        };
        Ok(CodeRecord { grant, code })
    }

    fn device_from_row(row: &Row<B>) -> Result<DeviceAuthorization> {
        let scope: String = row.try_get("scope")?;
        let status: String = row.try_get("status")?;
        let user_id: Option<String> = row.try_get("user_id")?;
        Ok(DeviceAuthorization {
            client_id: ClientId::new(row.try_get::<String, _>("client_id")?),
            scope: ScopeSet::parse(&scope).map_err(|_| corrupt("device scope"))?,
            created_at: row.try_get("created_at")?,
            expires_at: row.try_get("expires_at")?,
            interval: row.try_get("poll_interval")?,
            last_polled_at: row.try_get("last_polled_at")?,
            status: DeviceStatus::parse(&status).ok_or_else(|| corrupt("device status"))?,
            user_id: user_id.map(UserId::new),
            auth_time: row.try_get("auth_time")?,
            amr: methods(row.try_get("amr")?),
        })
    }

    async fn insert_grant_row(tx: &mut Transaction<'_, B::Db>, grant: &GrantRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO grants (id, client_id, user_id, scope, auth_time, created_at, expires_at, revoked_at, resources, amr, parent_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, $9, $10)",
        )
        .bind(&grant.id)
        .bind(grant.client_id.as_str())
        .bind(grant.user_id.as_str())
        .bind(grant.scope.to_string())
        .bind(grant.auth_time)
        .bind(grant.created_at)
        .bind(grant.expires_at)
        .bind(to_json(&grant.resources))
        .bind((!grant.amr.is_empty()).then(|| grant.amr.join(" ")))
        .bind(grant.parent_id.as_deref())
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Revokes grants chosen by `condition` (SQL over `grants`, binding `$2`, `$3`) at `$1`, and
    /// their descendants (`parent_id`). Each grant revoked gets a change-feed row, for the
    /// revocation feed.
    async fn revoke_grants_where(&self, tx: &mut Transaction<'_, B::Db>, condition: &str, now: i64, a: &str, b: &str) -> Result<u64> {
        self.backend.before_feed_rows(tx).await?;
        sqlx::query(&format!(
            "INSERT INTO changes (entity, entity_id, at) SELECT 'grant', id, $1 FROM grants WHERE revoked_at IS NULL AND {condition}"
        ))
        .bind(now)
        .bind(a)
        .bind(b)
        .execute(&mut **tx)
        .await?;
        let revoked = sqlx::query(&format!("UPDATE grants SET revoked_at = $1 WHERE revoked_at IS NULL AND {condition}"))
            .bind(now)
            .bind(a)
            .bind(b)
            .execute(&mut **tx)
            .await?
            .rows_affected();
        if revoked > 0 {
            self.revoke_descendants(tx, now).await?;
        }
        Ok(revoked)
    }

    /// Revokes, at `now`, every live grant whose parent is revoked, generation by generation
    /// (an exchanged token can be exchanged again, up to `exchange::MAX_ACTORS` deep).
    async fn revoke_descendants(&self, tx: &mut Transaction<'_, B::Db>, now: i64) -> Result<()> {
        const ORPHANED: &str = "revoked_at IS NULL AND parent_id IS NOT NULL \
             AND EXISTS (SELECT 1 FROM grants p WHERE p.id = grants.parent_id AND p.revoked_at IS NOT NULL)";
        loop {
            self.backend.before_feed_rows(tx).await?;
            sqlx::query(&format!("INSERT INTO changes (entity, entity_id, at) SELECT 'grant', id, $1 FROM grants WHERE {ORPHANED}"))
                .bind(now)
                .execute(&mut **tx)
                .await?;
            let revoked = sqlx::query(&format!("UPDATE grants SET revoked_at = $1 WHERE {ORPHANED}"))
                .bind(now)
                .execute(&mut **tx)
                .await?
                .rows_affected();
            if revoked == 0 {
                return Ok(());
            }
        }
    }
}

#[async_trait]
impl<B: Backend> Store for SqlStore<B>
where
    for<'c> &'c mut <B::Db as Database>::Connection: Executor<'c, Database = B::Db>,
    for<'q> <B::Db as Database>::Arguments<'q>: IntoArguments<'q, B::Db>,
    for<'q> &'q str: Encode<'q, B::Db> + Type<B::Db>,
    for<'q> &'q [u8]: Encode<'q, B::Db> + Type<B::Db>,
    for<'q> String: Encode<'q, B::Db> + Decode<'q, B::Db> + Type<B::Db>,
    for<'q> Vec<u8>: Encode<'q, B::Db> + Decode<'q, B::Db> + Type<B::Db>,
    for<'q> i64: Encode<'q, B::Db> + Decode<'q, B::Db> + Type<B::Db>,
    for<'q> i32: Encode<'q, B::Db> + Decode<'q, B::Db> + Type<B::Db>,
    for<'q> bool: Encode<'q, B::Db> + Decode<'q, B::Db> + Type<B::Db>,
    for<'q> Option<&'q str>: Encode<'q, B::Db>,
    for<'q> Option<String>: Encode<'q, B::Db>,
    for<'q> Option<Vec<u8>>: Encode<'q, B::Db>,
    for<'q> Option<i64>: Encode<'q, B::Db>,
    for<'a> &'a str: ColumnIndex<Row<B>>,
    usize: ColumnIndex<Row<B>>,
    <B::Db as Database>::Connection: sqlx::migrate::Migrate,
{
    #[tracing::instrument(target = "tessera_spans", name = "store.migrate", skip_all)]
    async fn migrate(&self) -> Result<()> {
        let migrations = crate::migration::migrations(B::DIALECT);
        // Released when dropped, at the end of this function.
        let _migrating = self.backend.migration_lock().await?;
        self.renumber_migrations(&migrations).await?;
        let own = self.backend.migration_pool(&self.pool).await?;
        let pool = own.as_ref().unwrap_or(&self.pool);
        // `locking`: sqlx holds the backend's migration lock while migrating, so processes
        // starting together migrate once.
        let ran =
            crate::migration::migrator(&migrations).run(pool).await.map_err(|e| StoreError::Unavailable(format!("migration failed: {e}")));
        let broken = match B::MIGRATIONS_BROKE_A_RULE {
            Some(check) if ran.is_ok() => sqlx::query(check).fetch_optional(pool).await?.is_some(),
            _ => false,
        };
        if let Some(own) = own {
            own.close().await;
        }
        ran?;
        if broken {
            return Err(StoreError::Unavailable("migration failed: the store breaks a rule after migrating".into()));
        }
        Ok(())
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.ping", skip_all)]
    async fn ping(&self) -> Result<()> {
        // Bounded well below the pool's acquire timeout: a load balancer's health check gets
        // its answer while it still waits for one.
        match tokio::time::timeout(PING_TIMEOUT, sqlx::query("SELECT 1").execute(&self.pool)).await {
            Ok(done) => done.map(drop).map_err(StoreError::from),
            Err(_) => Err(StoreError::Unavailable("the database did not answer in time".into())),
        }
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.meta", skip_all)]
    async fn meta(&self, key: &str) -> Result<Option<String>> {
        sqlx::query_scalar("SELECT value FROM meta WHERE key = $1").bind(key).fetch_optional(&self.pool).await.map_err(StoreError::from)
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.set_meta", skip_all)]
    async fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        sqlx::query("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            .bind(key)
            .bind(value)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.delete_meta", skip_all)]
    async fn delete_meta(&self, key: &str) -> Result<()> {
        sqlx::query("DELETE FROM meta WHERE key = $1").bind(key).execute(&self.pool).await?;
        Ok(())
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.init_meta", skip_all)]
    async fn init_meta(&self, key: &str, value: &str) -> Result<String> {
        sqlx::query("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
            .bind(key)
            .bind(value)
            .execute(&self.pool)
            .await?;
        self.meta(key).await?.ok_or(StoreError::NotFound)
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.insert_org", skip_all)]
    async fn insert_org(&self, org: &Org, audit: &AuditEvent) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query("INSERT INTO orgs (id, name, created_at, require_mfa, require_sso) VALUES ($1, $2, $3, $4, $5)")
            .bind(org.id.as_str())
            .bind(&org.name)
            .bind(org.created_at)
            .bind(org.require_mfa)
            .bind(org.require_sso)
            .execute(&mut *tx)
            .await?;
        self.commit_change(tx, true, Entity::Org, org.id.as_str(), audit).await.map(drop)
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.set_org_sign_in_rules", skip_all)]
    async fn set_org_sign_in_rules(&self, org: &OrgId, require_mfa: bool, require_sso: bool, audit: &AuditEvent) -> Result<bool> {
        let mut tx = self.begin().await?;
        let found = sqlx::query("UPDATE orgs SET require_mfa = $1, require_sso = $2 WHERE id = $3")
            .bind(require_mfa)
            .bind(require_sso)
            .bind(org.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        self.commit_change(tx, found, Entity::Org, org.as_str(), audit).await
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.find_org", skip_all)]
    async fn find_org(&self, id_or_name: &str) -> Result<Option<Org>> {
        let row = sqlx::query(
            "SELECT id, name, created_at, require_mfa, require_sso FROM (SELECT id, name, created_at, require_mfa, require_sso, \
             0 AS preference FROM orgs WHERE id = $1 UNION ALL SELECT id, name, created_at, require_mfa, require_sso, 1 AS preference \
             FROM orgs WHERE name = $1) found ORDER BY preference LIMIT 1",
        )
        .bind(id_or_name)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(Self::org_from_row).transpose()
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.orgs", skip_all)]
    async fn orgs(&self) -> Result<Vec<Org>> {
        let rows = sqlx::query("SELECT id, name, created_at, require_mfa, require_sso FROM orgs ORDER BY created_at, id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(Self::org_from_row).collect()
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.insert_scope", skip_all)]
    async fn insert_scope(&self, org: &OrgId, scope: &ScopeDef, at: i64, audit: &AuditEvent) -> Result<bool> {
        let mut tx = self.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO scopes (org_id, name, restricted, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (org_id, name) DO NOTHING",
        )
        .bind(org.as_str())
        .bind(&scope.name)
        .bind(scope.restricted)
        .bind(at)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if inserted {
            Self::insert_audit(&mut *tx, audit).await?;
            self.record_change(&mut tx, Entity::Scope, org.as_str(), at).await?;
        }
        self.commit(tx, inserted).await?;
        Ok(inserted)
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.scopes", skip_all)]
    async fn scopes(&self, org: &OrgId) -> Result<Vec<ScopeDef>> {
        let rows = sqlx::query("SELECT name, restricted FROM scopes WHERE org_id = $1 ORDER BY name")
            .bind(org.as_str())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|row| Ok(ScopeDef { name: row.try_get("name")?, restricted: row.try_get("restricted")? })).collect()
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.set_scope_restricted", skip_all)]
    async fn set_scope_restricted(
        &self,
        org: &OrgId,
        name: &str,
        restricted: bool,
        members_not_before: Option<i64>,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let found = sqlx::query("UPDATE scopes SET restricted = $1 WHERE org_id = $2 AND name = $3")
            .bind(restricted)
            .bind(org.as_str())
            .bind(name)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        if let Some(cutoff) = members_not_before.filter(|_| found) {
            let members: Vec<String> = sqlx::query_scalar(
                "UPDATE users SET tokens_not_before = $1 \
                 WHERE org_id = $2 AND role = $3 AND (tokens_not_before IS NULL OR tokens_not_before < $1) RETURNING id",
            )
            .bind(cutoff)
            .bind(org.as_str())
            .bind(Role::Member.as_str())
            .fetch_all(&mut *tx)
            .await?;
            for id in &members {
                self.record_change(&mut tx, Entity::User, id, audit.at).await?;
            }
        }
        self.commit_change(tx, found, Entity::Scope, org.as_str(), audit).await
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.insert_user", skip_all)]
    async fn insert_user(&self, user: &User, password_hash: Option<&str>, audit: &AuditEvent) -> Result<()> {
        let mut tx = self.begin().await?;
        Self::insert_membership(&mut tx, user, password_hash).await?;
        self.commit_change(tx, true, Entity::User, user.id.as_str(), audit).await.map(drop)
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.insert_invitation", skip_all)]
    async fn insert_invitation(&self, invitation: &Invitation, token_hash: &[u8], audit: &AuditEvent) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query(&format!(
            "UPDATE invitations SET accepted_at = $1, replaced = $2 WHERE org_id = $3 AND {} AND accepted_at IS NULL",
            B::INVITED_EMAIL_IS_4
        ))
        .bind(invitation.created_at)
        .bind(true)
        .bind(invitation.org_id.as_str())
        .bind(&invitation.email)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO invitations (id, org_id, email, role, token_hash, invited_by, created_at, expires_at, accepted_at, replaced, \
             authorize_applications, member_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, $9, $10, $11)",
        )
        .bind(&invitation.id)
        .bind(invitation.org_id.as_str())
        .bind(&invitation.email)
        .bind(invitation.role.as_str())
        .bind(token_hash)
        .bind(&invitation.invited_by)
        .bind(invitation.created_at)
        .bind(invitation.expires_at)
        .bind(false)
        .bind(invitation.authorize_applications)
        .bind(invitation.member_id.as_ref().map(UserId::as_str))
        .execute(&mut *tx)
        .await?;
        Self::insert_audit(&mut *tx, audit).await?;
        self.commit(tx, false).await
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.invitation", skip_all)]
    async fn invitation(&self, token_hash: &[u8]) -> Result<Option<Invitation>> {
        let row = sqlx::query(&format!("SELECT {INVITATION_COLUMNS} FROM invitations WHERE token_hash = $1"))
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(Self::invitation_from_row).transpose()
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.pending_invitations", skip_all)]
    async fn pending_invitations(&self, org: &OrgId, now: i64) -> Result<Vec<Invitation>> {
        let rows = sqlx::query(&format!(
            "SELECT {INVITATION_COLUMNS} FROM invitations WHERE org_id = $1 AND accepted_at IS NULL AND expires_at > $2 \
             ORDER BY created_at DESC, id"
        ))
        .bind(org.as_str())
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(Self::invitation_from_row).collect()
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.accept_invitation", skip_all)]
    async fn accept_invitation(
        &self,
        token_hash: &[u8],
        user: &User,
        password_hash: Option<&str>,
        now: i64,
        at: i64,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let spent =
            sqlx::query("UPDATE invitations SET accepted_at = $1 WHERE token_hash = $2 AND accepted_at IS NULL AND expires_at > $1")
                .bind(now)
                .bind(token_hash)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
        if !spent {
            return Ok(false);
        }
        Self::insert_membership(&mut tx, user, password_hash).await?;
        // The link reached the person at this email.
        sqlx::query(&format!("UPDATE people SET email_verified_at = COALESCE(email_verified_at, $1) WHERE id = {}", person_of(2)))
            .bind(at)
            .bind(user.id.as_str())
            .execute(&mut *tx)
            .await?;
        self.commit_person_change(tx, &user.id, audit).await
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.user", skip_all)]
    async fn user(&self, id: &UserId) -> Result<Option<User>> {
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM {USERS} WHERE u.id = $1"))
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(Self::user_from_row).transpose()
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.user_count", skip_all)]
    async fn user_count(&self) -> Result<i64> {
        sqlx::query_scalar("SELECT count(*) FROM users").fetch_one(&self.pool).await.map_err(StoreError::from)
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.user_by_email", skip_all)]
    async fn user_by_email(&self, email: &str) -> Result<Option<User>> {
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM {USERS} WHERE {} {PREFERRED_MEMBERSHIP}", B::EMAIL_IS))
            .bind(email)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(Self::user_from_row).transpose()
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.member_by_email", skip_all)]
    async fn member_by_email(&self, org: &OrgId, email: &str) -> Result<Option<User>> {
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM {USERS} WHERE {} AND u.org_id = $2", B::EMAIL_IS))
            .bind(email)
            .bind(org.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(Self::user_from_row).transpose()
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.memberships", skip_all)]
    async fn memberships(&self, person: &PersonId) -> Result<Vec<(User, String)>> {
        let rows = sqlx::query(&format!(
            "SELECT {USER_COLUMNS}, o.name AS org_name FROM {USERS} JOIN orgs o ON o.id = u.org_id WHERE u.person_id = $1 ORDER BY o.name"
        ))
        .bind(person.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|row| Ok((Self::user_from_row(row)?, row.try_get("org_name")?))).collect()
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.preferred_membership", skip_all)]
    async fn preferred_membership(&self, person: &PersonId) -> Result<Option<User>> {
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM {USERS} WHERE u.person_id = $1 {PREFERRED_MEMBERSHIP}"))
            .bind(person.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(Self::user_from_row).transpose()
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.switch_session", skip_all)]
    async fn switch_session(&self, id_hash: &[u8], to: &UserId) -> Result<bool> {
        let switched = sqlx::query(
            "UPDATE sessions SET user_id = $2 WHERE id_hash = $1 \
             AND (SELECT person_id FROM users WHERE id = sessions.user_id) = (SELECT person_id FROM users WHERE id = $2 AND NOT disabled)",
        )
        .bind(id_hash)
        .bind(to.as_str())
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(switched == 1)
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.set_user_disabled", skip_all)]
    async fn set_user_disabled(&self, id: &UserId, disabled: bool, audit: &AuditEvent) -> Result<bool> {
        let mut tx = self.begin().await?;
        let found = sqlx::query("UPDATE users SET disabled = $1 WHERE id = $2")
            .bind(disabled)
            .bind(id.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        if disabled {
            // A disabled user's browser sessions end with it (F08).
            sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id.as_str()).execute(&mut *tx).await?;
        }
        self.commit_change(tx, found, Entity::User, id.as_str(), audit).await
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.users", skip_all)]
    async fn users(&self, org: &OrgId) -> Result<Vec<User>> {
        let rows = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM {USERS} WHERE u.org_id = $1 ORDER BY p.email"))
            .bind(org.as_str())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(Self::user_from_row).collect()
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.update_user", skip_all)]
    async fn update_user(
        &self,
        id: &UserId,
        role: Role,
        authorize_applications: bool,
        tokens_not_before: Option<i64>,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let found = sqlx::query(
            "UPDATE users SET role = $1, authorize_applications = $2, tokens_not_before = COALESCE($4, tokens_not_before) WHERE id = $3",
        )
        .bind(role.as_str())
        .bind(authorize_applications)
        .bind(id.as_str())
        .bind(tokens_not_before)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        self.commit_change(tx, found, Entity::User, id.as_str(), audit).await
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.insert_client", skip_all)]
    async fn insert_client(&self, record: &ClientRecord, audit: &AuditEvent) -> Result<()> {
        let mut tx = self.begin().await?;
        Self::insert_client_row(&mut tx, record).await?;
        self.commit_change(tx, true, Entity::Client, record.client.id.as_str(), audit).await.map(drop)
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.insert_registered_client", skip_all)]
    async fn insert_registered_client(
        &self,
        record: &ClientRecord,
        initial_token_hash: Option<&[u8]>,
        registration_token_hash: &[u8],
        now: i64,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        if let Some(hash) = initial_token_hash {
            let spent = sqlx::query(
                "UPDATE initial_access_tokens SET uses_left = uses_left - 1 \
                 WHERE token_hash = $1 AND (expires_at IS NULL OR expires_at > $2) AND (uses_left IS NULL OR uses_left > 0)",
            )
            .bind(hash)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if spent != 1 {
                return Ok(false);
            }
        }
        Self::insert_client_row(&mut tx, record).await?;
        sqlx::query("INSERT INTO client_registrations (client_id, token_hash) VALUES ($1, $2)")
            .bind(record.client.id.as_str())
            .bind(registration_token_hash)
            .execute(&mut *tx)
            .await?;
        self.commit_change(tx, true, Entity::Client, record.client.id.as_str(), audit).await
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.registration_token_hash", skip_all)]
    async fn registration_token_hash(&self, client: &ClientId) -> Result<Option<Vec<u8>>> {
        sqlx::query_scalar("SELECT token_hash FROM client_registrations WHERE client_id = $1")
            .bind(client.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::from)
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.insert_initial_access_token", skip_all)]
    async fn insert_initial_access_token(
        &self,
        token_hash: &[u8],
        org: &OrgId,
        owner: &UserId,
        expires_at: Option<i64>,
        uses: Option<i64>,
        audit: &AuditEvent,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO initial_access_tokens (token_hash, org_id, owner_id, created_at, expires_at, uses_left) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(token_hash)
        .bind(org.as_str())
        .bind(owner.as_str())
        .bind(audit.at)
        .bind(expires_at)
        .bind(uses)
        .execute(&mut *tx)
        .await
        ?;
        Self::insert_audit(&mut *tx, audit).await?;
        self.commit(tx, false).await
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.initial_access_token", skip_all)]
    async fn initial_access_token(&self, token_hash: &[u8], now: i64) -> Result<Option<(OrgId, UserId)>> {
        let row: Option<(String, String)> = sqlx::query_as(
            "SELECT org_id, owner_id FROM initial_access_tokens \
             WHERE token_hash = $1 AND (expires_at IS NULL OR expires_at > $2) AND (uses_left IS NULL OR uses_left > 0)",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(org, owner)| (OrgId::new(org), UserId::new(owner))))
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.client", skip_all)]
    async fn client(&self, id: &ClientId) -> Result<Option<ClientRecord>> {
        let row = sqlx::query(&format!("SELECT {CLIENT_COLUMNS}, {PREVIOUS_SECRET_COLUMNS} FROM clients WHERE id = $1"))
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(Self::client_from_row).transpose()
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.clients", skip_all)]
    async fn clients(&self, org: Option<&OrgId>) -> Result<Vec<ClientRecord>> {
        let rows = match org {
            Some(org) => {
                sqlx::query(&format!(
                    "SELECT {CLIENT_COLUMNS}, {PREVIOUS_SECRET_COLUMNS} FROM clients WHERE org_id = $1 ORDER BY created_at, id"
                ))
                .bind(org.as_str())
                .fetch_all(&self.pool)
                .await
            }
            None => {
                sqlx::query(&format!("SELECT {CLIENT_COLUMNS}, {PREVIOUS_SECRET_COLUMNS} FROM clients ORDER BY created_at, id"))
                    .fetch_all(&self.pool)
                    .await
            }
        }?;
        rows.iter().map(Self::client_from_row).collect()
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.origin_registered", skip_all)]
    async fn origin_registered(&self, origin: &str) -> Result<bool> {
        let found: Option<i64> = sqlx::query_scalar(B::ORIGIN_REGISTERED).bind(origin).fetch_optional(&self.pool).await?;
        Ok(found.is_some())
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.set_client_status", skip_all)]
    async fn set_client_status(&self, id: &ClientId, status: ClientStatus, audit: &AuditEvent) -> Result<bool> {
        let mut tx = self.begin().await?;
        let found = sqlx::query("UPDATE clients SET status = $1, updated_at = $2 WHERE id = $3")
            .bind(status.as_str())
            .bind(audit.at)
            .bind(id.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        self.commit_change(tx, found, Entity::Client, id.as_str(), audit).await
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.update_client", skip_all)]
    async fn update_client(&self, c: &Client, audit: &AuditEvent) -> Result<bool> {
        let mut tx = self.begin().await?;
        let found = Self::update_client_row(&mut tx, c, audit.at).await?;
        self.commit_change(tx, found, Entity::Client, c.id.as_str(), audit).await
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.import", skip_all)]
    async fn import(&self, batch: &ImportBatch, audit: &AuditEvent) -> Result<()> {
        let mut tx = self.begin().await?;
        let at = audit.at;
        for org in &batch.orgs {
            sqlx::query(
                "INSERT INTO orgs (id, name, created_at, require_mfa) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, require_mfa = excluded.require_mfa",
            )
            .bind(org.id.as_str())
            .bind(&org.name)
            .bind(org.created_at)
            .bind(org.require_mfa)
            .execute(&mut *tx)
            .await?;
            self.record_change(&mut tx, Entity::Org, org.id.as_str(), at).await?;
        }
        for (org, scope) in &batch.scopes {
            sqlx::query(
                "INSERT INTO scopes (org_id, name, restricted, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (org_id, name) DO UPDATE SET restricted = excluded.restricted",
            )
            .bind(org.as_str())
            .bind(&scope.name)
            .bind(scope.restricted)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            self.record_change(&mut tx, Entity::Scope, org.as_str(), at).await?;
        }
        for person in &batch.people {
            sqlx::query(
                "INSERT INTO people (id, email, password_hash, email_verified_at, created_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (id) DO UPDATE SET email = excluded.email, \
                 password_hash = COALESCE(excluded.password_hash, people.password_hash), \
                 email_verified_at = COALESCE(excluded.email_verified_at, people.email_verified_at)",
            )
            .bind(person.id.as_str())
            .bind(&person.email)
            .bind(person.password_hash.as_deref())
            .bind(person.email_verified_at)
            .bind(person.created_at)
            .execute(&mut *tx)
            .await?;
        }
        for user in &batch.memberships {
            sqlx::query(
                "INSERT INTO users (id, org_id, person_id, role, service, authorize_applications, disabled, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (id) DO UPDATE SET role = excluded.role, service = excluded.service, \
                 authorize_applications = excluded.authorize_applications, disabled = excluded.disabled",
            )
            .bind(user.id.as_str())
            .bind(user.org_id.as_str())
            .bind(user.person_id.as_str())
            .bind(user.role.as_str())
            .bind(user.service)
            .bind(user.authorize_applications)
            .bind(user.disabled)
            .bind(user.created_at)
            .execute(&mut *tx)
            .await?;
            self.record_change(&mut tx, Entity::User, user.id.as_str(), at).await?;
        }
        for (record, new) in &batch.clients {
            let c = &record.client;
            if *new {
                Self::insert_client_row(&mut tx, record).await?;
            } else {
                Self::update_client_row(&mut tx, c, at).await?;
                sqlx::query("UPDATE clients SET status = $1 WHERE id = $2")
                    .bind(c.status.as_str())
                    .bind(c.id.as_str())
                    .execute(&mut *tx)
                    .await?;
                if let Some(secret) = &record.secret {
                    sqlx::query(
                        "UPDATE clients SET secret_tag = $1, secret_sealed = $2, previous_secret_tag = NULL, previous_secret_expires_at = NULL \
                         WHERE id = $3",
                    )
                    .bind(&secret.tag)
                    .bind(&secret.sealed)
                    .bind(c.id.as_str())
                    .execute(&mut *tx)
                    .await?;
                }
            }
            self.record_change(&mut tx, Entity::Client, c.id.as_str(), at).await?;
        }
        Self::insert_audit(&mut *tx, audit).await?;
        self.commit(tx, true).await
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.replace_client_secret", skip_all)]
    async fn replace_client_secret(
        &self,
        id: &ClientId,
        secret: &SecretMaterial,
        previous_until: Option<i64>,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        // The right-hand sides read the row as it was: the previous tag is the one replaced.
        let found = sqlx::query(
            "UPDATE clients SET previous_secret_tag = CASE WHEN $5 IS NULL THEN NULL ELSE secret_tag END, \
             previous_secret_expires_at = $5, secret_tag = $1, secret_sealed = $2, updated_at = $3 \
             WHERE id = $4 AND token_endpoint_auth_method IN ('client_secret_basic', 'client_secret_post')",
        )
        .bind(&secret.tag)
        .bind(&secret.sealed)
        .bind(audit.at)
        .bind(id.as_str())
        .bind(previous_until)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        self.commit_change(tx, found, Entity::Client, id.as_str(), audit).await
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.expire_previous_secrets", skip_all)]
    async fn expire_previous_secrets(&self, now: i64) -> Result<Vec<ClientId>> {
        let mut tx = self.begin().await?;
        let rows = sqlx::query(
            "SELECT id, org_id FROM clients WHERE previous_secret_expires_at IS NOT NULL AND previous_secret_expires_at <= $1 ORDER BY id",
        )
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
        let mut expired = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: String = row.try_get("id")?;
            let org: String = row.try_get("org_id")?;
            sqlx::query("UPDATE clients SET previous_secret_tag = NULL, previous_secret_expires_at = NULL WHERE id = $1")
                .bind(&id)
                .execute(&mut *tx)
                .await?;
            let audit = AuditEvent {
                at: now,
                org_id: Some(org),
                actor: "system".into(),
                action: AuditAction::ClientPreviousSecretExpired,
                target: Some(id.clone()),
                ip: None,
                detail: serde_json::json!({}),
            };
            Self::insert_audit(&mut *tx, &audit).await?;
            self.record_change(&mut tx, Entity::Client, &id, now).await?;
            expired.push(ClientId::new(id));
        }
        self.commit(tx, !expired.is_empty()).await?;
        Ok(expired)
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.delete_client", skip_all)]
    async fn delete_client(&self, id: &ClientId, audit: &AuditEvent) -> Result<bool> {
        let mut tx = self.begin().await?;
        let found = sqlx::query("DELETE FROM clients WHERE id = $1").bind(id.as_str()).execute(&mut *tx).await?.rows_affected() == 1;
        self.commit_change(tx, found, Entity::Client, id.as_str(), audit).await
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.signing_keys", skip_all)]
    async fn signing_keys(&self) -> Result<Vec<KeyRecord>> {
        let rows = sqlx::query("SELECT kid, alg, state, private_sealed, public_jwk, created_at, activated_at, retired_at FROM signing_keys ORDER BY created_at, kid")
            .fetch_all(&self.pool)
            .await
            ?;
        rows.iter().map(Self::key_from_row).collect()
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.rotate_keys", skip_all)]
    async fn rotate_keys(&self, rotation: &KeyRotation, audit: Option<&AuditEvent>) -> Result<bool> {
        // A concurrent rotation waits for this one, then reads the current key it left.
        let mut tx = self.backend.begin_serialised(&self.pool, Serialised::Keys).await?;
        let current: Option<String> =
            sqlx::query_scalar("SELECT kid FROM signing_keys WHERE state = 'current'").fetch_optional(&mut *tx).await?;
        if current != rotation.expected_current {
            return Ok(false);
        }
        if let Some(kid) = &rotation.retire {
            sqlx::query("UPDATE signing_keys SET state = 'retired', retired_at = $1 WHERE kid = $2 AND state = 'current'")
                .bind(rotation.now)
                .bind(kid)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(kid) = &rotation.promote {
            let promoted = sqlx::query("UPDATE signing_keys SET state = 'current', activated_at = $1 WHERE kid = $2 AND state = 'next'")
                .bind(rotation.now)
                .bind(kid)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if promoted != 1 {
                return Ok(false);
            }
        }
        for key in &rotation.insert {
            sqlx::query(
                "INSERT INTO signing_keys (kid, alg, state, private_sealed, public_jwk, created_at, activated_at, retired_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&key.kid)
            .bind(&key.alg)
            .bind(key.state.as_str())
            .bind(&key.private_sealed)
            .bind(&key.public_jwk)
            .bind(key.created_at)
            .bind(key.activated_at)
            .bind(key.retired_at)
            .execute(&mut *tx)
            .await?;
        }
        for kid in &rotation.purge {
            sqlx::query("DELETE FROM signing_keys WHERE kid = $1 AND state <> 'current'").bind(kid).execute(&mut *tx).await?;
        }
        if let Some(audit) = audit {
            Self::insert_audit(&mut *tx, audit).await?;
        }
        self.record_change(&mut tx, Entity::Key, "*", rotation.now).await?;
        self.commit(tx, true).await?;
        Ok(true)
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.revoke_token", skip_all)]
    async fn revoke_token(&self, jti: &str, expires_at: i64, audit: &AuditEvent) -> Result<()> {
        let mut tx = self.begin().await?;
        let inserted =
            sqlx::query("INSERT INTO revoked_tokens (jti, expires_at, revoked_at) VALUES ($1, $2, $3) ON CONFLICT (jti) DO NOTHING")
                .bind(jti)
                .bind(expires_at)
                .bind(audit.at)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
        if inserted {
            self.record_change(&mut tx, Entity::Token, jti, audit.at).await?;
        }
        Self::insert_audit(&mut *tx, audit).await?;
        self.commit(tx, inserted).await
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.insert_pushed_request", skip_all)]
    async fn insert_pushed_request(&self, reference_hash: &[u8], pushed: &PushedRequest, created_at: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO pushed_requests (reference_hash, client_id, params, created_at, expires_at, opened_at, consumed_at) \
             VALUES ($1, $2, $3, $4, $5, NULL, NULL)",
        )
        .bind(reference_hash)
        .bind(&pushed.client_id)
        .bind(&pushed.params)
        .bind(created_at)
        .bind(pushed.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.open_pushed_request", skip_all)]
    async fn open_pushed_request(&self, reference_hash: &[u8], now: i64) -> Result<Option<(PushedRequest, bool)>> {
        let opened_now =
            sqlx::query("UPDATE pushed_requests SET opened_at = $1 WHERE reference_hash = $2 AND opened_at IS NULL AND expires_at > $1")
                .bind(now)
                .bind(reference_hash)
                .execute(&self.pool)
                .await?
                .rows_affected()
                == 1;
        let row =
            sqlx::query("SELECT client_id, params, expires_at, opened_at, consumed_at FROM pushed_requests WHERE reference_hash = $1")
                .bind(reference_hash)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|row| {
            let consumed_at: Option<i64> = row.try_get("consumed_at")?;
            let pushed = PushedRequest {
                client_id: row.try_get("client_id")?,
                params: row.try_get("params")?,
                expires_at: row.try_get("expires_at")?,
                opened_at: row.try_get("opened_at")?,
                consumed: consumed_at.is_some(),
            };
            Ok((pushed, opened_now))
        })
        .transpose()
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.consume_pushed_request", skip_all)]
    async fn consume_pushed_request(&self, reference_hash: &[u8], now: i64) -> Result<bool> {
        let consumed = sqlx::query("UPDATE pushed_requests SET consumed_at = $1 WHERE reference_hash = $2 AND consumed_at IS NULL")
            .bind(now)
            .bind(reference_hash)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(consumed == 1)
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.insert_device_authorization", skip_all)]
    async fn insert_device_authorization(&self, device_hash: &[u8], user_hash: &[u8], device: &DeviceAuthorization) -> Result<()> {
        sqlx::query(
            "INSERT INTO device_authorizations (device_code_hash, user_code_hash, client_id, scope, created_at, expires_at, \
             poll_interval, last_polled_at, status, user_id, auth_time) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, NULL, NULL)",
        )
        .bind(device_hash)
        .bind(user_hash)
        .bind(device.client_id.as_str())
        .bind(device.scope.to_string())
        .bind(device.created_at)
        .bind(device.expires_at)
        .bind(device.interval)
        .bind(device.status.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.device_authorization", skip_all)]
    async fn device_authorization(&self, device_hash: &[u8]) -> Result<Option<DeviceAuthorization>> {
        let row = sqlx::query(&format!("SELECT {DEVICE_COLUMNS} FROM device_authorizations WHERE device_code_hash = $1"))
            .bind(device_hash)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(Self::device_from_row).transpose()
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.device_authorization_by_user_code", skip_all)]
    async fn device_authorization_by_user_code(&self, user_hash: &[u8]) -> Result<Option<DeviceAuthorization>> {
        let row = sqlx::query(&format!("SELECT {DEVICE_COLUMNS} FROM device_authorizations WHERE user_code_hash = $1"))
            .bind(user_hash)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(Self::device_from_row).transpose()
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.record_device_poll", skip_all)]
    async fn record_device_poll(&self, device_hash: &[u8], previous: Option<i64>, now: i64, interval: i64) -> Result<bool> {
        let recorded = sqlx::query(
            "UPDATE device_authorizations SET last_polled_at = $1, poll_interval = $2 \
             WHERE device_code_hash = $3 AND COALESCE(last_polled_at, -1) = $4 AND status = 'pending'",
        )
        .bind(now)
        .bind(interval)
        .bind(device_hash)
        .bind(previous.unwrap_or(-1))
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(recorded == 1)
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.decide_device_authorization", skip_all)]
    async fn decide_device_authorization(&self, user_hash: &[u8], approval: Option<DeviceApproval<'_>>, now: i64) -> Result<bool> {
        let decided = match approval {
            Some(approval) => sqlx::query(
                "UPDATE device_authorizations SET status = 'approved', user_id = $1, auth_time = $2, scope = $3, amr = $6 \
                 WHERE user_code_hash = $4 AND status = 'pending' AND expires_at > $5",
            )
            .bind(approval.user.as_str())
            .bind(approval.auth_time)
            .bind(approval.scope.to_string())
            .bind(user_hash)
            .bind(now)
            .bind((!approval.amr.is_empty()).then(|| approval.amr.join(" "))),
            None => sqlx::query(
                "UPDATE device_authorizations SET status = 'denied' WHERE user_code_hash = $1 AND status = 'pending' AND expires_at > $2",
            )
            .bind(user_hash)
            .bind(now),
        }
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(decided == 1)
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.consume_device_authorization", skip_all)]
    async fn consume_device_authorization(&self, device_hash: &[u8]) -> Result<bool> {
        let consumed =
            sqlx::query("UPDATE device_authorizations SET status = 'consumed' WHERE device_code_hash = $1 AND status = 'approved'")
                .bind(device_hash)
                .execute(&self.pool)
                .await?
                .rows_affected();
        Ok(consumed == 1)
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.token_revoked", skip_all)]
    async fn token_revoked(&self, jti: &str, grant_id: Option<&str>) -> Result<bool> {
        let revoked: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = $1) \
             OR ($2 IS NOT NULL AND NOT EXISTS (SELECT 1 FROM grants WHERE id = $2 AND revoked_at IS NULL))",
        )
        .bind(jti)
        .bind(grant_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(revoked)
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.user_credentials", skip_all)]
    async fn user_credentials(&self, email: &str) -> Result<Option<(User, Option<String>)>> {
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS}, p.password_hash FROM {USERS} WHERE {} {PREFERRED_MEMBERSHIP}", B::EMAIL_IS))
            .bind(email)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| Ok((Self::user_from_row(&row)?, row.try_get("password_hash")?))).transpose()
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.insert_session", skip_all)]
    async fn insert_session(&self, id_hash: &[u8], session: &SessionRecord, replaces: Option<&[u8]>) -> Result<()> {
        let mut tx = self.begin().await?;
        if let Some(old) = replaces {
            sqlx::query("DELETE FROM sessions WHERE id_hash = $1").bind(old).execute(&mut *tx).await?;
        }
        sqlx::query(
            "INSERT INTO sessions (id_hash, user_id, auth_time, created_at, last_seen_at, expires_at, ip, user_agent, amr) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(id_hash)
        .bind(session.user_id.as_str())
        .bind(session.auth_time)
        .bind(session.created_at)
        .bind(session.last_seen_at)
        .bind(session.expires_at)
        .bind(session.ip.as_deref())
        .bind(session.user_agent.as_deref())
        .bind((!session.amr.is_empty()).then(|| session.amr.join(" ")))
        .execute(&mut *tx)
        .await?;
        self.commit(tx, false).await
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.session", skip_all)]
    async fn session(&self, id_hash: &[u8]) -> Result<Option<SessionRecord>> {
        let row = sqlx::query(&format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE id_hash = $1"))
            .bind(id_hash)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(Self::session_from_row).transpose()
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.user_sessions", skip_all)]
    async fn user_sessions(&self, user: &UserId) -> Result<Vec<(Vec<u8>, SessionRecord)>> {
        let rows = sqlx::query(&format!(
            "SELECT id_hash, {SESSION_COLUMNS} FROM sessions WHERE user_id IN {MEMBERSHIPS_OF_PERSON_OF_1} ORDER BY created_at DESC"
        ))
        .bind(user.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|row| Ok((row.try_get("id_hash")?, Self::session_from_row(row)?))).collect()
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.delete_user_sessions", skip_all)]
    async fn delete_user_sessions(&self, user: &UserId, keep: Option<&[u8]>) -> Result<u64> {
        let mut tx = self.begin().await?;
        let ended = Self::end_sessions(&mut tx, user, keep).await?;
        self.commit(tx, false).await?;
        Ok(ended)
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.touch_session", skip_all)]
    async fn touch_session(&self, id_hash: &[u8], now: i64) -> Result<()> {
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2").bind(now).bind(id_hash).execute(&self.pool).await?;
        Ok(())
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.renew_session_sign_in", skip_all)]
    async fn renew_session_sign_in(&self, id_hash: &[u8], auth_time: i64, amr: &[String]) -> Result<()> {
        sqlx::query("UPDATE sessions SET auth_time = $1, amr = $2 WHERE id_hash = $3")
            .bind(auth_time)
            .bind(amr.join(" "))
            .bind(id_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.delete_session", skip_all)]
    async fn delete_session(&self, id_hash: &[u8]) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1").bind(id_hash).execute(&self.pool).await?;
        Ok(())
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.totp_factor", skip_all)]
    async fn totp_factor(&self, user: &UserId) -> Result<Option<TotpFactor>> {
        let row = sqlx::query(&format!(
            "SELECT secret_sealed, created_at, confirmed_at, last_step FROM totp_factors WHERE person_id = {}",
            person_of(1)
        ))
        .bind(user.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(TotpFactor {
                secret_sealed: row.try_get("secret_sealed")?,
                created_at: row.try_get("created_at")?,
                confirmed_at: row.try_get("confirmed_at")?,
                last_step: row.try_get("last_step")?,
            })
        })
        .transpose()
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.begin_totp", skip_all)]
    async fn begin_totp(&self, user: &UserId, secret_sealed: &[u8], at: i64) -> Result<bool> {
        let mut tx = self.begin().await?;
        sqlx::query(&format!("DELETE FROM totp_factors WHERE person_id = {} AND confirmed_at IS NULL", person_of(1)))
            .bind(user.as_str())
            .execute(&mut *tx)
            .await?;
        let inserted = sqlx::query(&format!(
            "INSERT INTO totp_factors (person_id, secret_sealed, created_at, confirmed_at, last_step) VALUES ({}, $2, $3, NULL, 0) \
             ON CONFLICT (person_id) DO NOTHING",
            person_of(1)
        ))
        .bind(user.as_str())
        .bind(secret_sealed)
        .bind(at)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        self.commit(tx, false).await?;
        Ok(inserted)
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.confirm_totp", skip_all)]
    async fn confirm_totp(&self, user: &UserId, step: i64, recovery_hashes: &[Vec<u8>], audit: &AuditEvent) -> Result<bool> {
        let mut tx = self.begin().await?;
        let confirmed = sqlx::query(&format!(
            "UPDATE totp_factors SET confirmed_at = $1, last_step = $2 WHERE person_id = {} AND confirmed_at IS NULL",
            person_of(3)
        ))
        .bind(audit.at)
        .bind(step)
        .bind(user.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !confirmed {
            return Ok(false);
        }
        sqlx::query(&format!("DELETE FROM recovery_codes WHERE person_id = {}", person_of(1)))
            .bind(user.as_str())
            .execute(&mut *tx)
            .await?;
        for hash in recovery_hashes {
            sqlx::query(&format!("INSERT INTO recovery_codes (person_id, code_hash, used_at) VALUES ({}, $2, NULL)", person_of(1)))
                .bind(user.as_str())
                .bind(hash.as_slice())
                .execute(&mut *tx)
                .await?;
        }
        Self::insert_audit(&mut *tx, audit).await?;
        self.commit(tx, false).await?;
        Ok(true)
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.use_totp_step", skip_all)]
    async fn use_totp_step(&self, user: &UserId, step: i64) -> Result<bool> {
        let used = sqlx::query(&format!(
            "UPDATE totp_factors SET last_step = $1 WHERE person_id = {} AND confirmed_at IS NOT NULL AND last_step < $1",
            person_of(2)
        ))
        .bind(step)
        .bind(user.as_str())
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(used == 1)
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.use_recovery_code", skip_all)]
    async fn use_recovery_code(&self, user: &UserId, code_hash: &[u8], at: i64) -> Result<bool> {
        let used = sqlx::query(&format!(
            "UPDATE recovery_codes SET used_at = $1 WHERE person_id = {} AND code_hash = $3 AND used_at IS NULL",
            person_of(2)
        ))
        .bind(at)
        .bind(user.as_str())
        .bind(code_hash)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(used == 1)
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.recovery_codes_left", skip_all)]
    async fn recovery_codes_left(&self, user: &UserId) -> Result<i64> {
        sqlx::query_scalar(&format!("SELECT count(*) FROM recovery_codes WHERE person_id = {} AND used_at IS NULL", person_of(1)))
            .bind(user.as_str())
            .fetch_one(&self.pool)
            .await
            .map_err(StoreError::from)
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.remove_totp", skip_all)]
    async fn remove_totp(&self, user: &UserId, audit: &AuditEvent) -> Result<bool> {
        let mut tx = self.begin().await?;
        let removed = sqlx::query(&format!("DELETE FROM totp_factors WHERE person_id = {}", person_of(1)))
            .bind(user.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        Self::drop_recovery_codes_without_factor(&mut tx, user).await?;
        if removed {
            Self::insert_audit(&mut *tx, audit).await?;
        }
        self.commit(tx, false).await?;
        Ok(removed)
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.passkeys", skip_all)]
    async fn passkeys(&self, user: &UserId) -> Result<Vec<PasskeyRecord>> {
        let rows =
            sqlx::query(&format!("SELECT {PASSKEY_COLUMNS} FROM passkeys WHERE person_id = {} ORDER BY created_at, id", person_of(1)))
                .bind(user.as_str())
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(Self::passkey_from_row).collect()
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.passkey_by_credential", skip_all)]
    async fn passkey_by_credential(&self, credential_id: &[u8]) -> Result<Option<PasskeyRecord>> {
        let row = sqlx::query(&format!("SELECT {PASSKEY_COLUMNS} FROM passkeys WHERE credential_id = $1"))
            .bind(credential_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(Self::passkey_from_row).transpose()
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.insert_passkey", skip_all)]
    async fn insert_passkey(&self, passkey: &PasskeyRecord, recovery_hashes: &[Vec<u8>], audit: &AuditEvent) -> Result<bool> {
        let mut tx = self.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO passkeys (id, person_id, credential_id, name, credential, created_at, last_used_at) \
             VALUES ($1, $2, $3, $4, $5, $6, NULL) ON CONFLICT (credential_id) DO NOTHING",
        )
        .bind(&passkey.id)
        .bind(passkey.person_id.as_str())
        .bind(passkey.credential_id.as_slice())
        .bind(&passkey.name)
        .bind(&passkey.credential)
        .bind(passkey.created_at)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !inserted {
            return Ok(false);
        }
        if !recovery_hashes.is_empty() {
            sqlx::query("DELETE FROM recovery_codes WHERE person_id = $1").bind(passkey.person_id.as_str()).execute(&mut *tx).await?;
            for hash in recovery_hashes {
                sqlx::query("INSERT INTO recovery_codes (person_id, code_hash, used_at) VALUES ($1, $2, NULL)")
                    .bind(passkey.person_id.as_str())
                    .bind(hash.as_slice())
                    .execute(&mut *tx)
                    .await?;
            }
        }
        Self::insert_audit(&mut *tx, audit).await?;
        self.commit(tx, false).await?;
        Ok(true)
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.passkey_used", skip_all)]
    async fn passkey_used(&self, id: &str, credential: &str, at: i64) -> Result<()> {
        sqlx::query("UPDATE passkeys SET credential = $1, last_used_at = $2 WHERE id = $3")
            .bind(credential)
            .bind(at)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.remove_passkey", skip_all)]
    async fn remove_passkey(&self, user: &UserId, id: &str, audit: &AuditEvent) -> Result<bool> {
        let mut tx = self.begin().await?;
        let removed = sqlx::query(&format!("DELETE FROM passkeys WHERE id = $1 AND person_id = {}", person_of(2)))
            .bind(id)
            .bind(user.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        if !removed {
            return Ok(false);
        }
        Self::drop_recovery_codes_without_factor(&mut tx, user).await?;
        Self::insert_audit(&mut *tx, audit).await?;
        self.commit(tx, false).await?;
        Ok(true)
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.insert_webauthn_ceremony", skip_all)]
    async fn insert_webauthn_ceremony(&self, id_hash: &[u8], ceremony: &WebauthnCeremony, now: i64) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM webauthn_ceremonies WHERE expires_at < $1").bind(now).execute(&mut *tx).await?;
        sqlx::query("INSERT INTO webauthn_ceremonies (id_hash, person_id, purpose, state, expires_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(id_hash)
            .bind(ceremony.person_id.as_ref().map(PersonId::as_str))
            .bind(&ceremony.purpose)
            .bind(&ceremony.state)
            .bind(ceremony.expires_at)
            .execute(&mut *tx)
            .await?;
        self.commit(tx, false).await
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.take_webauthn_ceremony", skip_all)]
    async fn take_webauthn_ceremony(&self, id_hash: &[u8]) -> Result<Option<WebauthnCeremony>> {
        let row = sqlx::query("DELETE FROM webauthn_ceremonies WHERE id_hash = $1 RETURNING person_id, purpose, state, expires_at")
            .bind(id_hash)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            Ok(WebauthnCeremony {
                person_id: row.try_get::<Option<String>, _>("person_id")?.map(PersonId::new),
                purpose: row.try_get("purpose")?,
                state: row.try_get("state")?,
                expires_at: row.try_get("expires_at")?,
            })
        })
        .transpose()
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.insert_login_challenge", skip_all)]
    async fn insert_login_challenge(&self, id_hash: &[u8], challenge: &LoginChallenge) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM login_challenges WHERE expires_at < $1").bind(challenge.created_at).execute(&mut *tx).await?;
        sqlx::query(
            "INSERT INTO login_challenges (id_hash, user_id, return_to, created_at, expires_at, ip, user_agent) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id_hash)
        .bind(challenge.user_id.as_str())
        .bind(&challenge.return_to)
        .bind(challenge.created_at)
        .bind(challenge.expires_at)
        .bind(challenge.ip.as_deref())
        .bind(challenge.user_agent.as_deref())
        .execute(&mut *tx)
        .await?;
        self.commit(tx, false).await
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.login_challenge", skip_all)]
    async fn login_challenge(&self, id_hash: &[u8]) -> Result<Option<LoginChallenge>> {
        let row = sqlx::query("SELECT user_id, return_to, created_at, expires_at, ip, user_agent FROM login_challenges WHERE id_hash = $1")
            .bind(id_hash)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            Ok(LoginChallenge {
                user_id: UserId::new(row.try_get::<String, _>("user_id")?),
                return_to: row.try_get("return_to")?,
                created_at: row.try_get("created_at")?,
                expires_at: row.try_get("expires_at")?,
                ip: row.try_get("ip")?,
                user_agent: row.try_get("user_agent")?,
            })
        })
        .transpose()
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.delete_login_challenge", skip_all)]
    async fn delete_login_challenge(&self, id_hash: &[u8]) -> Result<bool> {
        let deleted =
            sqlx::query("DELETE FROM login_challenges WHERE id_hash = $1").bind(id_hash).execute(&self.pool).await?.rows_affected();
        Ok(deleted == 1)
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.insert_account_token", skip_all)]
    async fn insert_account_token(&self, token_hash: &[u8], record: &AccountTokenRecord, window_start: i64, limit: i64) -> Result<bool> {
        // Counting and inserting under one lock per user and purpose: two requests at once cannot
        // both pass the limit.
        let kind = Serialised::AccountTokens { user: record.user_id.as_str(), purpose: record.purpose.as_str() };
        let mut tx = self.backend.begin_serialised(&self.pool, kind).await?;
        let recent: i64 = sqlx::query_scalar("SELECT count(*) FROM account_tokens WHERE user_id = $1 AND purpose = $2 AND created_at > $3")
            .bind(record.user_id.as_str())
            .bind(record.purpose.as_str())
            .bind(window_start)
            .fetch_one(&mut *tx)
            .await?;
        if recent >= limit {
            return Ok(false);
        }
        sqlx::query("UPDATE account_tokens SET spent_at = $1 WHERE user_id = $2 AND purpose = $3 AND spent_at IS NULL")
            .bind(record.created_at)
            .bind(record.user_id.as_str())
            .bind(record.purpose.as_str())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO account_tokens (token_hash, user_id, purpose, created_at, expires_at, spent_at) VALUES ($1, $2, $3, $4, $5, NULL)",
        )
        .bind(token_hash)
        .bind(record.user_id.as_str())
        .bind(record.purpose.as_str())
        .bind(record.created_at)
        .bind(record.expires_at)
        .execute(&mut *tx)
        .await?;
        self.commit(tx, false).await?;
        Ok(true)
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.account_token", skip_all)]
    async fn account_token(&self, token_hash: &[u8]) -> Result<Option<AccountTokenRecord>> {
        let row = sqlx::query("SELECT user_id, purpose, created_at, expires_at, spent_at FROM account_tokens WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            let purpose: String = row.try_get("purpose")?;
            Ok(AccountTokenRecord {
                user_id: UserId::new(row.try_get::<String, _>("user_id")?),
                purpose: AccountTokenPurpose::parse(&purpose).ok_or_else(|| corrupt("account token purpose"))?,
                created_at: row.try_get("created_at")?,
                expires_at: row.try_get("expires_at")?,
                spent_at: row.try_get("spent_at")?,
            })
        })
        .transpose()
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.change_password", skip_all)]
    async fn change_password(&self, change: &PasswordChange<'_>, spend: Option<(&[u8], i64)>, audit: &AuditEvent) -> Result<bool> {
        let mut tx = self.begin().await?;
        if let Some((token_hash, now)) = spend
            && !Self::spend_account_token(&mut tx, token_hash, change.user, AccountTokenPurpose::PasswordReset, now).await?
        {
            return Ok(false);
        }
        let found = sqlx::query(
            "UPDATE people SET password_hash = $1, email_verified_at = COALESCE(email_verified_at, $2) \
             WHERE id = (SELECT person_id FROM users WHERE id = $3 AND service = $4)",
        )
        .bind(change.password_hash)
        .bind(change.email_verified_at)
        .bind(change.user.as_str())
        .bind(false)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !found {
            return Ok(false);
        }
        // A new password ends every other browser signed in with the old one.
        Self::end_sessions(&mut tx, change.user, change.keep_session).await?;
        self.commit_person_change(tx, change.user, audit).await
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.upgrade_password_hash", skip_all)]
    async fn upgrade_password_hash(&self, user: &UserId, from: &str, to: &str, audit: &AuditEvent) -> Result<bool> {
        let mut tx = self.begin().await?;
        let replaced = sqlx::query(&format!("UPDATE people SET password_hash = $1 WHERE id = {} AND password_hash = $3", person_of(2)))
            .bind(to)
            .bind(user.as_str())
            .bind(from)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        if !replaced {
            return Ok(false);
        }
        self.commit_person_change(tx, user, audit).await
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.verify_email", skip_all)]
    async fn verify_email(&self, token_hash: &[u8], user: &UserId, now: i64, at: i64, audit: &AuditEvent) -> Result<bool> {
        let mut tx = self.begin().await?;
        if !Self::spend_account_token(&mut tx, token_hash, user, AccountTokenPurpose::EmailVerification, now).await? {
            return Ok(false);
        }
        sqlx::query(&format!("UPDATE people SET email_verified_at = COALESCE(email_verified_at, $1) WHERE id = {}", person_of(2)))
            .bind(at)
            .bind(user.as_str())
            .execute(&mut *tx)
            .await?;
        self.commit_person_change(tx, user, audit).await
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.consent", skip_all)]
    async fn consent(&self, user: &UserId, client: &ClientId) -> Result<Option<ScopeSet>> {
        let scope: Option<String> = sqlx::query_scalar("SELECT scope FROM consents WHERE user_id = $1 AND client_id = $2")
            .bind(user.as_str())
            .bind(client.as_str())
            .fetch_optional(&self.pool)
            .await?;
        scope.map(|s| ScopeSet::parse(&s).map_err(|_| corrupt("consent scope"))).transpose()
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.save_consent", skip_all)]
    async fn save_consent(&self, user: &UserId, client: &ClientId, scope: &ScopeSet, at: i64) -> Result<()> {
        // One merge per user and client at a time: the second reads what the first wrote.
        let kind = Serialised::Consent { user: user.as_str(), client: client.as_str() };
        let mut tx = self.backend.begin_serialised(&self.pool, kind).await?;
        let before: Option<String> = sqlx::query_scalar("SELECT scope FROM consents WHERE user_id = $1 AND client_id = $2")
            .bind(user.as_str())
            .bind(client.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        let merged = match before {
            Some(before) => ScopeSet::from_names(before.split(' ').chain(scope.iter()).filter(|s| !s.is_empty()).map(str::to_owned)),
            None => scope.clone(),
        };
        sqlx::query(
            "INSERT INTO consents (user_id, client_id, scope, granted_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_id, client_id) DO UPDATE SET scope = excluded.scope, granted_at = excluded.granted_at",
        )
        .bind(user.as_str())
        .bind(client.as_str())
        .bind(merged.to_string())
        .bind(at)
        .execute(&mut *tx)
        .await?;
        self.commit(tx, false).await
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.revoke_consent", skip_all)]
    async fn revoke_consent(&self, user: &UserId, client: &ClientId, audit: &AuditEvent) -> Result<bool> {
        let mut tx = self.begin().await?;
        let found = sqlx::query("DELETE FROM consents WHERE user_id = $1 AND client_id = $2")
            .bind(user.as_str())
            .bind(client.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        let revoked =
            self.revoke_grants_where(&mut tx, "user_id = $2 AND client_id = $3", audit.at, user.as_str(), client.as_str()).await?;
        if found {
            Self::insert_audit(&mut *tx, audit).await?;
        }
        self.commit(tx, revoked > 0).await?;
        Ok(found)
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.consents", skip_all)]
    async fn consents(&self, user: &UserId) -> Result<Vec<(ClientId, ScopeSet)>> {
        let rows = sqlx::query("SELECT client_id, scope FROM consents WHERE user_id = $1 ORDER BY granted_at DESC")
            .bind(user.as_str())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                let scope: String = row.try_get("scope")?;
                Ok((ClientId::new(row.try_get::<String, _>("client_id")?), ScopeSet::parse(&scope).map_err(|_| corrupt("consent scope"))?))
            })
            .collect()
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.org_approved", skip_all)]
    async fn org_approved(&self, client: &ClientId, org: &OrgId) -> Result<bool> {
        let found: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM org_approvals WHERE client_id = $1 AND org_id = $2)")
            .bind(client.as_str())
            .bind(org.as_str())
            .fetch_one(&self.pool)
            .await?;
        Ok(found)
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.org_approvals", skip_all)]
    async fn org_approvals(&self, org: &OrgId) -> Result<Vec<ApprovalRecord>> {
        let rows = sqlx::query(
            "SELECT client_id, org_id, approved_by, approved_at FROM org_approvals WHERE org_id = $1 ORDER BY approved_at DESC, client_id",
        )
        .bind(org.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ApprovalRecord {
                    client_id: ClientId::new(row.try_get::<String, _>("client_id")?),
                    org_id: OrgId::new(row.try_get::<String, _>("org_id")?),
                    approved_by: row.try_get("approved_by")?,
                    approved_at: row.try_get("approved_at")?,
                })
            })
            .collect()
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.set_org_approval", skip_all)]
    async fn set_org_approval(&self, client: &ClientId, org: &OrgId, approved_by: &str, approve: bool, audit: &AuditEvent) -> Result<bool> {
        let mut tx = self.begin().await?;
        let mut revoked = 0;
        let changed = if approve {
            sqlx::query(
                "INSERT INTO org_approvals (client_id, org_id, approved_by, approved_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (client_id, org_id) DO NOTHING",
            )
            .bind(client.as_str())
            .bind(org.as_str())
            .bind(approved_by)
            .bind(audit.at)
            .execute(&mut *tx)
            .await?
            .rows_affected()
        } else {
            let removed = sqlx::query("DELETE FROM org_approvals WHERE client_id = $1 AND org_id = $2")
                .bind(client.as_str())
                .bind(org.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            // Withdrawing an approval ends the refresh families of that org's users.
            revoked = self
                .revoke_grants_where(
                    &mut tx,
                    "client_id = $2 AND user_id IN (SELECT id FROM users WHERE org_id = $3)",
                    audit.at,
                    client.as_str(),
                    org.as_str(),
                )
                .await?;
            removed
        };
        if approve {
            sqlx::query("DELETE FROM approval_requests WHERE org_id = $1 AND client_id = $2")
                .bind(org.as_str())
                .bind(client.as_str())
                .execute(&mut *tx)
                .await?;
        }
        if changed == 1 {
            Self::insert_audit(&mut *tx, audit).await?;
        }
        self.commit(tx, revoked > 0).await?;
        Ok(changed == 1)
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.note_approval_request", skip_all)]
    async fn note_approval_request(&self, client: &ClientId, org: &OrgId, user: &UserId, audit: &AuditEvent) -> Result<()> {
        let mut tx = self.begin().await?;
        // One statement, so two members asking at once count twice and audit once.
        let requests: i64 = sqlx::query_scalar(
            "INSERT INTO approval_requests (org_id, client_id, requested_by, first_requested_at, last_requested_at, requests) \
             VALUES ($1, $2, $3, $4, $4, 1) ON CONFLICT (org_id, client_id) DO UPDATE SET \
             requested_by = excluded.requested_by, last_requested_at = excluded.last_requested_at, \
             requests = approval_requests.requests + 1 RETURNING requests",
        )
        .bind(org.as_str())
        .bind(client.as_str())
        .bind(user.as_str())
        .bind(audit.at)
        .fetch_one(&mut *tx)
        .await?;
        // Audited once per request, not per attempt: the page shows how many there were.
        if requests == 1 {
            Self::insert_audit(&mut *tx, audit).await?;
        }
        self.commit(tx, false).await?;
        Ok(())
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.mark_clients_used", skip_all)]
    async fn mark_clients_used(&self, marks: &[(ClientId, i64)]) -> Result<()> {
        if marks.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin().await?;
        for (client, at) in marks {
            sqlx::query(
                "INSERT INTO client_usage (client_id, last_used_at) SELECT $1, $2 WHERE EXISTS (SELECT 1 FROM clients WHERE id = $1) \
                 ON CONFLICT (client_id) DO UPDATE SET last_used_at = CASE WHEN excluded.last_used_at > client_usage.last_used_at \
                 THEN excluded.last_used_at ELSE client_usage.last_used_at END",
            )
            .bind(client.as_str())
            .bind(*at)
            .execute(&mut *tx)
            .await?;
        }
        self.commit(tx, false).await
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.client_last_used", skip_all)]
    async fn client_last_used(&self, client: &ClientId) -> Result<Option<i64>> {
        let at: Option<i64> = sqlx::query_scalar("SELECT last_used_at FROM client_usage WHERE client_id = $1")
            .bind(client.as_str())
            .fetch_optional(&self.pool)
            .await?;
        Ok(at)
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.approval_requests", skip_all)]
    async fn approval_requests(&self, org: &OrgId) -> Result<Vec<ApprovalRequestRecord>> {
        let rows = sqlx::query(
            "SELECT org_id, client_id, requested_by, first_requested_at, last_requested_at, requests FROM approval_requests \
             WHERE org_id = $1 ORDER BY last_requested_at DESC, client_id",
        )
        .bind(org.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ApprovalRequestRecord {
                    client_id: ClientId::new(row.try_get::<String, _>("client_id")?),
                    org_id: OrgId::new(row.try_get::<String, _>("org_id")?),
                    requested_by: row.try_get::<Option<String>, _>("requested_by")?.map(UserId::new),
                    first_requested_at: row.try_get("first_requested_at")?,
                    last_requested_at: row.try_get("last_requested_at")?,
                    requests: row.try_get("requests")?,
                })
            })
            .collect()
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.reject_approval_request", skip_all)]
    async fn reject_approval_request(&self, client: &ClientId, org: &OrgId, audit: &AuditEvent) -> Result<bool> {
        let mut tx = self.begin().await?;
        let removed = sqlx::query("DELETE FROM approval_requests WHERE org_id = $1 AND client_id = $2")
            .bind(org.as_str())
            .bind(client.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if removed == 1 {
            Self::insert_audit(&mut *tx, audit).await?;
        }
        self.commit(tx, false).await?;
        Ok(removed == 1)
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.insert_identity_provider", skip_all)]
    async fn insert_identity_provider(&self, provider: &IdentityProviderRecord, audit: &AuditEvent) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO identity_providers (id, org_id, name, issuer, client_id, client_secret_sealed, default_role, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&provider.id)
        .bind(provider.org_id.as_str())
        .bind(&provider.name)
        .bind(&provider.issuer)
        .bind(&provider.client_id)
        .bind(&provider.client_secret_sealed)
        .bind(provider.default_role.as_str())
        .bind(provider.created_at)
        .bind(provider.updated_at)
        .execute(&mut *tx)
        .await?;
        Self::insert_provider_domains(&mut tx, provider).await?;
        Self::insert_audit(&mut *tx, audit).await?;
        self.commit(tx, false).await
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.update_identity_provider", skip_all)]
    async fn update_identity_provider(&self, provider: &IdentityProviderRecord, audit: &AuditEvent) -> Result<bool> {
        let mut tx = self.begin().await?;
        let found = sqlx::query(
            "UPDATE identity_providers SET name = $1, issuer = $2, client_id = $3, client_secret_sealed = $4, default_role = $5, \
             updated_at = $6 WHERE id = $7",
        )
        .bind(&provider.name)
        .bind(&provider.issuer)
        .bind(&provider.client_id)
        .bind(&provider.client_secret_sealed)
        .bind(provider.default_role.as_str())
        .bind(provider.updated_at)
        .bind(&provider.id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !found {
            return Ok(false);
        }
        sqlx::query("DELETE FROM identity_provider_domains WHERE provider_id = $1").bind(&provider.id).execute(&mut *tx).await?;
        Self::insert_provider_domains(&mut tx, provider).await?;
        Self::insert_audit(&mut *tx, audit).await?;
        self.commit(tx, false).await?;
        Ok(true)
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.delete_identity_provider", skip_all)]
    async fn delete_identity_provider(&self, id: &str, audit: &AuditEvent) -> Result<bool> {
        let mut tx = self.begin().await?;
        let found = sqlx::query("DELETE FROM identity_providers WHERE id = $1").bind(id).execute(&mut *tx).await?.rows_affected() == 1;
        if found {
            Self::insert_audit(&mut *tx, audit).await?;
        }
        self.commit(tx, false).await?;
        Ok(found)
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.identity_provider", skip_all)]
    async fn identity_provider(&self, id: &str) -> Result<Option<IdentityProviderRecord>> {
        let row = sqlx::query(&format!("SELECT {PROVIDER_COLUMNS} FROM identity_providers WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => Ok(Some(self.provider_from_row(&row).await?)),
            None => Ok(None),
        }
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.identity_providers", skip_all)]
    async fn identity_providers(&self, org: Option<&OrgId>) -> Result<Vec<IdentityProviderRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {PROVIDER_COLUMNS} FROM identity_providers WHERE $1 IS NULL OR org_id = $1 ORDER BY org_id, name, id"
        ))
        .bind(org.map(OrgId::as_str))
        .fetch_all(&self.pool)
        .await?;
        let mut providers = Vec::with_capacity(rows.len());
        for row in &rows {
            providers.push(self.provider_from_row(row).await?);
        }
        Ok(providers)
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.any_claimed_domain", skip_all)]
    async fn any_claimed_domain(&self) -> Result<bool> {
        let any: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM identity_provider_domains)").fetch_one(&self.pool).await?;
        Ok(any)
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.identity_provider_for_domain", skip_all)]
    async fn identity_provider_for_domain(&self, domain: &str) -> Result<Option<IdentityProviderRecord>> {
        let id: Option<String> = sqlx::query_scalar("SELECT provider_id FROM identity_provider_domains WHERE domain = $1")
            .bind(domain)
            .fetch_optional(&self.pool)
            .await?;
        match id {
            Some(id) => self.identity_provider(&id).await,
            None => Ok(None),
        }
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.federated_person", skip_all)]
    async fn federated_person(&self, issuer: &str, subject: &str) -> Result<Option<PersonId>> {
        let person: Option<String> = sqlx::query_scalar("SELECT person_id FROM federated_identities WHERE issuer = $1 AND subject = $2")
            .bind(issuer)
            .bind(subject)
            .fetch_optional(&self.pool)
            .await?;
        Ok(person.map(PersonId::new))
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.federated_sign_in", skip_all)]
    async fn federated_sign_in(&self, issuer: &str, subject: &str, user: &User, new_member: bool, audit: &AuditEvent) -> Result<()> {
        let mut tx = self.begin().await?;
        if new_member {
            Self::insert_membership(&mut tx, user, None).await?;
        }
        sqlx::query(&format!(
            "INSERT INTO federated_identities (issuer, subject, person_id, created_at) VALUES ($1, $2, {}, $4) \
             ON CONFLICT (issuer, subject) DO NOTHING",
            person_of(3)
        ))
        .bind(issuer)
        .bind(subject)
        .bind(user.id.as_str())
        .bind(audit.at)
        .execute(&mut *tx)
        .await?;
        if new_member {
            self.commit_change(tx, true, Entity::User, user.id.as_str(), audit).await.map(drop)
        } else {
            Self::insert_audit(&mut *tx, audit).await?;
            self.commit(tx, false).await
        }
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.insert_code", skip_all)]
    async fn insert_code(&self, code_hash: &[u8], record: &CodeRecord) -> Result<()> {
        let mut tx = self.begin().await?;
        Self::insert_grant_row(&mut tx, &record.grant).await?;
        sqlx::query(
            "INSERT INTO authorization_codes (code_hash, grant_id, redirect_uri, code_challenge, nonce, issued_at, consumed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, NULL)",
        )
        .bind(code_hash)
        .bind(&record.grant.id)
        .bind(&record.code.redirect_uri)
        .bind(record.code.code_challenge.as_ref().map(CodeChallenge::as_str))
        .bind(&record.code.nonce)
        .bind(record.code.issued_at)
        .execute(&mut *tx)
        .await?;
        self.commit(tx, false).await
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.redeem_code", skip_all)]
    async fn redeem_code(&self, code_hash: &[u8], now: i64) -> Result<CodeRedemption> {
        let mut tx = self.begin().await?;
        // The UPDATE is the transaction's first statement: it takes the write lock, so of two
        // concurrent redemptions the second sees the code consumed.
        let consumed = sqlx::query("UPDATE authorization_codes SET consumed_at = $1 WHERE code_hash = $2 AND consumed_at IS NULL")
            .bind(now)
            .bind(code_hash)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        let row = sqlx::query(&format!(
            "SELECT {GRANT_COLUMNS}, c.redirect_uri, c.code_challenge, c.nonce, c.issued_at \
             FROM authorization_codes c JOIN grants g ON g.id = c.grant_id WHERE c.code_hash = $1"
        ))
        .bind(code_hash)
        .fetch_optional(&mut *tx)
        .await?;
        self.commit(tx, false).await?;
        Ok(match row {
            None => CodeRedemption::Unknown,
            Some(row) if consumed => CodeRedemption::Fresh(Self::code_from_row(&row)?),
            Some(row) => CodeRedemption::Reused(Self::code_from_row(&row)?),
        })
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.insert_grant", skip_all)]
    async fn insert_grant(&self, grant: &GrantRecord) -> Result<()> {
        let mut tx = self.begin().await?;
        Self::insert_grant_row(&mut tx, grant).await?;
        self.commit(tx, false).await
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.revoke_grant", skip_all)]
    async fn revoke_grant(&self, grant_id: &str, audit: &AuditEvent) -> Result<()> {
        let mut tx = self.begin().await?;
        let revoked = sqlx::query("UPDATE grants SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(audit.at)
            .bind(grant_id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        if revoked {
            self.record_change(&mut tx, Entity::Grant, grant_id, audit.at).await?;
            self.revoke_descendants(&mut tx, audit.at).await?;
        }
        Self::insert_audit(&mut *tx, audit).await?;
        self.commit(tx, revoked).await
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.insert_refresh_token", skip_all)]
    async fn insert_refresh_token(
        &self,
        token_hash: &[u8],
        grant_id: &str,
        family_expires_at: Option<i64>,
        dpop_jkt: Option<&str>,
        now: i64,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query("UPDATE grants SET expires_at = $1, dpop_jkt = $3 WHERE id = $2")
            .bind(family_expires_at)
            .bind(grant_id)
            .bind(dpop_jkt)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO refresh_tokens (token_hash, grant_id, state, issued_at) VALUES ($1, $2, 'active', $3)")
            .bind(token_hash)
            .bind(grant_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        self.commit(tx, false).await
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.refresh_token", skip_all)]
    async fn refresh_token(&self, token_hash: &[u8]) -> Result<Option<RefreshLookup>> {
        let row = sqlx::query(&format!(
            "SELECT {GRANT_COLUMNS}, g.dpop_jkt, r.state FROM refresh_tokens r JOIN grants g ON g.id = r.grant_id WHERE r.token_hash = $1"
        ))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            let grant = Self::grant_from_row(&row)?;
            let state: String = row.try_get("state")?;
            let state = match (grant.revoked, state.as_str()) {
                (true, _) => RefreshState::Revoked,
                (false, "active") => RefreshState::Active,
                (false, "rotated") => RefreshState::RotatedOut,
                _ => return Err(corrupt("refresh token state")),
            };
            let record = RefreshRecord {
                client_id: grant.client_id.clone(),
                state,
                scope: grant.scope.clone(),
                family_expires_at: grant.expires_at,
                dpop_jkt: row.try_get("dpop_jkt")?,
            };
            Ok(RefreshLookup { record, grant })
        })
        .transpose()
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.rotate_refresh_token", skip_all)]
    async fn rotate_refresh_token(&self, old: &[u8], new: &[u8], now: i64) -> Result<bool> {
        let mut tx = self.begin().await?;
        let rotated = sqlx::query("UPDATE refresh_tokens SET state = 'rotated' WHERE token_hash = $1 AND state = 'active'")
            .bind(old)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        if !rotated {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, grant_id, state, issued_at) \
             SELECT $1, grant_id, 'active', $2 FROM refresh_tokens WHERE token_hash = $3",
        )
        .bind(new)
        .bind(now)
        .bind(old)
        .execute(&mut *tx)
        .await?;
        self.commit(tx, false).await?;
        Ok(true)
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.record_failure", skip_all)]
    async fn record_failure(&self, key: &str, now: i64, window: i64) -> Result<u32> {
        let count: i32 = sqlx::query_scalar(
            "INSERT INTO failure_counts (key, window_end, count) VALUES ($1, $2 + $3, 1) \
             ON CONFLICT (key) DO UPDATE SET \
             count = CASE WHEN failure_counts.window_end <= $2 THEN 1 ELSE failure_counts.count + 1 END, \
             window_end = CASE WHEN failure_counts.window_end <= $2 THEN $2 + $3 ELSE failure_counts.window_end END \
             RETURNING count",
        )
        .bind(key)
        .bind(now)
        .bind(window.max(1))
        .fetch_one(&self.pool)
        .await?;
        Ok(u32::try_from(count).unwrap_or(0))
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.failures", skip_all)]
    async fn failures(&self, key: &str, now: i64) -> Result<Option<(u32, i64)>> {
        let row: Option<(i32, i64)> = sqlx::query_as("SELECT count, window_end FROM failure_counts WHERE key = $1 AND window_end > $2")
            .bind(key)
            .bind(now)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|(count, end)| (u32::try_from(count).unwrap_or(0), end)))
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.clear_failures", skip_all)]
    async fn clear_failures(&self, key: &str) -> Result<()> {
        sqlx::query("DELETE FROM failure_counts WHERE key = $1").bind(key).execute(&self.pool).await?;
        Ok(())
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.append_audit", skip_all)]
    async fn append_audit(&self, audit: &AuditEvent) -> Result<()> {
        Self::insert_audit(&self.pool, audit).await
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.audit_log", skip_all)]
    async fn audit_log(&self, q: &AuditQuery) -> Result<Vec<AuditRecord>> {
        let rows = sqlx::query(
            "SELECT id, at, org_id, actor, action, target, ip, detail FROM audit_log \
             WHERE ($1 IS NULL OR org_id = $1) AND ($2 IS NULL OR id < $2) AND ($3 IS NULL OR actor = $3) \
             AND ($4 IS NULL OR action = $4) AND ($5 IS NULL OR target = $5) AND ($6 IS NULL OR at >= $6) \
             AND ($7 IS NULL OR at < $7) ORDER BY id DESC LIMIT $8",
        )
        .bind(q.org.as_ref().map(OrgId::as_str))
        .bind(q.before)
        .bind(q.actor.as_deref())
        .bind(q.action.as_deref())
        .bind(q.target.as_deref())
        .bind(q.since)
        .bind(q.until)
        .bind(i64::from(q.limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(AuditRecord {
                    id: row.try_get("id")?,
                    at: row.try_get("at")?,
                    org_id: row.try_get("org_id")?,
                    actor: row.try_get("actor")?,
                    action: row.try_get("action")?,
                    target: row.try_get("target")?,
                    ip: row.try_get("ip")?,
                    detail: row.try_get("detail")?,
                })
            })
            .collect()
    }

    fn change_stamp(&self) -> Option<ChangeStamp> {
        self.backend.change_stamp()
    }

    fn follow_changes(&self) {
        self.backend.follow_changes();
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.changes_since", skip_all)]
    async fn changes_since(&self, seq: i64) -> Result<Vec<Change>> {
        let rows =
            sqlx::query("SELECT seq, entity, entity_id FROM changes WHERE seq > $1 ORDER BY seq").bind(seq).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                let entity: String = row.try_get("entity")?;
                Ok(Change {
                    seq: row.try_get("seq")?,
                    entity: Entity::parse(&entity).ok_or_else(|| corrupt("change entity"))?,
                    id: row.try_get("entity_id")?,
                })
            })
            .collect()
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.latest_change", skip_all)]
    async fn latest_change(&self) -> Result<i64> {
        let seq: Option<i64> = sqlx::query_scalar("SELECT max(seq) FROM changes").fetch_one(&self.pool).await?;
        Ok(seq.unwrap_or(0))
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.refusals", skip_all)]
    async fn refusals(&self, after: Option<i64>, since: i64) -> Result<Refusals> {
        // One snapshot for every statement: the cursor and the rows agree. Feed rows commit in
        // seq order (`Backend::before_feed_rows`), so nothing below the cursor can still appear.
        let mut tx = self.backend.begin_snapshot(&self.pool).await?;
        let (cursor, oldest): (Option<i64>, Option<i64>) =
            sqlx::query_as("SELECT max(seq), min(seq) FROM changes").fetch_one(&mut *tx).await?;
        let cursor = cursor.unwrap_or(0);
        // Rows after `after` are all still there when the oldest retained row follows it
        // directly (gaps from rolled-back inserts only cost a needless full answer).
        let after = after.filter(|&a| a <= cursor && oldest.is_none_or(|o| o <= a + 1));
        let mut out = Refusals { cursor, full: after.is_none(), ..Refusals::default() };
        // Whether a client's tokens work: ON, and its owner and run-as user enabled.
        const CLIENT_OK: &str = "COALESCE(cl.status = 'on' AND NOT o.disabled AND NOT r.disabled, false)";
        const CLIENT_JOIN: &str = "LEFT JOIN users o ON o.id = cl.owner_id LEFT JOIN users r ON r.id = cl.run_as_id";
        match after {
            Some(after) => {
                let range = "c.seq > $1 AND c.seq <= $2";
                out.tokens = sqlx::query_as(&format!(
                    "SELECT t.jti, t.expires_at FROM changes c JOIN revoked_tokens t ON t.jti = c.entity_id WHERE c.entity = 'token' AND {range}"
                ))
                .bind(after)
                .bind(cursor)
                .fetch_all(&mut *tx)
                .await
                ?;
                out.grants = sqlx::query_as(&format!(
                    "SELECT g.id, g.revoked_at FROM changes c JOIN grants g ON g.id = c.entity_id \
                     WHERE c.entity = 'grant' AND g.revoked_at IS NOT NULL AND {range}"
                ))
                .bind(after)
                .bind(cursor)
                .fetch_all(&mut *tx)
                .await?;
                // Clients that changed, and the clients of users that changed (a disabled owner
                // stops the client's tokens).
                out.clients = sqlx::query_as(&format!(
                    "SELECT c.entity_id, {CLIENT_OK} FROM changes c LEFT JOIN clients cl ON cl.id = c.entity_id {CLIENT_JOIN} \
                     WHERE c.entity = 'client' AND {range} \
                     UNION SELECT cl.id, {CLIENT_OK} FROM changes c JOIN clients cl ON cl.owner_id = c.entity_id OR cl.run_as_id = c.entity_id {CLIENT_JOIN} \
                     WHERE c.entity = 'user' AND {range}"
                ))
                .bind(after)
                .bind(cursor)
                .fetch_all(&mut *tx)
                .await
                ?;
                out.users = sqlx::query_as(&format!(
                    "SELECT DISTINCT c.entity_id, COALESCE(NOT u.disabled, false) FROM changes c LEFT JOIN users u ON u.id = c.entity_id \
                     WHERE c.entity = 'user' AND {range}"
                ))
                .bind(after)
                .bind(cursor)
                .fetch_all(&mut *tx)
                .await?;
                out.users_not_before = sqlx::query_as(&format!(
                    "SELECT DISTINCT u.id, u.tokens_not_before FROM changes c JOIN users u ON u.id = c.entity_id \
                     WHERE c.entity = 'user' AND {range} AND u.tokens_not_before >= $3"
                ))
                .bind(after)
                .bind(cursor)
                .bind(since)
                .fetch_all(&mut *tx)
                .await?;
                out.clients_not_before = sqlx::query_as(&format!(
                    "SELECT DISTINCT cl.id, cl.tokens_not_before FROM changes c JOIN clients cl ON cl.id = c.entity_id \
                     WHERE c.entity = 'client' AND {range} AND cl.tokens_not_before >= $3"
                ))
                .bind(after)
                .bind(cursor)
                .bind(since)
                .fetch_all(&mut *tx)
                .await?;
                out.keys_changed =
                    sqlx::query_scalar(&format!("SELECT EXISTS (SELECT 1 FROM changes c WHERE c.entity = 'key' AND {range})"))
                        .bind(after)
                        .bind(cursor)
                        .fetch_one(&mut *tx)
                        .await?;
            }
            None => {
                out.tokens = sqlx::query_as("SELECT jti, expires_at FROM revoked_tokens WHERE expires_at >= $1")
                    .bind(since)
                    .fetch_all(&mut *tx)
                    .await?;
                out.grants =
                    sqlx::query_as("SELECT id, revoked_at FROM grants WHERE revoked_at >= $1").bind(since).fetch_all(&mut *tx).await?;
                // Deleted clients leave no row but their audit entry, which is kept.
                out.clients = sqlx::query_as(&format!(
                    "SELECT cl.id, false FROM clients cl {CLIENT_JOIN} WHERE NOT {CLIENT_OK} \
                     UNION SELECT a.target, false FROM audit_log a WHERE a.action = 'client_deleted' AND a.at >= $1 AND a.target IS NOT NULL \
                     AND NOT EXISTS (SELECT 1 FROM clients cl WHERE cl.id = a.target)"
                ))
                .bind(since)
                .fetch_all(&mut *tx)
                .await
                ?;
                out.users = sqlx::query_as("SELECT id, false FROM users WHERE disabled").fetch_all(&mut *tx).await?;
                out.users_not_before = sqlx::query_as("SELECT id, tokens_not_before FROM users WHERE tokens_not_before >= $1")
                    .bind(since)
                    .fetch_all(&mut *tx)
                    .await?;
                out.clients_not_before = sqlx::query_as("SELECT id, tokens_not_before FROM clients WHERE tokens_not_before >= $1")
                    .bind(since)
                    .fetch_all(&mut *tx)
                    .await?;
                out.keys_changed = true;
            }
        }
        self.commit(tx, false).await?;
        Ok(out)
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.consume_dpop_jti", skip_all)]
    async fn consume_dpop_jti(&self, jkt: &str, jti: &str, expires_at: i64) -> Result<bool> {
        self.backend.spend(&self.pool, Spent::DpopProof, jkt, jti, expires_at).await
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.consume_assertion_jti", skip_all)]
    async fn consume_assertion_jti(&self, client: &ClientId, jti: &str, expires_at: i64) -> Result<bool> {
        self.backend.spend(&self.pool, Spent::ClientAssertion, client.as_str(), jti, expires_at).await
    }

    #[tracing::instrument(target = "tessera_spans", name = "store.purge", skip_all)]
    async fn purge(&self, revoked_before: i64, changes_before: i64) -> Result<()> {
        let mut tx = self.begin().await?;
        self.backend.purge_spent(&mut tx, revoked_before).await?;
        sqlx::query("DELETE FROM revoked_tokens WHERE expires_at < $1").bind(revoked_before).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM sessions WHERE expires_at < $1").bind(revoked_before).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM failure_counts WHERE window_end < $1").bind(revoked_before).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM device_authorizations WHERE expires_at < $1").bind(revoked_before).execute(&mut *tx).await?;
        // A pushed request is dead once unopened past its expiry or opened past the login window.
        sqlx::query("DELETE FROM pushed_requests WHERE expires_at < $1 AND (opened_at IS NULL OR opened_at < $1 - $2)")
            .bind(revoked_before)
            .bind(tessera_core::par::INTERACTION_WINDOW)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM authorization_codes WHERE issued_at < $1").bind(changes_before).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM changes WHERE at < $1 AND seq < (SELECT max(seq) FROM changes)")
            .bind(changes_before)
            .execute(&mut *tx)
            .await?;
        self.commit(tx, false).await
    }
}
