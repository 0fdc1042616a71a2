//! The versioned migrations of both backends, and what an operator needs to know about them
//! before an upgrade: which are applied (and when), which are pending, and whether and how each
//! can be rolled back.
//!
//! Every migration file opens with a header of `--!` lines that says whether and how it can be
//! rolled back. The header is cut off before sqlx sees the SQL: sqlx keeps the SHA-384 of each
//! applied migration's SQL and refuses, at every start, a store whose applied migrations differ
//! from the binary's, so the SQL of a released migration must never change by a byte.

use std::borrow::Cow;
use std::path::Path;
use std::str::FromStr;

use sqlx::Connection;
use sqlx::migrate::{Migration, MigrationType, Migrator};

use crate::{Result, StoreError};

/// One migration as embedded in the binary.
#[derive(Debug, Clone, Copy)]
pub struct Embedded {
    pub version: i64,
    pub description: &'static str,
    /// The file as written: the `--!` rollback header, then the SQL.
    pub file: &'static str,
}

const fn embedded(version: i64, description: &'static str, file: &'static str) -> Embedded {
    Embedded { version, description, file }
}

/// Which backend a migration file is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// One step of the store's history: one number and one change for both backends, in
/// `migrations/NNNN_name.sqlite.sql` and `migrations/NNNN_name.postgres.sql`. A change that
/// concerns one backend only has no file for the other, which skips the number.
struct Step {
    version: i64,
    description: &'static str,
    sqlite: Option<&'static str>,
    postgres: Option<&'static str>,
}

macro_rules! migration_file {
    ($name:literal) => {
        Some(include_str!(concat!("../migrations/", $name)))
    };
}

/// The history, oldest first. A new migration appends one step.
const HISTORY: &[Step] = &[
    Step {
        version: 1,
        description: "init",
        sqlite: migration_file!("0001_init.sqlite.sql"),
        postgres: migration_file!("0001_init.postgres.sql"),
    },
    Step {
        version: 2,
        description: "browser flows",
        sqlite: migration_file!("0002_browser_flows.sqlite.sql"),
        postgres: migration_file!("0002_browser_flows.postgres.sql"),
    },
    Step {
        version: 3,
        description: "failure counts",
        sqlite: migration_file!("0003_failure_counts.sqlite.sql"),
        postgres: migration_file!("0003_failure_counts.postgres.sql"),
    },
    // Many nodes on one database report their progress through the change feed.
    Step { version: 4, description: "nodes", sqlite: None, postgres: migration_file!("0004_nodes.postgres.sql") },
    Step {
        version: 5,
        description: "client keys",
        sqlite: migration_file!("0005_client_keys.sqlite.sql"),
        postgres: migration_file!("0005_client_keys.postgres.sql"),
    },
    Step {
        version: 6,
        description: "pushed authorization requests and device authorizations",
        sqlite: migration_file!("0006_par_device.sqlite.sql"),
        postgres: migration_file!("0006_par_device.postgres.sql"),
    },
    Step {
        version: 7,
        description: "resource indicators",
        sqlite: migration_file!("0007_audiences.sqlite.sql"),
        postgres: migration_file!("0007_audiences.postgres.sql"),
    },
    Step {
        version: 8,
        description: "dynamic client registration",
        sqlite: migration_file!("0008_dynamic_registration.sqlite.sql"),
        postgres: migration_file!("0008_dynamic_registration.postgres.sql"),
    },
    Step {
        version: 9,
        description: "dpop",
        sqlite: migration_file!("0009_dpop.sqlite.sql"),
        postgres: migration_file!("0009_dpop.postgres.sql"),
    },
    // SQLite keeps spent ids in a file of its own; PostgreSQL keeps its tables.
    Step {
        version: 10,
        description: "replay ids in a file of their own",
        sqlite: migration_file!("0010_replay_file.sqlite.sql"),
        postgres: None,
    },
    Step {
        version: 11,
        description: "pkce",
        sqlite: migration_file!("0011_pkce.sqlite.sql"),
        postgres: migration_file!("0011_pkce.postgres.sql"),
    },
    Step {
        version: 12,
        description: "user token cutoff",
        sqlite: migration_file!("0012_user_token_cutoff.sqlite.sql"),
        postgres: migration_file!("0012_user_token_cutoff.postgres.sql"),
    },
    Step {
        version: 13,
        description: "account tokens",
        sqlite: migration_file!("0013_account_tokens.sqlite.sql"),
        postgres: migration_file!("0013_account_tokens.postgres.sql"),
    },
    Step {
        version: 14,
        description: "session details",
        sqlite: migration_file!("0014_session_details.sqlite.sql"),
        postgres: migration_file!("0014_session_details.postgres.sql"),
    },
    Step {
        version: 15,
        description: "second factors",
        sqlite: migration_file!("0015_second_factors.sqlite.sql"),
        postgres: migration_file!("0015_second_factors.postgres.sql"),
    },
    Step {
        version: 16,
        description: "authentication methods",
        sqlite: migration_file!("0016_authentication_methods.sqlite.sql"),
        postgres: migration_file!("0016_authentication_methods.postgres.sql"),
    },
    Step {
        version: 17,
        description: "org require mfa",
        sqlite: migration_file!("0017_org_require_mfa.sqlite.sql"),
        postgres: migration_file!("0017_org_require_mfa.postgres.sql"),
    },
    Step {
        version: 18,
        description: "people",
        sqlite: migration_file!("0018_people.sqlite.sql"),
        postgres: migration_file!("0018_people.postgres.sql"),
    },
    Step {
        version: 19,
        description: "invitations",
        sqlite: migration_file!("0019_invitations.sqlite.sql"),
        postgres: migration_file!("0019_invitations.postgres.sql"),
    },
    Step {
        version: 20,
        description: "device amr",
        sqlite: migration_file!("0020_device_amr.sqlite.sql"),
        postgres: migration_file!("0020_device_amr.postgres.sql"),
    },
    Step {
        version: 21,
        description: "passkeys",
        sqlite: migration_file!("0021_passkeys.sqlite.sql"),
        postgres: migration_file!("0021_passkeys.postgres.sql"),
    },
    Step {
        version: 22,
        description: "client token cutoff",
        sqlite: migration_file!("0022_client_token_cutoff.sqlite.sql"),
        postgres: migration_file!("0022_client_token_cutoff.postgres.sql"),
    },
    Step {
        version: 23,
        description: "grant parent",
        sqlite: migration_file!("0023_grant_parent.sqlite.sql"),
        postgres: migration_file!("0023_grant_parent.postgres.sql"),
    },
    Step {
        version: 24,
        description: "previous client secret",
        sqlite: migration_file!("0024_previous_client_secret.sqlite.sql"),
        postgres: migration_file!("0024_previous_client_secret.postgres.sql"),
    },
    Step {
        version: 25,
        description: "approval requests",
        sqlite: migration_file!("0025_approval_requests.sqlite.sql"),
        postgres: migration_file!("0025_approval_requests.postgres.sql"),
    },
    Step {
        version: 26,
        description: "client usage",
        sqlite: migration_file!("0026_client_usage.sqlite.sql"),
        postgres: migration_file!("0026_client_usage.postgres.sql"),
    },
    Step {
        version: 27,
        description: "single sign on",
        sqlite: migration_file!("0027_single_sign_on.sqlite.sql"),
        postgres: migration_file!("0027_single_sign_on.postgres.sql"),
    },
];

/// The migrations `dialect` runs, oldest first.
pub(crate) fn migrations(dialect: Dialect) -> Vec<Embedded> {
    HISTORY
        .iter()
        .filter_map(|step| {
            let file = match dialect {
                Dialect::Sqlite => step.sqlite,
                Dialect::Postgres => step.postgres,
            }?;
            Some(embedded(step.version, step.description, file))
        })
        .collect()
}

const HEADER: &str = "--!";

impl Embedded {
    /// The SQL sqlx runs and checksums: the file without its rollback header.
    pub(crate) fn sql(&self) -> &'static str {
        let mut rest = self.file;
        while rest.starts_with(HEADER) {
            rest = rest.split_once('\n').map_or("", |(_, after)| after);
        }
        rest
    }

    /// What sqlx records of the migration: the SHA-384 of its SQL.
    pub(crate) fn checksum(&self) -> Vec<u8> {
        self.migration().checksum.into_owned()
    }

    fn migration(&self) -> Migration {
        Migration::new(self.version, Cow::Borrowed(self.description), MigrationType::Simple, Cow::Borrowed(self.sql()), false)
    }

    /// The rollback header as text, without its comment markers.
    pub(crate) fn rollback(&self) -> String {
        let header = self.file.len() - self.sql().len();
        self.file[..header]
            .lines()
            .map(|line| line.strip_prefix(HEADER).map_or(line, |l| l.strip_prefix(' ').unwrap_or(l)))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// The newest version a list knows.
pub(crate) fn newest(list: &[Embedded]) -> Option<i64> {
    list.last().map(|m| m.version)
}

/// The versions a store recorded under an earlier numbering of the history (before the two
/// backends shared one, their numbers had drifted apart), as `(recorded, now)`: each applied
/// migration is known by its checksum, which no renumbering changes.
pub(crate) fn renumbering(list: &[Embedded], recorded: &[(i64, Vec<u8>)]) -> Vec<(i64, i64)> {
    recorded
        .iter()
        .filter_map(|(version, checksum)| {
            let known = list.iter().find(|m| m.checksum() == *checksum)?;
            (known.version != *version).then_some((*version, known.version))
        })
        .collect()
}

/// A sqlx migrator over `list`, taking the backend's migration lock (so that nodes starting
/// together migrate once), one transaction per migration.
pub(crate) fn migrator(list: &[Embedded]) -> Migrator {
    let migrations: Vec<Migration> = list.iter().map(Embedded::migration).collect();
    Migrator { migrations: Cow::Owned(migrations), ignore_missing: false, locking: true, no_tx: false }
}

/// Where a migration stands in a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MigrationState {
    Applied,
    Pending,
    /// Started and failed: the store is refused until it is repaired (sqlx's "dirty" version).
    Failed,
    /// Applied, but from a different text than this binary's: the store is refused.
    Changed,
    /// Applied by a newer release, which this binary does not know (a rollback of the binary).
    Unknown,
}

impl MigrationState {
    pub fn as_str(self) -> &'static str {
        match self {
            MigrationState::Applied => "applied",
            MigrationState::Pending => "pending",
            MigrationState::Failed => "failed",
            MigrationState::Changed => "changed",
            MigrationState::Unknown => "unknown",
        }
    }
}

/// One migration: what this binary knows of it and what the store records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    pub version: i64,
    pub description: String,
    pub state: MigrationState,
    /// When the store recorded it (UTC, `YYYY-MM-DDTHH:MM:SSZ`).
    pub applied_at: Option<String>,
    /// Whether and how it can be rolled back (its file's header); empty for an unknown one.
    pub rollback: String,
}

impl MigrationStatus {
    /// The first line of the rollback note, e.g. `rollback: yes. Adds tables only.`
    pub fn rollback_summary(&self) -> &str {
        self.rollback.lines().next().unwrap_or("")
    }
}

/// The migrations of one store, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationReport {
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    /// False when there is no store at all yet (a SQLite file that does not exist).
    pub store_exists: bool,
    pub migrations: Vec<MigrationStatus>,
}

impl MigrationReport {
    pub fn pending(&self) -> usize {
        self.migrations.iter().filter(|m| m.state == MigrationState::Pending).count()
    }
}

/// A row of sqlx's `_sqlx_migrations`.
struct Recorded {
    version: i64,
    description: String,
    applied_at: Option<String>,
    success: bool,
    checksum: Vec<u8>,
}

/// `_sqlx_migrations`' columns as both backends read them: version, description, applied at
/// (UTC text), success, checksum.
type RecordedRow = (i64, String, Option<String>, bool, Vec<u8>);

impl From<RecordedRow> for Recorded {
    fn from((version, description, applied_at, success, checksum): RecordedRow) -> Self {
        Recorded { version, description, applied_at, success, checksum }
    }
}

/// Reads which migrations the store named by `url` has applied, and compares them with this
/// binary's. Changes nothing, needs no master key, and creates no SQLite file that is not there.
pub async fn migration_status(url: &str) -> Result<MigrationReport> {
    if url.starts_with("sqlite:") {
        let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Unavailable(format!("bad SQLite URL: {e}")))?
            .create_if_missing(false);
        let path = options.get_filename();
        if path != Path::new(":memory:") && !path.exists() {
            return Ok(report("sqlite", false, &migrations(Dialect::Sqlite), Vec::new()));
        }
        let mut connection = sqlx::SqliteConnection::connect_with(&options).await.map_err(StoreError::from)?;
        let exists: i64 = sqlx::query_scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'")
            .fetch_one(&mut connection)
            .await
            .map_err(StoreError::from)?;
        let recorded = if exists == 0 {
            Vec::new()
        } else {
            sqlx::query_as::<_, RecordedRow>(
                "SELECT version, description, strftime('%Y-%m-%dT%H:%M:%SZ', installed_on) AS applied_at, success, checksum \
                 FROM _sqlx_migrations ORDER BY version",
            )
            .fetch_all(&mut connection)
            .await
            .map_err(StoreError::from)?
            .into_iter()
            .map(Recorded::from)
            .collect()
        };
        let _ = connection.close().await;
        Ok(report("sqlite", true, &migrations(Dialect::Sqlite), recorded))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        let options = sqlx::postgres::PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Unavailable(format!("bad PostgreSQL URL: {e}")))?
            .application_name("tessera");
        let mut connection = sqlx::PgConnection::connect_with(&options).await.map_err(StoreError::from)?;
        let exists: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
            .fetch_one(&mut connection)
            .await
            .map_err(StoreError::from)?;
        let recorded = if exists {
            sqlx::query_as::<_, RecordedRow>(
                "SELECT version, description, \
                 to_char(installed_on AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS applied_at, success, checksum \
                 FROM _sqlx_migrations ORDER BY version",
            )
            .fetch_all(&mut connection)
            .await
            .map_err(StoreError::from)?
            .into_iter()
            .map(Recorded::from)
            .collect()
        } else {
            Vec::new()
        };
        let _ = connection.close().await;
        Ok(report("postgres", true, &migrations(Dialect::Postgres), recorded))
    } else {
        Err(StoreError::Unavailable("unsupported database URL: use sqlite://PATH or postgres://…".into()))
    }
}

/// This binary's migrations against what the store recorded, oldest first; migrations the
/// store has and this binary does not come last.
fn report(backend: &'static str, store_exists: bool, list: &[Embedded], mut recorded: Vec<Recorded>) -> MigrationReport {
    // A store not yet opened by this binary may still record an earlier numbering.
    let known: Vec<(i64, Vec<u8>)> = recorded.iter().map(|r| (r.version, r.checksum.clone())).collect();
    let moves = renumbering(list, &known);
    for row in &mut recorded {
        if let Some((_, to)) = moves.iter().find(|(from, _)| *from == row.version) {
            row.version = *to;
        }
    }
    let mut migrations: Vec<MigrationStatus> = list
        .iter()
        .map(|m| {
            let row = recorded.iter().find(|r| r.version == m.version);
            let state = match row {
                None => MigrationState::Pending,
                Some(r) if !r.success => MigrationState::Failed,
                Some(r) if r.checksum != *m.checksum() => MigrationState::Changed,
                Some(_) => MigrationState::Applied,
            };
            MigrationStatus {
                version: m.version,
                description: m.description.to_owned(),
                state,
                applied_at: row.and_then(|r| r.applied_at.clone()),
                rollback: m.rollback(),
            }
        })
        .collect();
    for row in recorded {
        if !list.iter().any(|m| m.version == row.version) {
            migrations.push(MigrationStatus {
                version: row.version,
                description: row.description,
                state: if row.success { MigrationState::Unknown } else { MigrationState::Failed },
                applied_at: row.applied_at,
                rollback: String::new(),
            });
        }
    }
    migrations.sort_by_key(|m| m.version);
    MigrationReport { backend, store_exists, migrations }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn checksum(m: &Embedded) -> String {
        hex(&m.checksum())
    }

    /// Every store records these (SHA-384 of each migration's SQL) and refuses a binary whose
    /// migrations differ: a released migration never changes, headers included.
    #[test]
    fn released_migrations_keep_their_checksums() {
        let expected: &[(Dialect, &[&str])] = &[
            (
                Dialect::Sqlite,
                &[
                    "ab5264920efdbb6025171cd0d47b26ad605441557b342c4a5436a107636df92a8f73195a789c775b17b50431fda96b83",
                    "aeb0b73eb23dbd64e6dc095dd160c2b88b5c04dfb4bfcd1dc379e60d0f39fd97b40c505d02888d2829d01cbfb64e4c13",
                    "35f248abc9e919a122368d99a8fbeca44c6481cd40138e054ee2901415fe6b3acc2a69f5bda7ccee19030d9739d9d9a8",
                    "f3dd58e7f90356d571ab011303e1f88cb30823b33b4f8a3c0dde6de9765d5445c464b46c44cb85f3f3dbb4e59a9e956f",
                    "26cc0b52536382b41d4809bae244399a0233aba8eb42e53a9bec724eaf4a847b434c870e852e1e28ec7dee47ff726ac8",
                    "490a3c1a64c520e29c5857e44ad2f1f858e069394a625f76e8ba2f59f84affbf1fce65738331b56f63595b4c282add2c",
                    "9d1f3e5206a60c353e26856ff030fad85f918af39c6b275475bc316e81ee5f67818db8ba8aa5bc90f7da8b64301da032",
                    "19a45793f6154ce8433ed42151fc1b6c24693f189ce9206a2a6b12c6b4b06b712bac9991e74a52dd5bfef917e999ba30",
                    "30231d1cce3bea39932e1b09b5f2b4296dc111e50365f5567077a333e7a4a64067490447134e8b8f373e3a93e11ee0fe",
                    "2e367c463774627be35bfcebfbd6d8186eee8be142c708fdd167fdf6d1b6efa64e195abb2b09510f47d94ae88cf952b8",
                    "9de3f74068a0d52b9238b16802faaf3d487b4d0605174e22a2b71dda174a70a936304ef40fbcf3d85d38b6a5e985f873",
                    "d5dd3bf8c7302d7fb7cf6c1b3ac2f1181227a3ba3be5381299e6b70f49a332ab56dbe16cde7b50438c41b4f91dbab570",
                    "c3bc054b1732316d2a396ef95ea833c25260fc38ba9b26eb128b05338274fe0d5ddc693e712857f3e41b6d663e063a4a",
                    "e4fdc7508ed7ad9aedd000b641086b3a11eaad1cf8c7a8f6e2b31a51d309c87e7c124426b1aa84c2465555369aec8c86",
                    "4f84a9a438e586e7d9f7382c4fbfed8a40c8b52875a341823ac41043167d3cd80a923182f653029b57c1a0c73b9f6d66",
                    "45ce85ce3aab04da776bb267fa34c109ce135b3ddc314d33f61e9fa0acfd4cb153f90fec8d8c6c20e65f3f2a4ba57927",
                    "53979180b3e8df7d7d1e4c51252bed99b00f078c2afb588acf37c033469c8a30f3aa79a568d930081f7f9aa18cfc577c",
                    "e7f4cb21d762b40bc2c2dbab29933f7fc59c76e81e04bf14c8759a2cb0487a8e8fd0d6f5de2518121df51e30de39aa70",
                    "39f577496d56422ac9137653982e9baa7ad6c2669006b54f144b8acd155d97df46e807aae66e47d40317816529a5a1e7",
                    "b9df054239527a8bea210d89ca015a5c8d9d97ec21eb6aaa53e3d1b049248f3357b5389b7b9f593f60d26066adfa6e7b",
                    "fdf99f0a25b5d6beebd03098a2d1cf15c033d4ceddb5e728ea10cb3c5dd41c322e524a86b7b5c9f4932570d8ed9f7d20",
                    "eff5342c45ffc9cd57eb78519de1defc6f3d92fed0844589c62d33e867f505ccfda7ebbc7b0f61624c7e6a9077fda842",
                    "f90151fcb62f17f6001c0d9dc37952cf18afbb716f9b4a9404754c8f6e30fdb16c2ca29b9b62be4bf3158a1f41b7713c",
                    "410f9d55a6a34b970ea73c875ccfe4bcf1535a3654fff686444ec4798d824a142f9755e96e84e197adb4d0f85f2886b5",
                    "a88806fd3e49f5426a15a471f351836e17657688eaf7c53e776b7c1f403d05928d586658ce170c64eb91fc1617ff94cf",
                    "e7077b136468d9e55c3ff706b875d973364d80f65196ded703a1acef70fe3a6c1e9bec2de65e7f9f8ab4bf37a2b24aa8",
                ],
            ),
            (
                Dialect::Postgres,
                &[
                    "22058b252ce88b30c7cb6723921457b76b6b856bcd40271423113340fc6b568ccf68a7ac790cd17123a37b61ffb18565",
                    "6223b68175b8950902639b07490adb8378c67929115f4cb172266dcabf540a4f4fc557ea2fd144204bd153734dbd77e9",
                    "b5118ba1afd7f436b183759dcb97d257925a7fb43c04e1ddb701f31ecf0cb8ce9e491d85dc6f810cdd0d877d9194cd8a",
                    "841790fd388eef54744709f0b1b2901d9a524235b58a51320cc9518aa399ec7a4bac01bd3d8757bea92ef32bf4cfdc27",
                    "595bdfe762601c119cfb3473c3c5c2d5fc78ec723eb79984544a21f892a74a6f90f5cc3a9fc8a0fac5c2f4236928d04d",
                    "eccc7f2d596b2e9efd321817bdee5911f02f8a230e2f0c84f5cf7a5c02e5887ffaa1c9d290bb0213d80e2bfd2ddc25de",
                    "7a0fd7893da2e923c61bd546922b759b992416eef5aa0a72f43226d839d2eb8e911f9a423b38292f7ea39c4106be2f7d",
                    "ee11a6f7aaa1cd83768b1fb90c5381dca6f7332f0f16d92a3f4938fe585db8d187b83f5bd1caad0ccbb415858e2e524e",
                    "04e5f7c1837df4d9acb4de9578ff7f3131e08914a0a8a18ece16843f3a6ac10d72b403b9aa9c2d11b6cf98f917bc1aa6",
                    "5a294301638a2980e2050cc9df0d8948b25ea3b31754f683c6a3139133e4049885f6b79a0f74ab34452af46da7e7aa5b",
                    "f557a62e6ea0baecf34737b48330164590716a779ff5c425370251d42294e31cbd69d21efe6fd822d89735c5528d7a60",
                    "852b790739a803ddfc033f6ecd50bd249e60d1787eb4bb987e1a66be2902795dc17bcc80fe734fe7d3f928ff2a1ffc75",
                    "c3bc054b1732316d2a396ef95ea833c25260fc38ba9b26eb128b05338274fe0d5ddc693e712857f3e41b6d663e063a4a",
                    "8dfcf3f99cef8da0cb1b74ea0ab42b01c0dfea9e0d99eff8df04fc0c3e4c3ca55796dffb34f77c71fe598ed79a4c7142",
                    "4f84a9a438e586e7d9f7382c4fbfed8a40c8b52875a341823ac41043167d3cd80a923182f653029b57c1a0c73b9f6d66",
                    "1f34a52f7c090f694f04db0857958c041fa1988ed82293b79fd893b64d270ecbc8f1082d6cc86ae35cd6075258496469",
                    "53c49175df9e2d39b847b6630656409676f6ae0580f397e485010d51c8b1df7608de2ea0873747d02dfb5a5c47a0d2e9",
                    "cea92b9516d87b14284e34a0fcd0d1303499651281dd413d8d9b1da8a95b1e8747af4614f5891ab4b61c31216e2a5f3c",
                    "39f577496d56422ac9137653982e9baa7ad6c2669006b54f144b8acd155d97df46e807aae66e47d40317816529a5a1e7",
                    "cfa7f499f2f68997a47251065c6c60a55cfa00d6ff793068e2aa54f7932439737ae245a03866c2b6f05c4fcb470c7d75",
                    "52b0ac62d4622d20cece6196eda283993aad8ac8fe54dfd66f2c5949f6e7a01939d004ceeb4cad063ccd126049bc7b5c",
                    "eff5342c45ffc9cd57eb78519de1defc6f3d92fed0844589c62d33e867f505ccfda7ebbc7b0f61624c7e6a9077fda842",
                    "ca9bfd0a381493a4f5021566cd7c7a537fb9dca45d19ebe84a6f2accd909ff758611d8b5d69561a22b84211235efb720",
                    "1e8feaea965bf5cb6f2fbc6c5226ae418743be31dd2fb96ee7add5233eafd68b6022cf483a2aa45e38805b90f85fc768",
                    "212c95e8fa3c0f7624d77b49162bd0d73457f0e873fdb947dfa9398d32e9498d48d028df2a659aee79e1a22ef852d53e",
                    "8b97116161d03a178b0a3c794d5c76c39712464d481ec6a430858ea7f6244c4e5504c6a526cb3970196aee5f6bca6325",
                ],
            ),
        ];
        for (dialect, checksums) in expected {
            let actual: Vec<String> = migrations(*dialect).iter().map(checksum).collect();
            assert_eq!(&actual, checksums, "a released migration's SQL changed");
        }
    }

    #[test]
    fn every_migration_says_whether_and_how_it_rolls_back() {
        for m in migrations(Dialect::Sqlite).iter().chain(&migrations(Dialect::Postgres)) {
            let rollback = m.rollback();
            let summary = rollback.lines().next().unwrap_or("");
            assert!(summary.starts_with("rollback: yes") || summary.starts_with("rollback: no"), "{}: {summary:?}", m.version);
            assert!(!m.sql().starts_with(HEADER) && m.sql().starts_with("-- Tessera store, version"), "{}", m.version);
            if summary.starts_with("rollback: yes") {
                assert!(rollback.contains(&format!("DELETE FROM _sqlx_migrations WHERE version = {};", m.version)), "{}", m.version);
            }
        }
    }

    #[test]
    fn one_history_numbers_every_step_once_for_both_backends() {
        assert!(HISTORY.windows(2).all(|w| w[1].version == w[0].version + 1), "numbered 1, 2, 3, … without gaps");
        assert!(HISTORY.iter().all(|step| step.sqlite.is_some() || step.postgres.is_some()));
        assert_eq!(HISTORY[0].version, 1);
    }

    #[test]
    fn a_store_numbered_before_the_shared_history_is_renumbered_by_checksum() {
        let sqlite = migrations(Dialect::Sqlite);
        // SQLite's earlier numbers ran 1..=11 over the same files; PostgreSQL's only differed
        // from 10 on (its 10 and 11 are now 11 and 12).
        // Only the migrations released before the shared numbering (up to 12) had earlier numbers.
        let released = |m: &&Embedded| m.version <= 12;
        let earlier: Vec<(i64, Vec<u8>)> = sqlite.iter().filter(released).zip(1..).map(|(m, old)| (old, m.checksum())).collect();
        let moves = renumbering(&sqlite, &earlier);
        assert_eq!(moves, vec![(4, 5), (5, 6), (6, 7), (7, 8), (8, 9), (9, 10), (10, 11), (11, 12)]);
        let current: Vec<(i64, Vec<u8>)> = sqlite.iter().map(|m| (m.version, m.checksum())).collect();
        assert!(renumbering(&sqlite, &current).is_empty());
        let postgres = migrations(Dialect::Postgres);
        let earlier: Vec<(i64, Vec<u8>)> = postgres.iter().filter(released).zip(1..).map(|(m, old)| (old, m.checksum())).collect();
        assert_eq!(renumbering(&postgres, &earlier), vec![(10, 11), (11, 12)]);
        // A migration of a newer release (unknown checksum) keeps its number.
        assert!(renumbering(&postgres, &[(13, vec![0; 48])]).is_empty());
    }

    #[test]
    fn the_header_is_cut_off_exactly() {
        let m = embedded(1, "t", "--! rollback: no. Why.\n--!     SQL;\n-- Tessera store, version 1\nCREATE TABLE t (a);\n");
        assert_eq!(m.sql(), "-- Tessera store, version 1\nCREATE TABLE t (a);\n");
        assert_eq!(m.rollback(), "rollback: no. Why.\n    SQL;");
        let bare = embedded(1, "t", "CREATE TABLE t (a);");
        assert_eq!((bare.sql(), bare.rollback().as_str()), ("CREATE TABLE t (a);", ""));
    }
}
