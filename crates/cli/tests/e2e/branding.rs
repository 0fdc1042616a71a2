//! Branding and languages (SPEC §16): `--brand-name`, `--brand-logo` and `--brand-color` (or the
//! TOML file) replace "Tessera" on every page and in mail; the pages speak the reader's language,
//! chosen by `Accept-Language` or the footer's switch.

use std::time::Duration;

use tessera_testkit::mail::MailSink;

use crate::accounts::with_mail;
use crate::agent::*;
use crate::common::*;

const LOGO: &str =
    r##"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10" fill="#0a7d32"/></svg>"##;

#[tokio::test]
async fn the_brand_replaces_tessera_on_every_page_and_in_mail() {
    let sink = MailSink::start().unwrap();
    let dir = tessera_testkit::TempDir::new("brand").unwrap();
    let logo = dir.path().join("logo.svg");
    std::fs::write(&logo, LOGO).unwrap();
    let flags = ["--brand-name", "Acme Developers", "--brand-color", "#0A7D32", "--brand-logo", logo.to_str().unwrap()];
    let (server, fixture) = start_with(with_mail(&sink, &flags));

    let mut agent = Agent::new(&server);
    for path in ["/login", "/password/forgot"] {
        let page = agent.get(path).await.text().await.unwrap();
        assert!(page.contains("· Acme Developers</title>"), "{path}: the title: {page}");
        assert!(page.contains(r#"<img src="/assets/brand-logo" alt="" class="logo"> Acme Developers</span>"#), "{path}: {page}");
        assert!(page.contains(r#"<link rel="stylesheet" href="/assets/brand.css">"#), "{path}");
        assert!(!page.contains("Tessera"), "{path}: no other name: {page}");
    }
    assert_eq!(agent.login(&fixture.owner_email, OWNER_PASSWORD).await.status(), 303);
    for path in ["/settings/api-clients", "/settings/api-clients/new", "/admin/members", "/settings/security"] {
        let page = agent.get(path).await.text().await.unwrap();
        assert!(page.contains("Acme Developers</span>") && !page.contains("Tessera"), "{path}: {page}");
    }
    let css = agent.get("/assets/brand.css").await;
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    assert!(css.text().await.unwrap().contains("--accent: #0a7d32;"));
    let image = agent.get("/assets/brand-logo").await;
    assert_eq!(image.headers()["content-type"], "image/svg+xml");
    assert!(image.headers()["content-security-policy"].to_str().unwrap().contains("sandbox"), "an SVG runs no script");
    assert_eq!(image.bytes().await.unwrap(), LOGO.as_bytes());

    // Mail is signed with the brand too.
    let mut signed_out = Agent::new(&server);
    let page = signed_out.get("/password/forgot").await.text().await.unwrap();
    signed_out.submit("/password/forgot", &page, &["csrf_token"], &[("email", &fixture.owner_email)]).await;
    let mails = sink.wait_for(1, Duration::from_secs(20)).unwrap();
    let mail = &mails[0];
    assert_eq!(mail["subject"], "Reset your Acme Developers password", "{mail}");
    for part in ["text", "html"] {
        let body = mail[part].as_str().unwrap();
        assert!(body.contains("Acme Developers") && !body.contains("Tessera"), "{part}: {body}");
    }

    // Asked on a German page, the mail is German.
    let mut german = Agent::new(&server);
    german.cookies.insert("tessera_lang".into(), "de".into());
    let page = german.get("/password/forgot").await.text().await.unwrap();
    assert!(page.contains(r#"<html lang="de">"#), "{page}");
    german.submit("/password/forgot", &page, &["csrf_token"], &[("email", &fixture.owner_email)]).await;
    let mails = sink.wait_for(2, Duration::from_secs(20)).unwrap();
    let mail = &mails[1];
    assert_eq!(mail["subject"], "Ihr Passwort für Acme Developers zurücksetzen", "{mail}");
    assert!(mail["text"].as_str().unwrap().contains("Jemand hat verlangt, das Passwort Ihres Kontos bei Acme Developers"), "{mail}");
    assert!(mail["html"].as_str().unwrap().contains(">Neues Passwort wählen</a>"), "{mail}");
}

#[test]
fn a_bad_brand_is_refused_at_start_with_the_setting_named() {
    for (flags, words) in [
        (vec!["--brand-color", "green"], "brand_color"),
        (vec!["--brand-name", ""], "brand_name"),
        (vec!["--brand-logo", "/nonexistent/logo.png"], "brand_logo"),
        (vec!["--brand-logo", "/etc/hostname"], "brand_logo"),
    ] {
        let options = ServerOptions { serve: flags.iter().map(|s| (*s).to_owned()).collect(), ..ServerOptions::default() };
        let refused = Server::start_with(bin(), options).map(|_| ()).expect_err("a bad brand");
        assert!(format!("{refused:#}").contains(words), "{flags:?}: {refused:#}");
    }
}

#[tokio::test]
async fn the_pages_speak_the_readers_language_and_the_footer_switches_it() {
    let (server, _fixture) = start();
    let german = http().get(server.url("/login")).header("accept-language", "de-CH, de;q=0.9, en;q=0.5").send().await.unwrap();
    let page = german.text().await.unwrap();
    assert!(page.contains(r#"<html lang="de">"#), "{page}");
    assert!(page.contains(r#"aria-label="Sprache""#), "the switch is labelled in German: {page}");
    let english = http().get(server.url("/login")).header("accept-language", "fr, en;q=0.5").send().await.unwrap();
    assert!(english.text().await.unwrap().contains(r#"<html lang="en">"#));

    // The footer's switch: a cookie for a year, then back to the same page.
    let mut agent = Agent::new(&server);
    let page = agent.get("/login?return_to=%2Fsettings%2Fsecurity").await.text().await.unwrap();
    let link = page
        .split("href=\"")
        .filter_map(|s| s.split('"').next())
        .find(|h| h.contains("set=de"))
        .unwrap()
        .replace("&#38;", "&")
        .replace("&amp;", "&");
    let response = agent.get(&link).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/login?return_to=%2Fsettings%2Fsecurity");
    let cookie = response.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("tessera_lang=de;") && cookie.contains("Max-Age=31536000"), "{cookie}");
    let page = agent.get("/login").await.text().await.unwrap();
    assert!(page.contains(r#"<html lang="de">"#), "the cookie wins over Accept-Language: {page}");
    // Only a path of ours is gone back to.
    let elsewhere = agent.get("/language?set=en&return_to=https%3A%2F%2Fevil.example%2F").await;
    assert_eq!(location(&elsewhere), "/");
    let elsewhere = agent.get("/language?set=en&return_to=%2F%2Fevil.example").await;
    assert_eq!(location(&elsewhere), "/");
}
