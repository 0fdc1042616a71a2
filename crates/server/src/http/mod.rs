//! HTTP routes, one module per group of endpoints.

pub mod account;
pub mod admin_api;
pub mod cors;
pub mod dates;
pub mod device;
pub mod discovery;
pub mod extract;
pub mod feed;
pub(crate) mod forms;
pub mod health;
pub mod i18n;
pub mod invitations;
pub mod oauth;
pub mod page;
pub mod pages;
pub mod portal;
pub mod registration;
pub mod request_id;
pub mod resource;
pub mod sessions;
pub mod sso;
pub mod views;
