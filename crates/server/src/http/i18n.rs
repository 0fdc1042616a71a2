//! The pages' languages (SPEC §16): every text a page shows comes from a Fluent message catalogue,
//! `locales/LANG/GROUP.ftl` (one file per group of pages: `common`, `portal`, `admin`,
//! `account`), through `tessera_service::i18n` (which keeps mail's catalogues the same way);
//! English and German ship. The reader's language is the footer switch's cookie, else the best
//! of their `Accept-Language`, else English (`http::page::lang`). A message missing from a
//! catalogue falls back to English; the tests make sure none is missing.

use std::sync::LazyLock;

use fluent_bundle::FluentValue;
use tessera_service::i18n::Catalogues;
pub use tessera_service::i18n::Lang;

/// Each language's catalogue files, one per group of pages.
fn files(lang: Lang) -> &'static [&'static str] {
    macro_rules! groups {
        ($lang:literal) => {
            &[
                include_str!(concat!("../../locales/", $lang, "/common.ftl")),
                include_str!(concat!("../../locales/", $lang, "/portal.ftl")),
                include_str!(concat!("../../locales/", $lang, "/admin.ftl")),
                include_str!(concat!("../../locales/", $lang, "/account.ftl")),
            ]
        };
    }
    match lang {
        Lang::En => groups!("en"),
        Lang::De => groups!("de"),
    }
}

/// The pages' catalogues, parsed once.
static PAGES: LazyLock<Catalogues> = LazyLock::new(|| Catalogues::new(files));

/// The text of message `key` in `lang`, with `args`.
pub fn text_in(lang: Lang, key: &str, args: &[(&str, FluentValue<'_>)]) -> String {
    PAGES.text(lang, key, args)
}

/// The text of message `key` in the reader's language.
pub fn text(key: &str, args: &[(&str, FluentValue<'_>)]) -> String {
    text_in(crate::http::page::lang(), key, args)
}

/// A service's message (a rule broken, a refusal) in the reader's language.
pub fn said(message: &tessera_service::Message) -> String {
    tessera_service::i18n::tell(message, crate::http::page::lang())
}

/// What a page did not find ("client", "user"), in the reader's language.
pub fn thing(noun: &str) -> String {
    tessera_service::i18n::thing(noun, crate::http::page::lang())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_is_in_every_language_once_and_formats() {
        let problems = PAGES.problems();
        assert!(problems.is_empty(), "{problems:#?}");
    }

    /// The files under `dir`, recursively.
    fn files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        let mut found = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() { found.extend(files(&path)) } else { found.push(path) }
        }
        found
    }

    /// Every `"key"|t` a template asks for, and every `i18n::text("key"` of the code, is in the
    /// catalogues.
    #[test]
    fn every_message_a_template_or_the_code_names_exists() {
        let english = PAGES.keys(Lang::En);
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut missing = Vec::new();
        for path in files(&root.join("src")).into_iter().filter(|p| !p.ends_with("i18n.rs")) {
            let text = std::fs::read_to_string(&path).unwrap();
            for (at, found) in text.match_indices("i18n::text(\"") {
                let start = at + found.len();
                let Some(end) = text[start..].find('"') else { continue };
                let key = &text[start..start + end];
                if !english.iter().any(|k| k == key) && !key.is_empty() {
                    missing.push(format!("{}: {key}", path.display()));
                }
            }
        }
        for path in files(&root.join("templates")) {
            let text = std::fs::read_to_string(&path).unwrap();
            for (at, _) in text.match_indices("\"|t") {
                // `"key"|t`, `"key"|t1(…)` and `"key"|t2(…)`.
                let start = text[..at].rfind('"').map_or(at, |q| q + 1);
                let key = &text[start..at];
                if !english.iter().any(|k| k == key) {
                    missing.push(format!("{}: {key}", path.display()));
                }
            }
        }
        assert!(missing.is_empty(), "templates name messages no catalogue has: {missing:?}");
    }

    #[test]
    fn every_notice_has_its_message() {
        let english = PAGES.keys(Lang::En);
        for done in crate::http::portal::NOTICES {
            assert!(english.contains(&format!("notice-{done}")), "notice-{done}");
        }
    }
}
