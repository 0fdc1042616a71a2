//! The `tessera` binary: parses flags, wires configuration, and calls the server and service
//! crates. Nothing else lives here.

use std::ffi::OsString;
use std::io::BufRead as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, FromArgMatches as _, Parser, Subcommand};
use serde_json::{Value, json};
use tessera_core::model::{ClientStatus, Pkce, Role};
use tessera_server::config::{Config, ConfigLayer, GlobalLayer, ServeLayer};
use tessera_service::ServiceError;
use tessera_service::admin::{Actor, AuditFilter, ClientEdit, IdentityProviderEdit, NewClient, NewIdentityProvider, NewUser, OrgChange};

#[derive(Debug, Parser)]
#[command(name = "tessera", version, about = "An OAuth 2.1 / OpenID Connect authorization server for companies that sell an API")]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

/// Options every command takes: the settings of `GlobalLayer` (each also read from `TESSERA_*`
/// in the environment), the configuration file and the output format.
#[derive(Debug, Args)]
struct GlobalArgs {
    /// A TOML configuration file of setting keys (flags and environment take precedence over it).
    #[arg(long, global = true, env = "TESSERA_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Print exactly one JSON value on stdout.
    #[arg(long, global = true)]
    json: bool,
    #[command(flatten)]
    settings: GlobalLayer,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server.
    // Boxed: its settings are most of the size of every command.
    Serve(Box<ServeArgs>),
    /// Apply pending store migrations and exit; with --status, list them and apply nothing.
    Migrate(MigrateArgs),
    /// Copy the SQLite store and its replay file, consistently, while servers keep running.
    Backup(BackupArgs),
    /// Organizations (tenants).
    #[command(subcommand)]
    Org(OrgCommand),
    /// An organization's scope catalogue.
    #[command(subcommand)]
    Scope(ScopeCommand),
    /// Users.
    #[command(subcommand)]
    User(UserCommand),
    /// API clients.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Upstream OpenID Providers an organization's members sign in with (single sign-on).
    #[command(subcommand)]
    Idp(IdpCommand),
    /// Signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// The audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Write organizations, scopes, people and clients to standard output in the export format
    /// (docs/migration.md), e.g. `tessera export > acme.json`; a file it is written to is made
    /// readable by its owner only.
    Export(ExportArgs),
    /// Bring a file in the export format into the store (docs/migration.md): all of it in one
    /// transaction or nothing; a record whose id is there already is changed to what the file
    /// says, so importing a file twice changes nothing the second time.
    Import(ImportArgs),
}

#[derive(Debug, Args)]
struct ImportArgs {
    /// The file (tessera-export/1).
    file: PathBuf,
    /// Check the file and print what would be created or changed; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// The issuer URL the server runs under, which the links of the invitations start with (as
    /// `serve --issuer`; default: the configuration file's).
    #[arg(long, env = "TESSERA_ISSUER", value_name = "URL")]
    issuer: Option<String>,
}

#[derive(Debug, Args)]
struct ExportArgs {
    /// Only this organization (name or id), its people's memberships there and its clients.
    #[arg(long)]
    org: Option<String>,
    /// Include the password hashes and the client secrets.
    #[arg(long)]
    include_secrets: bool,
}

#[derive(Debug, Args)]
struct MigrateArgs {
    /// List the applied and pending migrations (when each was applied, whether and how it can
    /// be rolled back) and change nothing.
    #[arg(long)]
    status: bool,
}

#[derive(Debug, Args)]
struct BackupArgs {
    /// The file to write; it must not exist. The replay file is copied beside it, named as a
    /// store's replay file is (backup.db: backup-replay.db). The master key is not copied.
    #[arg(long, value_name = "FILE")]
    to: PathBuf,
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// List audit entries, newest first.
    List {
        /// Only this organization's entries (its id or name).
        #[arg(long)]
        org: Option<String>,
        /// Only entries older than this entry id (for paging).
        #[arg(long)]
        before: Option<i64>,
        /// At most this many entries.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
}

#[derive(Debug, Args)]
struct ServeArgs {
    #[command(flatten)]
    settings: ServeLayer,
}

#[derive(Debug, Subcommand)]
enum OrgCommand {
    /// Create an organization.
    Create {
        /// Its name, unique among organizations.
        #[arg(long)]
        name: String,
    },
    /// List organizations.
    List,
    /// Change an organization's settings.
    Update {
        /// The organization's id or name.
        org: String,
        /// Members must sign in with a second factor: those without one are sent to set one up
        /// right after signing in, and can do nothing else until they have.
        #[arg(long, value_name = "BOOL")]
        require_mfa: Option<bool>,
        /// Members sign in through the organization's identity provider: password sign-in is off
        /// for them, owners excepted (their break-glass password). Needs a provider (`idp add`).
        #[arg(long, value_name = "BOOL")]
        require_sso: Option<bool>,
    },
}

#[derive(Debug, Subcommand)]
enum IdpCommand {
    /// Connect an upstream OpenID Provider to an organization; register the printed
    /// `redirect_uri` with the provider.
    Add {
        /// The organization's id or name.
        #[arg(long)]
        org: String,
        /// What the sign-in page offers: "Continue with NAME".
        #[arg(long)]
        name: String,
        /// The provider's issuer URL (its discovery document is read from ISSUER/.well-known/openid-configuration).
        #[arg(long, value_name = "URL")]
        issuer: String,
        /// Tessera's client id at the provider.
        #[arg(long, value_name = "ID")]
        client_id: String,
        /// Read the client secret from the first line of standard input (never from a flag).
        #[arg(long)]
        client_secret_stdin: bool,
        /// An email domain whose people sign in here, and may become members at their first
        /// sign-in; repeatable.
        #[arg(long = "email-domain", value_name = "DOMAIN")]
        email_domains: Vec<String>,
        /// The role of a member made at their first sign-in: member or admin.
        #[arg(long, default_value = "member", value_name = "ROLE")]
        default_role: String,
    },
    /// List identity providers (of one organization with --org).
    List {
        /// The organization's id or name.
        #[arg(long)]
        org: Option<String>,
    },
    /// Show an identity provider.
    Show {
        /// The provider's id.
        id: String,
    },
    /// Change an identity provider.
    Update {
        /// The provider's id.
        id: String,
        /// A new name for the sign-in page.
        #[arg(long)]
        name: Option<String>,
        /// A new issuer URL.
        #[arg(long, value_name = "URL")]
        issuer: Option<String>,
        /// A new client id at the provider.
        #[arg(long, value_name = "ID")]
        client_id: Option<String>,
        /// Read a new client secret from the first line of standard input.
        #[arg(long)]
        client_secret_stdin: bool,
        /// The email domains, replacing the provider's; repeatable.
        #[arg(long = "email-domain", value_name = "DOMAIN")]
        email_domains: Vec<String>,
        /// Claim no email domains any more.
        #[arg(long, conflicts_with = "email_domains")]
        no_email_domains: bool,
        /// A new default role: member or admin.
        #[arg(long, value_name = "ROLE")]
        default_role: Option<String>,
    },
    /// Disconnect an identity provider (people keep their accounts and passwords).
    Remove {
        /// The provider's id.
        id: String,
    },
}

#[derive(Debug, Subcommand)]
enum ScopeCommand {
    /// Add a scope to an organization's catalogue (built-in scopes: no-op).
    Create {
        /// The organization's id or name.
        #[arg(long)]
        org: String,
        /// The scope's name (RFC 6749 §3.3), e.g. projects:read.
        name: String,
        /// Only owners and admins can grant it.
        #[arg(long)]
        restricted: bool,
    },
    /// List an organization's scopes.
    List {
        /// The organization's id or name.
        #[arg(long)]
        org: String,
    },
    /// Make a catalogue scope restricted (owners and admins only) or not.
    Update {
        /// The organization's id or name.
        #[arg(long)]
        org: String,
        /// The catalogue scope's name.
        name: String,
        /// true: only owners and admins can grant it; false: everyone.
        #[arg(long, action = clap::ArgAction::Set)]
        restricted: bool,
    },
}

/// Who joins which organization, in what role (`user create`, `user invite`).
#[derive(Debug, clap::Args)]
struct MemberArgs {
    /// The organization's id or name.
    #[arg(long)]
    org: String,
    /// The person's email.
    #[arg(long)]
    email: String,
    /// owner, admin or member.
    #[arg(long)]
    role: String,
}

impl MemberArgs {
    fn role(&self) -> anyhow::Result<Role> {
        Role::parse(&self.role).ok_or_else(|| bad_input(format!("--role {:?} is not one of owner, admin, member", self.role)))
    }
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create a user (on an email that has an account: a membership of that person, who keeps
    /// their password).
    Create {
        #[command(flatten)]
        who: MemberArgs,
        /// A service user: no password, cannot log in, exists to be a client's run-as user.
        #[arg(long)]
        service: bool,
        /// Read the password from the first line of standard input.
        #[arg(long, conflicts_with = "password_hash_stdin")]
        password_stdin: bool,
        /// Read a password hash brought from another vendor from the first line of standard
        /// input: Argon2id or Argon2i (PHC), bcrypt ($2a$, $2b$, $2y$), passlib's
        /// $pbkdf2-sha256$ or scrypt. It is replaced with an Argon2id hash at the next sign-in.
        #[arg(long)]
        password_hash_stdin: bool,
        /// A permission to grant: authorize_applications.
        #[arg(long = "permission")]
        permissions: Vec<String>,
    },
    /// Invite an email to an organization with a role: prints the link /invite/…, which works
    /// once, for 7 days (and mails it when this command sends mail). The invitee chooses a
    /// password, or signs in to accept when the email has an account.
    Invite {
        #[command(flatten)]
        who: MemberArgs,
        /// The issuer URL the server runs under, which the link starts with (as `serve
        /// --issuer`; default: the configuration file's).
        #[arg(long, env = "TESSERA_ISSUER", value_name = "URL")]
        issuer: Option<String>,
    },
    /// Change a user's role or `authorize_applications` permission.
    Update {
        /// The user's email, or their id (`user list --org ORG` shows it) for a person in
        /// several organizations.
        email: String,
        /// owner, admin or member.
        #[arg(long)]
        role: Option<String>,
        /// Grant (true) or take away (false) the authorize_applications permission.
        #[arg(long)]
        authorize_applications: Option<bool>,
    },
    /// List an organization's users.
    List {
        /// The organization's id or name.
        #[arg(long)]
        org: String,
    },
    /// Disable a user: their tokens stop working at once.
    Disable {
        /// The user's email, or their id.
        email: String,
    },
    /// Enable a user again.
    Enable {
        /// The user's email, or their id.
        email: String,
    },
    /// Set a user's password (the operator's reset): every session of the user ends and their
    /// sign-in lock-out is lifted. At least 12 characters, not a common password.
    SetPassword {
        /// The user's email.
        email: String,
        /// Read the password from the first line of standard input (required: a password on the
        /// command line would show in the process list).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
enum RegistrationTokenCommand {
    /// Issue an initial access token: clients registered with it at /oauth2/register belong to
    /// OWNER in ORG. Printed once, stored hashed.
    Create {
        /// The organization's id or name.
        #[arg(long)]
        org: String,
        /// The email of the user the registered clients belong to.
        #[arg(long)]
        owner: String,
        /// Seconds it stays valid (default: no expiry).
        #[arg(long)]
        expires_in: Option<i64>,
        /// Registrations it allows (default: any number).
        #[arg(long)]
        uses: Option<u32>,
    },
}

#[derive(Debug, Subcommand)]
enum ClientCommand {
    /// Register a client; prints its id and secret.
    Create(Box<ClientCreateArgs>),
    /// List clients.
    List {
        /// Only this organization's clients (its id or name).
        #[arg(long)]
        org: Option<String>,
    },
    /// Show a client (without its secret).
    Show {
        /// The client id.
        id: String,
    },
    /// Change a client's settings; what is not given stays as it is.
    Update(Box<ClientUpdateArgs>),
    /// Turn a client OFF: authentication fails, its tokens stop working.
    Disable {
        /// The client id.
        id: String,
    },
    /// Turn a client ON again.
    Enable {
        /// The client id.
        id: String,
    },
    /// Delete a client.
    Delete {
        /// The client id.
        id: String,
    },
    /// Replace a client's secret; the old one stops working at once, or after --grace.
    RegenerateSecret {
        /// The client id.
        id: String,
        /// Keep the old secret working beside the new one for this many seconds (at most
        /// 2592000, 30 days), so the client can be moved to the new one without an outage.
        #[arg(long, value_name = "SECONDS")]
        grace: Option<u32>,
    },
    /// Initial access tokens for dynamic client registration (RFC 7591).
    #[command(subcommand)]
    RegistrationToken(RegistrationTokenCommand),
    /// Approve a client for an organization's users (needed with --requires-org-approval).
    Approve {
        /// The client id.
        id: String,
        /// The organization whose users it may act for (its id or name).
        #[arg(long)]
        org: String,
    },
    /// List the clients approved for an organization.
    Approvals {
        /// The organization's id or name.
        #[arg(long)]
        org: String,
    },
    /// Withdraw an approval; that organization's refresh tokens for the client stop working.
    Unapprove {
        /// The client id.
        id: String,
        /// The organization's id or name.
        #[arg(long)]
        org: String,
    },
}

#[derive(Debug, Args)]
struct ClientCreateArgs {
    /// The organization's id or name.
    #[arg(long)]
    org: String,
    /// The owner's email.
    #[arg(long)]
    owner: String,
    /// A name for people (the portal, the consent page).
    #[arg(long)]
    name: String,
    /// client_credentials (default), authorization_code, refresh_token, implicit, device_code,
    /// token_exchange (repeatable).
    #[arg(long = "grant")]
    grants: Vec<String>,
    /// A registered scope (repeatable; default: every catalogue scope the owner may grant).
    #[arg(long = "scope")]
    scopes: Vec<String>,
    /// A redirect URI of the browser flows, matched exactly (repeatable; at most 100).
    #[arg(long = "redirect-uri")]
    redirect_uris: Vec<String>,
    /// A browser origin allowed to call the token endpoint, https://host[:port] (CORS;
    /// repeatable; default: none).
    #[arg(long = "allowed-origin")]
    allowed_origins: Vec<String>,
    /// An address or CIDR range allowed to use the client (repeatable; default: any).
    #[arg(long = "allowed-ip")]
    allowed_ips: Vec<String>,
    /// The email of the user the client acts as (default: the owner).
    #[arg(long)]
    run_as: Option<String>,
    /// A public client: no secret, PKCE always required.
    #[arg(long)]
    public: bool,
    /// Access-token lifetime in seconds for this client (capped by configuration).
    #[arg(long)]
    access_token_ttl: Option<u32>,
    /// Act for another organization's users only once that organization approves the client
    /// (`client approve`).
    #[arg(long)]
    requires_org_approval: bool,
    /// Authorization requests must be pushed to /oauth2/par first (RFC 9126).
    #[arg(long = "require-par")]
    require_pushed_authorization_requests: bool,
    /// Every token request must carry a DPoP proof, so every access token is DPoP-bound
    /// (RFC 9449 §5.2 `dpop_bound_access_tokens`).
    #[arg(long = "require-dpop")]
    dpop_bound_access_tokens: bool,
    /// Whether the code flow needs PKCE: required (the default; always for --public) or
    /// optional, for a legacy confidential client that sends no code_challenge. The default
    /// is optional while the server runs the bluescape profile.
    #[arg(long, value_name = "required|optional", value_parser = parse_pkce)]
    pkce: Option<Pkce>,
    /// A resource (absolute URI, no fragment) the client may ask tokens for with `resource`
    /// (RFC 8707; repeatable; default: none, tokens carry the default audience).
    #[arg(long = "resource")]
    resources: Vec<String>,
    /// How the client authenticates: client_secret_basic (default), client_secret_post,
    /// private_key_jwt (implied by --jwks or --jwks-uri) or none (implied by --public).
    #[arg(long)]
    token_endpoint_auth_method: Option<String>,
    /// private_key_jwt: a file holding the client's public key(s): a JWKS, a JWK or a PEM
    /// public key. Private keys are refused.
    #[arg(long, value_name = "FILE")]
    jwks: Option<PathBuf>,
    /// private_key_jwt: an https URL serving the client's JWKS (http only on a loopback host).
    #[arg(long, value_name = "URL")]
    jwks_uri: Option<String>,
}

#[derive(Debug, Args)]
struct ClientUpdateArgs {
    /// The client id.
    id: String,
    /// A new name for people.
    #[arg(long)]
    name: Option<String>,
    /// Replaces the grant types, as on `client create` (repeatable; given: the whole new list).
    #[arg(long = "grant")]
    grants: Vec<String>,
    /// Replaces the registered scopes (repeatable; given: the whole new list).
    #[arg(long = "scope")]
    scopes: Vec<String>,
    /// New public keys of a private_key_jwt client (JWKS, JWK or PEM file), replacing the old.
    #[arg(long, value_name = "FILE")]
    jwks: Option<PathBuf>,
    /// A new jwks_uri of a private_key_jwt client.
    #[arg(long, value_name = "URL")]
    jwks_uri: Option<String>,
    /// Replaces the redirect URIs (repeatable).
    #[arg(long = "redirect-uri")]
    redirect_uris: Vec<String>,
    /// Replaces the browser origins allowed to call the token endpoint (CORS; repeatable).
    #[arg(long = "allowed-origin")]
    allowed_origins: Vec<String>,
    /// Replaces the addresses or CIDR ranges allowed to use the client (repeatable).
    #[arg(long = "allowed-ip", conflicts_with = "any_ip")]
    allowed_ips: Vec<String>,
    /// Lets every address use the client again.
    #[arg(long)]
    any_ip: bool,
    /// Replaces the resources the client may ask tokens for (RFC 8707; repeatable).
    #[arg(long = "resource", conflicts_with = "clear_resources")]
    resources: Vec<String>,
    /// Removes every resource: the client's tokens carry the default audience only.
    #[arg(long)]
    clear_resources: bool,
    /// Access-token lifetime in seconds for this client.
    #[arg(long, conflicts_with = "default_access_token_ttl")]
    access_token_ttl: Option<u32>,
    /// Back to the server's access-token lifetime.
    #[arg(long)]
    default_access_token_ttl: bool,
    /// The user (email or id) the client's client-credentials tokens act as; the owner, or a user
    /// of the owner's organization allowed to authorize applications.
    #[arg(long)]
    run_as: Option<String>,
    /// Whether the client acts for another organization's users only once that organization approves it.
    #[arg(long)]
    requires_org_approval: Option<bool>,
    /// Whether authorization requests must be pushed to /oauth2/par first (RFC 9126).
    #[arg(long = "require-par")]
    require_pushed_authorization_requests: Option<bool>,
    /// Whether every token request must carry a DPoP proof (RFC 9449 §5.2).
    #[arg(long = "require-dpop")]
    dpop_bound_access_tokens: Option<bool>,
    /// Whether the code flow needs PKCE: required or optional (confidential clients only).
    #[arg(long, value_name = "required|optional", value_parser = parse_pkce)]
    pkce: Option<Pkce>,
}

fn parse_pkce(value: &str) -> Result<Pkce, String> {
    Pkce::parse(value).ok_or_else(|| format!("{value:?} is not required or optional"))
}

fn read_key_file(path: Option<&std::path::Path>) -> anyhow::Result<Option<String>> {
    path.map(|p| std::fs::read_to_string(p).with_context(|| format!("cannot read --jwks {}", p.display()))).transpose()
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// List signing keys.
    List,
    /// Rotate now: the published next key starts signing.
    Rotate,
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Revoke an access token issued by this server ("-" reads it from standard input).
    Revoke {
        /// The access token, or "-" to read it from standard input (a token on the command
        /// line shows in the process list).
        token: String,
    },
}

/// What a command prints: its JSON value, and for some commands a text of their own for people
/// (otherwise the value is printed as `key: value` lines).
struct Output {
    value: Value,
    text: Option<String>,
}

impl From<Value> for Output {
    fn from(value: Value) -> Self {
        Self { value, text: None }
    }
}

/// An import file, with a JSON error told by where it is (`clients[2].grants`, line and column).
fn read_import_file(text: &str) -> anyhow::Result<tessera_proto::ExportFile> {
    let format = serde_json::from_str::<Value>(text).ok().and_then(|v| v.get("format").and_then(Value::as_str).map(str::to_owned));
    if let Some(format) = format.filter(|f| f != tessera_proto::EXPORT_FORMAT) {
        anyhow::bail!("format {format:?} is not {}, the format this release reads", tessera_proto::EXPORT_FORMAT);
    }
    let mut deserializer = serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." { anyhow::anyhow!("{inner}") } else { anyhow::anyhow!("{path}: {inner}") }
    })
}

/// When standard output is a file (`tessera export > FILE`), makes it readable and writable by
/// its owner only, before anything is written to it: an export holds emails, and may hold hashes
/// and secrets.
fn restrict_stdout_file() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        use std::os::unix::fs::PermissionsExt;
        let stdout = std::fs::File::from(std::io::stdout().as_fd().try_clone_to_owned()?);
        if stdout.metadata()?.is_file() {
            stdout.set_permissions(std::fs::Permissions::from_mode(0o600)).context("cannot make the export file private")?;
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e, json_requested(&args)),
    };
    let json = cli.global.json;
    let named = cli.command.named_values();
    match run(cli) {
        Ok(output) => {
            match output.text {
                Some(text) if !json => print!("{text}"),
                _ => print_result(&output.value, json),
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            Failure::of(&e, &named).print(json);
            ExitCode::FAILURE
        }
    }
}

/// Whether the command line asks for `--json`, read before clap parses it (so that a command
/// line clap refuses is reported as JSON too): anywhere after `tessera`, before a `--`.
fn json_requested(args: &[OsString]) -> bool {
    args.iter().skip(1).take_while(|arg| arg.to_str() != Some("--")).any(|arg| arg.to_str() == Some("--json"))
}

/// A command line clap refuses: its message (with `--json`, as the error object of code
/// `usage`) and exit status 2, as clap's own. `--help` and `--version` print as usual.
fn usage_error(error: &clap::Error, json: bool) -> ExitCode {
    use clap::error::ErrorKind;
    if !json || matches!(error.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        error.exit();
    }
    let rendered = error.render().to_string();
    let usage = rendered.lines().find_map(|line| line.trim().strip_prefix("Usage: ")).map(str::trim);
    let what = match error.kind() {
        // clap shows the help of a command given without its subcommand.
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => "a command is missing".to_owned(),
        _ => clap_message(error),
    };
    let message = match usage {
        Some(usage) => format!("{what}; usage: {usage}"),
        None => what,
    };
    Failure { code: "usage", field: None, message }.print(true);
    ExitCode::from(2)
}

impl Command {
    /// The values this command names, by the noun the service says when it finds no such
    /// thing (`ServiceError::NotFound`): the error then names the value, `organization "x" not
    /// found`. A noun two arguments could mean is left out.
    fn named_values(&self) -> Vec<(&'static str, String)> {
        const ORG: &str = "organization";
        const USER: &str = "user";
        const CLIENT: &str = "client";
        const SCOPE: &str = "scope";
        const PROVIDER: &str = "identity provider";
        let pairs: Vec<(&'static str, &String)> = match self {
            Command::Org(OrgCommand::Update { org, .. })
            | Command::Scope(ScopeCommand::List { org })
            | Command::User(UserCommand::List { org })
            | Command::Client(ClientCommand::List { org: Some(org) } | ClientCommand::Approvals { org })
            | Command::Idp(IdpCommand::Add { org, .. } | IdpCommand::List { org: Some(org) })
            | Command::Audit(AuditCommand::List { org: Some(org), .. })
            | Command::Export(ExportArgs { org: Some(org), .. }) => vec![(ORG, org)],
            Command::Scope(ScopeCommand::Create { org, name, .. } | ScopeCommand::Update { org, name, .. }) => {
                vec![(ORG, org), (SCOPE, name)]
            }
            Command::User(UserCommand::Create { who, .. } | UserCommand::Invite { who, .. }) => vec![(ORG, &who.org)],
            Command::User(
                UserCommand::Update { email, .. }
                | UserCommand::Disable { email }
                | UserCommand::Enable { email }
                | UserCommand::SetPassword { email, .. },
            ) => vec![(USER, email)],
            Command::Client(ClientCommand::Create(args)) => vec![(ORG, &args.org), (USER, &args.owner)],
            Command::Client(ClientCommand::RegistrationToken(RegistrationTokenCommand::Create { org, owner, .. })) => {
                vec![(ORG, org), (USER, owner)]
            }
            Command::Client(
                ClientCommand::Show { id }
                | ClientCommand::Disable { id }
                | ClientCommand::Enable { id }
                | ClientCommand::Delete { id }
                | ClientCommand::RegenerateSecret { id, .. },
            ) => vec![(CLIENT, id)],
            Command::Client(ClientCommand::Update(args)) => vec![(CLIENT, &args.id)],
            Command::Client(ClientCommand::Approve { id, org } | ClientCommand::Unapprove { id, org }) => vec![(CLIENT, id), (ORG, org)],
            Command::Idp(IdpCommand::Show { id } | IdpCommand::Update { id, .. } | IdpCommand::Remove { id }) => vec![(PROVIDER, id)],
            _ => Vec::new(),
        };
        pairs.into_iter().map(|(noun, value)| (noun, value.clone())).collect()
    }
}

/// What clap says is wrong, on one line: the first paragraph of its message, without `error: `
/// (the tip, the usage and the pointer to `--help` follow it).
fn clap_message(error: &clap::Error) -> String {
    let rendered = error.render().to_string();
    let paragraph: Vec<&str> =
        rendered.lines().map(str::trim).skip_while(|line| line.is_empty()).take_while(|line| !line.is_empty()).collect();
    let text = paragraph.join(" ");
    text.strip_prefix("error: ").map_or_else(|| text.clone(), str::to_owned)
}

/// A failed command as it is reported: with `--json`, one object `{"error": CODE, "message":
/// TEXT}` (and `"field"` for invalid input about one) on stderr; else `error: TEXT`. The codes
/// (README, "The command line for scripts"), from the error's type:
///
/// | code | what |
/// |---|---|
/// | `usage` | the command line: an unknown flag, a missing or bad argument (exit status 2) |
/// | `invalid_config` | the configuration: flags, `TESSERA_*`, the `--config` file, the log filter |
/// | `invalid_input` | input the command itself refuses: an argument's value, a file to import |
/// | `io` | a file or standard input that cannot be read or written |
/// | `invalid` | input a rule refuses (`field`: the field it is about, when there is one) |
/// | `not_found` | what the command names does not exist (the message names it) |
/// | `conflict` | the change conflicts with what is there |
/// | `forbidden` | the change is not allowed (the message says why) |
/// | `off` | a feature this server is not set up for |
/// | `unavailable` | the store cannot be reached, or is read-only or full |
/// | `internal` | a bug or corrupt data (the details go to the log) |
/// | `oauth`, `not_approved`, `bad_credentials`, `too_many_attempts` | the protocol's refusals |
/// | `failed` | anything else, e.g. a missing master key: the message says what |
struct Failure {
    code: &'static str,
    field: Option<&'static str>,
    message: String,
}

impl Failure {
    /// The code of the first error in `error`'s chain whose type tells one, and the chain's
    /// messages, where the service did not find a value `named` by the command, naming it.
    fn of(error: &anyhow::Error, named: &[(&'static str, String)]) -> Self {
        let mut coded: Option<(&'static str, Option<&'static str>)> = None;
        let mut parts = Vec::new();
        for cause in error.chain() {
            let mut text = cause.to_string();
            if let Some(service) = cause.downcast_ref::<ServiceError>() {
                if let ServiceError::NotFound(noun) = service
                    && let Some((_, value)) = named.iter().find(|(what, _)| what == noun)
                {
                    text = format!("{noun} {value:?} not found");
                }
                let field = match service {
                    ServiceError::Invalid(invalid) => invalid.field,
                    _ => None,
                };
                coded.get_or_insert((service_code(service), field));
            } else if coded.is_none() {
                coded = other_code(cause).map(|code| (code, None));
            }
            // An error whose text includes its source's (a parse error of the log filter).
            if !parts.last().is_some_and(|last: &String| last.ends_with(&text)) {
                parts.push(text);
            }
        }
        let (code, field) = coded.unwrap_or(("failed", None));
        Self { code, field, message: parts.join(": ") }
    }

    fn print(&self, json: bool) {
        if json {
            let mut object = json!({ "error": self.code, "message": self.message });
            if let Some(field) = self.field {
                object["field"] = json!(field);
            }
            eprintln!("{object}");
        } else {
            eprintln!("error: {}", self.message);
        }
    }
}

/// The code of a service error: one per variant, so a new variant is given one here.
fn service_code(error: &ServiceError) -> &'static str {
    match error {
        ServiceError::OAuth { .. } | ServiceError::DevicePoll(_) | ServiceError::Dpop { .. } | ServiceError::Bearer(_) => "oauth",
        ServiceError::NotApproved => "not_approved",
        ServiceError::TooManyAttempts { .. } => "too_many_attempts",
        ServiceError::BadCredentials => "bad_credentials",
        ServiceError::Invalid(_) => "invalid",
        ServiceError::Forbidden(_) => "forbidden",
        ServiceError::NotFound(_) => "not_found",
        ServiceError::Conflict(_) => "conflict",
        ServiceError::Off(_) => "off",
        ServiceError::Unavailable(_) => "unavailable",
        ServiceError::Internal(_) => "internal",
    }
}

/// The code of an error that is no service error, when its type tells one.
fn other_code(cause: &(dyn std::error::Error + 'static)) -> Option<&'static str> {
    if let Some(coded) = cause.downcast_ref::<Coded>() {
        Some(coded.code)
    } else if cause.is::<std::io::Error>() {
        Some("io")
    } else if cause.is::<tracing_subscriber::filter::ParseError>() {
        Some("invalid_config")
    } else {
        None
    }
}

/// An error given the code its type does not tell (a configuration that does not resolve, an
/// argument the CLI refuses); it reads as the error it wraps.
#[derive(Debug)]
struct Coded {
    code: &'static str,
    error: anyhow::Error,
}

impl std::fmt::Display for Coded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.error)
    }
}

impl std::error::Error for Coded {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error.source()
    }
}

/// Gives an error the code `code` (`.map_err(coded("invalid_input"))`).
fn coded(code: &'static str) -> impl FnOnce(anyhow::Error) -> anyhow::Error {
    move |error| Coded { code, error }.into()
}

/// Input the CLI itself refuses (code `invalid_input`).
fn bad_input(message: String) -> anyhow::Error {
    coded("invalid_input")(anyhow::anyhow!(message))
}

fn run(cli: Cli) -> anyhow::Result<Output> {
    let serve_args = match &cli.command {
        Command::Serve(args) => Some(args),
        _ => None,
    };
    let config = configure(&cli.global, serve_args.map(|args| &args.settings)).map_err(coded("invalid_config"))?;
    // Logs (and with `serve --otlp-endpoint`, traces) start before any runtime: the trace
    // exporter's client runs on a thread of its own.
    let telemetry = tessera_server::telemetry::TelemetrySettings::of(&config, serve_args.is_some())
        .and_then(|settings| tessera_server::telemetry::init(&settings))?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let result = runtime.block_on(execute(cli.command, config));
    // The runtime ends first; then the log's last lines are written and the last spans sent.
    // Bounded: with its timers already stopped, a background task (sqlx's pool upkeep, whose
    // sleep then returns at once) can spin and keep a worker from ever stopping; the command's
    // work is done by now, and the process ends with `main`.
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    drop(telemetry);
    result
}

/// The configuration: the flags (`serve`'s settings for `serve`, from the environment alone
/// for other commands) over the configuration file, resolved.
fn configure(global: &GlobalArgs, serve: Option<&ServeLayer>) -> anyhow::Result<Config> {
    let serve = match serve {
        Some(settings) => settings.clone(),
        None => serve_settings_from_env()?,
    };
    let flags = ConfigLayer { global: global.settings.clone(), serve };
    let file = match &global.config {
        Some(path) => ConfigLayer::from_file(path)?,
        None => ConfigLayer::default(),
    };
    Config::resolve(flags.over(file))
}

/// `serve`'s settings as the environment (`TESSERA_*`) gives them, for the commands whose
/// command line does not take them: clap reads the variables from an empty command line.
fn serve_settings_from_env() -> anyhow::Result<ServeLayer> {
    let command = ServeLayer::augment_args(clap::Command::new("environment")).no_binary_name(true);
    let matches = command.clone().try_get_matches_from(Vec::<OsString>::new()).map_err(|e| {
        let what = clap_message(&e);
        // clap names the flag; the operator set its variable.
        let variable = command
            .get_arguments()
            .find(|arg| arg.get_long().is_some_and(|long| what.contains(&format!("--{long} ")) || what.contains(&format!("--{long}'"))))
            .and_then(clap::Arg::get_env);
        match variable {
            Some(variable) => anyhow::anyhow!("in the environment ({}): {what}", variable.to_string_lossy()),
            None => anyhow::anyhow!("in the environment: {what}"),
        }
    })?;
    Ok(ServeLayer::from_arg_matches(&matches)?)
}

async fn execute(command: Command, config: Config) -> anyhow::Result<Output> {
    match &command {
        // Only the schema: no master key is needed to migrate (an operator's release step).
        Command::Migrate(MigrateArgs { status: true }) => {
            let report = tessera_server::startup::migration_status(&config).await?;
            return Ok(migration_output(&report));
        }
        Command::Migrate(MigrateArgs { status: false }) => {
            tessera_server::startup::migrate(&config).await?;
            return Ok(json!({}).into());
        }
        Command::Backup(BackupArgs { to }) => return backup(&config, to).await,
        Command::Export(_) => restrict_stdout_file()?,
        Command::Serve(_) => {
            tessera_server::startup::serve(config).await?;
            return Ok(json!({}).into());
        }
        _ => {}
    }
    let service = tessera_server::startup::open_service(&config, false).await?;
    let actor = Actor::cli();
    let value = match command {
        Command::Serve(_) | Command::Migrate(_) | Command::Backup(_) => json!({}),
        Command::Import(ImportArgs { file, dry_run, issuer }) => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let parsed = read_import_file(&text)
                .with_context(|| format!("{} is not a tessera-export/1 file", file.display()))
                .map_err(coded("invalid_input"))?;
            let mut report = service.import(&actor, parsed, dry_run).await?;
            if let (Some(issuer), Some(invitations)) = (issuer, report["invitations"].as_array_mut()) {
                for invitation in invitations {
                    if let Some(path) =
                        invitation["link"].as_str().and_then(|link| link.find("/password/reset/").map(|at| link[at..].to_owned()))
                    {
                        invitation["link"] = json!(format!("{}{path}", issuer.trim_end_matches('/')));
                    }
                }
            }
            report
        }
        Command::Export(ExportArgs { org, include_secrets }) => {
            let file = service.export(&actor, org.as_deref(), include_secrets).await?;
            let text = serde_json::to_string_pretty(&file)? + "\n";
            return Ok(Output { value: serde_json::to_value(&file)?, text: Some(text) });
        }
        Command::Org(OrgCommand::Create { name }) => serde_json::to_value(service.create_org(&actor, &name).await?)?,
        Command::Org(OrgCommand::List) => serde_json::to_value(service.orgs().await?)?,
        Command::Org(OrgCommand::Update { org, require_mfa, require_sso }) => {
            serde_json::to_value(service.update_org(&actor, &org, OrgChange { require_mfa, require_sso }).await?)?
        }
        Command::Idp(command) => idp(&service, &actor, command).await?,
        Command::Scope(ScopeCommand::Create { org, name, restricted }) => {
            serde_json::to_value(service.create_scope(&actor, &org, &name, restricted).await?.scope)?
        }
        Command::Scope(ScopeCommand::Update { org, name, restricted }) => {
            serde_json::to_value(service.set_scope_restricted(&actor, &org, &name, restricted).await?)?
        }
        Command::Scope(ScopeCommand::List { org }) => serde_json::to_value(service.scopes(&actor, &org).await?)?,
        Command::User(UserCommand::Create { who, service: is_service, password_stdin, password_hash_stdin, permissions }) => {
            let role = who.role()?;
            let MemberArgs { org, email, .. } = who;
            let mut authorize_applications = false;
            for permission in &permissions {
                match permission.as_str() {
                    "authorize_applications" => authorize_applications = true,
                    other => return Err(bad_input(format!("--permission {other:?} is unknown (known: authorize_applications)"))),
                }
            }
            let password = if password_stdin { Some(read_stdin_line()?) } else { None };
            let password_hash = if password_hash_stdin { Some(read_stdin_line()?) } else { None };
            let new = NewUser { org, email, role, service: is_service, authorize_applications, password, password_hash };
            let user = service.create_user(&actor, new).await?;
            json!({ "id": user.id, "email": user.email, "org_id": user.org_id, "role": user.role, "service": user.service, "authorize_applications": user.authorize_applications })
        }
        Command::User(UserCommand::Invite { who, issuer }) => {
            let invited = service.invite(&actor, &who.org, &who.email, who.role()?).await?;
            let url = match issuer {
                Some(issuer) => format!("{}{}", issuer.trim_end_matches('/'), invited.invite_path),
                None => invited.invite_url,
            };
            json!({ "id": invited.id, "email": invited.email, "invite_url": url })
        }
        Command::User(UserCommand::Update { email, role, authorize_applications }) => {
            let role = role
                .map(|r| Role::parse(&r).ok_or_else(|| bad_input(format!("--role {r:?} is not one of owner, admin, member"))))
                .transpose()?;
            serde_json::to_value(service.update_member(&actor, &email, role, authorize_applications).await?)?
        }
        Command::User(UserCommand::List { org }) => serde_json::to_value(service.members(&actor, &org).await?)?,
        Command::User(UserCommand::Disable { email }) => serde_json::to_value(service.set_user_disabled(&actor, &email, true).await?)?,
        Command::User(UserCommand::Enable { email }) => serde_json::to_value(service.set_user_disabled(&actor, &email, false).await?)?,
        Command::User(UserCommand::SetPassword { email, password_stdin: _ }) => {
            let user = service.set_password(&actor, &email, &read_stdin_line()?).await?;
            json!({ "id": user.id, "email": user.email, "password_set": true, "sessions_ended": true })
        }
        Command::Client(ClientCommand::Create(args)) => {
            let args = *args;
            let new = NewClient {
                org: args.org,
                owner_email: args.owner,
                name: args.name,
                grants: args.grants,
                scopes: args.scopes,
                redirect_uris: args.redirect_uris,
                allowed_origins: args.allowed_origins,
                allowed_ips: args.allowed_ips,
                run_as_email: args.run_as,
                public: args.public,
                access_token_ttl: args.access_token_ttl,
                requires_org_approval: args.requires_org_approval,
                require_pushed_authorization_requests: args.require_pushed_authorization_requests,
                dpop_bound_access_tokens: args.dpop_bound_access_tokens,
                pkce: args.pkce,
                resources: args.resources,
                token_endpoint_auth_method: args.token_endpoint_auth_method,
                jwks: read_key_file(args.jwks.as_deref())?,
                jwks_uri: args.jwks_uri,
            };
            serde_json::to_value(service.create_client(&actor, new).await?)?
        }
        Command::Client(ClientCommand::Update(args)) => {
            let args = *args;
            let resources = match (args.clear_resources, args.resources.is_empty()) {
                (true, _) => Some(Vec::new()),
                (false, true) => None,
                (false, false) => Some(args.resources),
            };
            let edit = ClientEdit {
                name: args.name,
                grants: (!args.grants.is_empty()).then_some(args.grants),
                scopes: (!args.scopes.is_empty()).then_some(args.scopes),
                redirect_uris: (!args.redirect_uris.is_empty()).then_some(args.redirect_uris),
                allowed_origins: (!args.allowed_origins.is_empty()).then_some(args.allowed_origins),
                allowed_ips: if args.any_ip { Some(Vec::new()) } else { (!args.allowed_ips.is_empty()).then_some(args.allowed_ips) },
                access_token_ttl: if args.default_access_token_ttl { Some(None) } else { args.access_token_ttl.map(Some) },
                run_as: args.run_as,
                requires_org_approval: args.requires_org_approval,
                require_pushed_authorization_requests: args.require_pushed_authorization_requests,
                dpop_bound_access_tokens: args.dpop_bound_access_tokens,
                pkce: args.pkce,
                resources,
                jwks: read_key_file(args.jwks.as_deref())?,
                jwks_uri: args.jwks_uri,
            };
            serde_json::to_value(service.update_client(&actor, &args.id, edit).await?)?
        }
        Command::Client(ClientCommand::List { org }) => serde_json::to_value(service.list_clients(&actor, org.as_deref()).await?)?,
        Command::Client(ClientCommand::Show { id }) => serde_json::to_value(service.show_client(&actor, &id).await?)?,
        Command::Client(ClientCommand::Disable { id }) => {
            serde_json::to_value(service.set_client_status(&actor, &id, ClientStatus::Off).await?)?
        }
        Command::Client(ClientCommand::Enable { id }) => {
            serde_json::to_value(service.set_client_status(&actor, &id, ClientStatus::On).await?)?
        }
        Command::Client(ClientCommand::Delete { id }) => {
            service.delete_client(&actor, &id).await?;
            json!({})
        }
        Command::Client(ClientCommand::RegenerateSecret { id, grace }) => {
            let rolled = service.regenerate_secret(&actor, &id, grace).await?;
            let mut out = json!({ "client_id": rolled.client_id, "client_secret": rolled.client_secret });
            if let Some(until) = rolled.previous_secret_expires_at {
                out["previous_secret_expires_at"] = json!(until);
            }
            out
        }
        Command::Client(ClientCommand::RegistrationToken(RegistrationTokenCommand::Create { org, owner, expires_in, uses })) => {
            serde_json::to_value(service.create_registration_token(&actor, &org, &owner, expires_in, uses).await?)?
        }
        Command::Client(ClientCommand::Approve { id, org }) => {
            service.set_org_approval(&actor, &id, &org, true).await?;
            json!({})
        }
        Command::Client(ClientCommand::Approvals { org }) => serde_json::to_value(service.org_approvals(&actor, &org).await?)?,
        Command::Client(ClientCommand::Unapprove { id, org }) => {
            service.set_org_approval(&actor, &id, &org, false).await?;
            json!({})
        }
        Command::Audit(AuditCommand::List { org, before, limit }) => {
            serde_json::to_value(service.audit_log(&actor, AuditFilter { org, before, limit, ..AuditFilter::default() }).await?)?
        }
        Command::Keys(KeysCommand::List) => serde_json::to_value(service.list_keys().await?)?,
        Command::Keys(KeysCommand::Rotate) => serde_json::to_value(service.rotate_keys(&actor).await?)?,
        Command::Token(TokenCommand::Revoke { token }) => {
            let token = if token == "-" { read_stdin_line()? } else { token };
            service.revoke_as_operator(&actor, &token).await?;
            json!({})
        }
    };
    // Running nodes apply the change on their very next request: every commit that writes a
    // feed row waits until they have confirmed it (`SqlStore::commit`).
    Ok(value.into())
}

/// `tessera migrate --status`: a table for people, every field for scripts.
fn migration_output(report: &tessera_server::startup::MigrationReport) -> Output {
    let migrations: Vec<Value> = report
        .migrations
        .iter()
        .map(|m| {
            json!({
                "version": m.version,
                "description": m.description,
                "state": m.state.as_str(),
                "applied_at": m.applied_at,
                "rollback": m.rollback,
            })
        })
        .collect();
    let pending = report.pending();
    let value = json!({
        "backend": report.backend,
        "store_exists": report.store_exists,
        "pending": pending,
        "migrations": migrations,
    });
    let mut text = String::new();
    if !report.store_exists {
        text.push_str("no store yet: every migration is pending\n");
    }
    text.push_str(&format!("{:>7}  {:<8} {:<21} {}\n", "version", "state", "applied at", "description"));
    for m in &report.migrations {
        let applied_at = m.applied_at.as_deref().unwrap_or("-");
        text.push_str(&format!("{:>7}  {:<8} {:<21} {}\n", m.version, m.state.as_str(), applied_at, m.description));
        if !m.rollback.is_empty() {
            text.push_str(&format!("{:>7}  {}\n", "", m.rollback_summary()));
        }
    }
    let applied = report.migrations.len() - pending;
    text.push_str(&format!("{} migrations ({}): {applied} applied, {pending} pending\n", report.migrations.len(), report.backend));
    Output { value, text: Some(text) }
}

/// `tessera backup --to FILE`.
async fn backup(config: &Config, to: &std::path::Path) -> anyhow::Result<Output> {
    let files = tessera_server::startup::backup(config, to).await?;
    let from_env = std::env::var_os(tessera_server::startup::MASTER_KEY_ENV).is_some();
    let master_key =
        if from_env { tessera_server::startup::MASTER_KEY_ENV.to_owned() } else { config.master_key_file.display().to_string() };
    let value = json!({
        "store": files.store.display().to_string(),
        "replay": files.replay.as_ref().map(|p| p.display().to_string()),
        "master_key_included": false,
        "master_key": master_key,
    });
    let mut text = format!("copied the store to {}\n", files.store.display());
    match &files.replay {
        Some(replay) => text.push_str(&format!("copied the replay file to {}\n", replay.display())),
        None => text.push_str("the store has no replay file: nothing else to copy\n"),
    }
    text.push_str(&format!(
        "the master key is not in the backup: keep a copy of {master_key} too, stored apart from the backup (a backup without its master key cannot be read)\n"
    ));
    Ok(Output { value, text: Some(text) })
}

/// One line of standard input, without its line ending.
fn parse_role(role: &str) -> anyhow::Result<Role> {
    Role::parse(role).ok_or_else(|| bad_input(format!("--default-role {role:?} is not one of member, admin")))
}

async fn idp(service: &tessera_service::Tessera, actor: &Actor, command: IdpCommand) -> anyhow::Result<Value> {
    Ok(match command {
        IdpCommand::Add { org, name, issuer, client_id, client_secret_stdin, email_domains, default_role } => {
            if !client_secret_stdin {
                return Err(bad_input("give the client secret on standard input with --client-secret-stdin".to_owned()));
            }
            let new = NewIdentityProvider {
                org,
                name,
                issuer,
                client_id,
                client_secret: read_stdin_line()?,
                email_domains,
                default_role: parse_role(&default_role)?,
            };
            serde_json::to_value(service.add_identity_provider(actor, new).await?)?
        }
        IdpCommand::List { org } => serde_json::to_value(service.identity_providers(actor, org.as_deref()).await?)?,
        IdpCommand::Show { id } => serde_json::to_value(service.show_identity_provider(actor, &id).await?)?,
        IdpCommand::Update { id, name, issuer, client_id, client_secret_stdin, email_domains, no_email_domains, default_role } => {
            let edit = IdentityProviderEdit {
                name,
                issuer,
                client_id,
                client_secret: if client_secret_stdin { Some(read_stdin_line()?) } else { None },
                email_domains: if no_email_domains { Some(Vec::new()) } else { (!email_domains.is_empty()).then_some(email_domains) },
                default_role: default_role.as_deref().map(parse_role).transpose()?,
            };
            serde_json::to_value(service.update_identity_provider(actor, &id, edit).await?)?
        }
        IdpCommand::Remove { id } => {
            service.remove_identity_provider(actor, &id).await?;
            json!({})
        }
    })
}

fn read_stdin_line() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("cannot read standard input")?;
    Ok(line.strip_suffix('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).unwrap_or(&line).to_owned())
}

fn print_result(value: &Value, json: bool) {
    if json {
        println!("{value}");
        return;
    }
    match value {
        Value::Object(map) if map.is_empty() => println!("ok"),
        Value::Array(items) if items.is_empty() => println!("(none)"),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    println!();
                }
                print_object(item);
            }
        }
        other => print_object(other),
    }
}

fn print_object(value: &Value) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                let text = match value {
                    Value::String(s) => s.clone(),
                    Value::Array(items) => {
                        items.iter().map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned)).collect::<Vec<_>>().join(", ")
                    }
                    other => other.to_string(),
                };
                println!("{key}: {text}");
            }
        }
        other => println!("{other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use clap::CommandFactory as _;

    fn layer(args: &[&str]) -> ConfigLayer {
        let cli = Cli::try_parse_from(args).unwrap();
        let serve = match cli.command {
            Command::Serve(args) => args.settings.clone(),
            _ => ServeLayer::default(),
        };
        ConfigLayer { global: cli.global.settings, serve }
    }

    #[test]
    fn flags_fill_the_layers_and_absent_flags_stay_unset() {
        let none = layer(&["tessera", "serve"]);
        assert_eq!((none.global.migrate, none.serve.behind_proxy, none.serve.trusted_proxies), (None, None, None));
        let set = layer(&[
            "tessera",
            "--no-migrate",
            "serve",
            "--behind-proxy",
            "--trusted-proxy",
            "10.0.0.0/8",
            "--trusted-proxy=192.0.2.1",
            "--session-api",
            "false",
            "--leeway",
            "5",
            "--log",
            "debug",
        ]);
        assert_eq!(set.global.migrate, Some(false), "--no-migrate is migrate = false");
        assert_eq!(set.serve.behind_proxy, Some(true), "a bare boolean flag is true");
        assert_eq!(set.serve.session_api, Some(false));
        assert_eq!(set.serve.trusted_proxies, Some(vec!["10.0.0.0/8".to_owned(), "192.0.2.1".to_owned()]));
        assert_eq!(set.serve.leeway, Some(5), "a tuning flag of the server after `serve`");
        assert_eq!(set.global.log.as_deref(), Some("debug"), "a global flag after the command's name");
        for (args, why) in [
            (&["tessera", "org", "list", "--listen", "127.0.0.1:1"][..], "serve's settings only on serve"),
            (&["tessera", "org", "list", "--leeway", "5"], "the server's tuning only on serve"),
            (&["tessera", "--leeway", "5", "serve"], "the server's tuning after `serve`, not before"),
        ] {
            assert!(Cli::try_parse_from(args).is_err(), "{why}: {args:?}");
        }
    }

    /// `tessera org create --help` lists no server tuning: those flags are `serve`'s.
    #[test]
    fn server_tuning_is_listed_under_serve_only() {
        let cli = Cli::command();
        let longs =
            |command: &clap::Command| command.get_arguments().filter_map(clap::Arg::get_long).map(str::to_owned).collect::<Vec<_>>();
        let serve = cli.find_subcommand("serve").unwrap();
        let org_create = cli.find_subcommand("org").and_then(|org| org.find_subcommand("create")).unwrap();
        for flag in ["leeway", "access-token-ttl", "signing-alg", "login-lock-seconds", "audience"] {
            assert!(longs(serve).iter().any(|long| long == flag), "serve --{flag}");
            assert!(!longs(&cli).iter().any(|long| long == flag), "--{flag} is not global");
            assert!(!longs(org_create).iter().any(|long| long == flag), "org create --{flag}");
        }
        for global in ["data-dir", "database-url", "no-migrate", "master-key-file", "log", "json", "config"] {
            assert!(longs(&cli).iter().any(|long| long == global), "--{global} is global");
        }
    }

    /// Every flag and argument of every command has a one-line description in `--help`.
    #[test]
    fn every_argument_has_a_help_text() {
        fn walk(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in command.get_arguments() {
                let id = arg.get_id().as_str();
                if matches!(id, "help" | "version") {
                    continue;
                }
                let help = arg.get_help().or(arg.get_long_help()).map(ToString::to_string).unwrap_or_default();
                if help.trim().is_empty() {
                    missing.push(format!("{path} {}", arg.get_long().map_or_else(|| id.to_uppercase(), |long| format!("--{long}"))));
                }
            }
            for sub in command.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "tessera", &mut missing);
        assert!(missing.is_empty(), "arguments without a help text:\n{}", missing.join("\n"));
    }

    #[test]
    fn json_is_found_before_clap_parses_and_not_after_a_double_dash() {
        let args = |list: &[&str]| list.iter().map(OsString::from).collect::<Vec<_>>();
        assert!(json_requested(&args(&["tessera", "--json", "org", "create", "--nosuch"])));
        assert!(json_requested(&args(&["tessera", "org", "create", "--nosuch", "--json"])));
        assert!(!json_requested(&args(&["tessera", "org", "create", "--name", "x"])));
        assert!(!json_requested(&args(&["tessera", "token", "revoke", "--", "--json"])));
    }

    #[test]
    fn a_service_error_gives_its_code_its_field_and_the_value_not_found() {
        let named = [("organization", "nosuch".to_owned())];
        let not_found = Failure::of(&ServiceError::NotFound("organization").into(), &named);
        assert_eq!((not_found.code, not_found.message.as_str()), ("not_found", "organization \"nosuch\" not found"));
        let other_noun = Failure::of(&ServiceError::NotFound("client").into(), &named);
        assert_eq!(other_noun.message, "client not found", "only a noun the command names gets a value");
        let too_long = tessera_core::Message { id: "too-long", english: "too long".into(), args: Vec::new() };
        let invalid = Failure::of(&ServiceError::invalid_field("name", too_long).into(), &[]);
        assert_eq!((invalid.code, invalid.field, invalid.message.as_str()), ("invalid", Some("name"), "too long"));
        let wrapped = anyhow::Error::from(ServiceError::NotFound("organization")).context("cannot export");
        let wrapped = Failure::of(&wrapped, &named);
        assert_eq!((wrapped.code, wrapped.message.as_str()), ("not_found", "cannot export: organization \"nosuch\" not found"));
        let io = anyhow::Error::from(std::io::Error::from(std::io::ErrorKind::NotFound)).context("cannot read x.json");
        assert_eq!(Failure::of(&io, &[]).code, "io");
        let config = coded("invalid_config")(anyhow::anyhow!("inner").context("invalid config file x.toml"));
        let config = Failure::of(&config, &[]);
        assert_eq!((config.code, config.message.as_str()), ("invalid_config", "invalid config file x.toml: inner"));
        assert_eq!(Failure::of(&anyhow::anyhow!("the master key is missing"), &[]).code, "failed");
    }
}
