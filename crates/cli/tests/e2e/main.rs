#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! End-to-end tests: each test starts a real `tessera serve` on 127.0.0.1:0 over a fresh store
//! and drives it over HTTP and through the CLI. Test names carry the id of the `SECURITY.md`
//! case they cover. The store is SQLite, or with `TESSERA_TEST_DATABASE=postgres` a fresh
//! PostgreSQL database per test server (`tessera-testkit`); `multi_node` always runs on
//! PostgreSQL.

mod agent;
mod common;

mod accounts;
mod accounts_browser;
mod admin_api;
mod admin_takeover;
mod approvals;
mod authorization_matrix;
mod authorize_post;
mod backup;
mod branding;
mod browser_flows;
mod browser_smoke;
mod cli;
mod cli_json;
mod client_auth;
mod client_credentials;
mod client_edit;
mod client_lists;
mod code_flow;
mod concurrency;
mod crash;
mod device;
mod discovery;
mod dpop;
mod export;
mod import;
mod interop;
mod invitations;
mod jwt_validation;
mod leakage;
mod legacy_hashes;
mod login_security;
mod malformed;
mod memberships;
mod migrate;
mod multi_node;
mod observability;
mod pages_tour;
mod par;
mod passkeys_browser;
mod pkce;
mod portal;
mod portal_browser;
mod private_key_jwt;
mod profiles;
mod races;
mod readme;
mod refresh_flow;
mod registration;
mod resource_indicators;
mod resource_server;
mod revocation;
mod revocation_memory;
mod scopes_roles;
mod second_factor;
mod seed_bluecanvas;
mod seed_blueconic;
mod seed_bluedot;
mod seed_bluescape;
mod sessions;
mod setup;
mod sso;
mod store_faults;
mod token_exchange;
mod token_matrix;
mod token_rules;
mod transport;
mod worker_caches;
