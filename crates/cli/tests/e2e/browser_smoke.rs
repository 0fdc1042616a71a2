//! The headless-browser harness (`tessera_testkit::browser`) against a real server: Chromium
//! renders a page the server serves, and a screenshot comes back as a PNG.

use std::time::Duration;

use tessera_testkit::browser::Browser;

use crate::common::*;

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// The width and height in a PNG's IHDR chunk.
fn png_size(png: &[u8]) -> (u32, u32) {
    assert!(png.starts_with(PNG_SIGNATURE), "not a PNG: {:?}", &png[..png.len().min(16)]);
    assert_eq!(&png[12..16], b"IHDR");
    let be = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
    (be(16), be(20))
}

#[tokio::test]
async fn browser_smoke_renders_discovery() {
    let server = Server::start(bin()).unwrap();
    let browser = Browser::start().await.unwrap();
    let url = server.url("/.well-known/openid-configuration");
    browser.goto(&url).await.unwrap();
    assert_eq!(browser.current_url().await.unwrap(), url);
    let text = browser.text("body").await.unwrap();
    assert!(text.contains(&format!(r#""issuer":"{}""#, server.base)), "issuer {} not on the page: {text}", server.base);
    assert!(browser.page_source().await.unwrap().contains(&server.base));
    let (width, height) = png_size(&browser.screenshot_png().await.unwrap());
    assert_eq!(width, 1280, "the window is 1280 wide");
    assert!(height > 0);
}

/// Two browsers at once on a multi-thread runtime, each with its own chromedriver and profile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_smoke_two_browsers_in_parallel() {
    let server = Server::start(bin()).unwrap();
    let (first, second) = tokio::join!(Browser::start(), Browser::start());
    let (first, second) = (first.unwrap(), second.unwrap());
    let (jwks, discovery) = (server.url("/oauth2/jwks"), server.url("/.well-known/openid-configuration"));
    let (a, b) = tokio::join!(first.goto(&jwks), second.goto(&discovery));
    a.unwrap();
    b.unwrap();
    assert_eq!(first.wait_for_url(|url| url.ends_with("/oauth2/jwks"), Duration::from_secs(10)).await.unwrap(), jwks);
    assert!(first.text("body").await.unwrap().contains(r#""keys""#));
    assert!(second.text("body").await.unwrap().contains(&server.base));
    assert!(first.cookies().await.unwrap().is_empty(), "the server sets no cookie on these pages");
    second.close().await.unwrap();
}
