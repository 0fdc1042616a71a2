//! HTTP routes, one module per group of endpoints.

pub mod cors;
pub mod discovery;
pub mod extract;
pub mod feed;
pub mod health;
pub mod oauth;
pub mod pages;
pub mod resource;
pub mod sessions;
pub mod views;
