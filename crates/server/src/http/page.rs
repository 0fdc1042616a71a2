//! What every page is rendered with besides its own data: the operator's brand (SPEC §16: name,
//! logo, colour) and the reader's language; and the request's id, which any 5xx answer shows. Set once per request by the one middleware as a
//! task-local, so the templates read it (`brand_name()`, the `t` filter) without every handler
//! and every page struct passing it along.
//!
//! Nothing here is written by more than one request: the brand is leaked once at start-up
//! (`&'static`, no reference count to move between cores), and the language is worked out from
//! the request's own headers the first time a page asks.

use std::cell::Cell;
use std::future::Future;

use axum::http::{HeaderMap, HeaderValue, header};

use crate::http::i18n::Lang;

/// The operator's brand: `serve --brand-name/--brand-logo/--brand-color`.
#[derive(Debug, Clone)]
pub struct Brand {
    pub name: String,
    /// `/assets/brand.css`: the `#rgb` or `#rrggbb` colour of buttons, links and tabs, made into
    /// a stylesheet once at start.
    pub stylesheet: Option<String>,
    pub logo: Option<Logo>,
}

#[derive(Debug, Clone)]
pub struct Logo {
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

impl Default for Brand {
    fn default() -> Self {
        Brand { name: "Tessera".into(), stylesheet: None, logo: None }
    }
}

/// The cookie the footer's language switch sets.
pub const LANGUAGE_COOKIE: &str = "tessera_lang";

pub struct PageContext {
    brand: &'static Brand,
    /// The request's `X-Request-Id`, which a 5xx answer shows.
    request_id: HeaderValue,
    /// The page's own address, where the language switch comes back to.
    uri: axum::http::Uri,
    accept_language: Option<HeaderValue>,
    cookie: Option<HeaderValue>,
    lang: Cell<Option<Lang>>,
}

tokio::task_local! {
    static PAGE: PageContext;
}

static DEFAULT_BRAND: std::sync::LazyLock<Brand> = std::sync::LazyLock::new(Brand::default);

impl PageContext {
    /// A request's context: its address and the two headers the language comes from, kept as
    /// they are until a page asks.
    pub fn of(brand: &'static Brand, uri: &axum::http::Uri, headers: &HeaderMap, request_id: HeaderValue) -> Self {
        PageContext {
            brand,
            request_id,
            uri: uri.clone(),
            accept_language: headers.get(header::ACCEPT_LANGUAGE).cloned(),
            cookie: headers.get(header::COOKIE).cloned(),
            lang: Cell::new(None),
        }
    }
}

/// Runs `request` with its page context.
pub async fn with_context<F: Future>(context: PageContext, request: F) -> F::Output {
    PAGE.scope(context, request).await
}

/// The brand of this server (the default outside a request: tests that render a page alone).
pub fn brand() -> &'static Brand {
    PAGE.try_with(|page| page.brand).unwrap_or(&DEFAULT_BRAND)
}

/// The id of the request being answered (none outside a request).
pub fn request_id() -> Option<HeaderValue> {
    PAGE.try_with(|page| page.request_id.clone()).ok()
}

/// The brand's name, as the templates call it.
pub fn brand_name() -> &'static str {
    &brand().name
}

/// The reader's language: the footer switch's cookie, else `Accept-Language`, else English.
pub fn lang() -> Lang {
    PAGE.try_with(|page| {
        if let Some(lang) = page.lang.get() {
            return lang;
        }
        let chosen = page
            .cookie
            .as_ref()
            .and_then(|c| c.to_str().ok())
            .and_then(|cookies| {
                cookies.split(';').filter_map(|pair| pair.trim().split_once('=')).find(|(name, _)| *name == LANGUAGE_COOKIE)
            })
            .and_then(|(_, value)| Lang::parse(value))
            .or_else(|| page.accept_language.as_ref().and_then(|v| v.to_str().ok()).map(Lang::negotiate))
            .unwrap_or(Lang::En);
        page.lang.set(Some(chosen));
        chosen
    })
    .unwrap_or(Lang::En)
}

/// The footer's language switch: each shipped language (code, own name), the link that picks it
/// and comes back to this page, and whether it is the page's language now.
pub fn language_links() -> Vec<((&'static str, &'static str), String, bool)> {
    let here = PAGE.try_with(|page| page.uri.path_and_query().map_or_else(|| "/".to_owned(), ToString::to_string)).unwrap_or_default();
    let current = lang();
    Lang::ALL
        .into_iter()
        .map(|l| {
            let query = serde_urlencoded::to_string([("set", l.as_str()), ("return_to", here.as_str())]).unwrap_or_default();
            ((l.as_str(), l.name()), format!("/language?{query}"), l == current)
        })
        .collect()
}
