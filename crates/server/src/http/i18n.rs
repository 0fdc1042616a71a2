//! The pages' languages (SPEC §16): every text a page shows comes from a Fluent message catalogue,
//! `locales/LANG/GROUP.ftl` (one file per group of pages: `common`, `portal`, `admin`,
//! `account`), through `fluent-bundle`; English and German ship. The reader's language is
//! the footer switch's cookie, else the best of their `Accept-Language`, else English
//! (`http::page::lang`). A message missing from a catalogue falls back to English; a test makes
//! sure none is missing.

use std::sync::LazyLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use unic_langid::LanguageIdentifier;

/// A language the pages ship in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    De,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::De];

    pub fn as_str(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::De => "de",
        }
    }

    /// The language's own name, as the footer's switch offers it.
    pub fn name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::De => "Deutsch",
        }
    }

    pub fn parse(text: &str) -> Option<Lang> {
        Lang::ALL.into_iter().find(|lang| lang.as_str() == text)
    }

    /// The best shipped language for an `Accept-Language` header (RFC 9110 §12.5.4), by
    /// `fluent-langneg`'s matching; English when none fits.
    pub fn negotiate(accept_language: &str) -> Lang {
        let requested = fluent_langneg::accepted_languages::parse(accept_language);
        let available: Vec<LanguageIdentifier> = Lang::ALL.iter().filter_map(|l| l.as_str().parse().ok()).collect();
        let default: LanguageIdentifier = Lang::En.as_str().parse().unwrap_or_default();
        let chosen = fluent_langneg::negotiate_languages(
            &requested,
            &available,
            Some(&default),
            fluent_langneg::NegotiationStrategy::Lookup,
        );
        chosen.first().and_then(|id| Lang::parse(id.language.as_str())).unwrap_or(Lang::En)
    }

    /// The language's catalogue files, one per group of pages.
    fn files(self) -> &'static [&'static str] {
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
        match self {
            Lang::En => groups!("en"),
            Lang::De => groups!("de"),
        }
    }

    fn resources(self) -> Vec<FluentResource> {
        self.files().iter().map(|text| FluentResource::try_new((*text).to_owned()).unwrap_or_else(|(resource, _)| resource)).collect()
    }
}

struct Catalogue {
    bundle: FluentBundle<FluentResource>,
}

/// The catalogues, parsed once; a syntax error in one is a bug the tests catch.
static CATALOGUES: LazyLock<Vec<Catalogue>> = LazyLock::new(|| {
    Lang::ALL
        .iter()
        .map(|lang| {
            let id: LanguageIdentifier = lang.as_str().parse().unwrap_or_default();
            let mut bundle = FluentBundle::new_concurrent(vec![id]);
            // Pages are HTML, escaped by askama: no Unicode isolation marks around arguments.
            bundle.set_use_isolating(false);
            for resource in lang.resources() {
                // A message defined twice keeps its first text; the tests refuse duplicates.
                let _ = bundle.add_resource(resource);
            }
            Catalogue { bundle }
        })
        .collect()
});

fn catalogue(lang: Lang) -> &'static Catalogue {
    &CATALOGUES[Lang::ALL.iter().position(|l| *l == lang).unwrap_or(0)]
}

/// The text of message `key` in `lang`, with `args`; English when `lang` lacks it, the key
/// itself when English does too (the tests make sure that never ships).
pub fn text_in(lang: Lang, key: &str, args: &[(&str, FluentValue<'_>)]) -> String {
    let args = (!args.is_empty()).then(|| {
        let mut fluent = FluentArgs::new();
        for (name, value) in args {
            fluent.set(*name, value.clone());
        }
        fluent
    });
    for catalogue in [catalogue(lang), catalogue(Lang::En)] {
        let bundle = &catalogue.bundle;
        if let Some(pattern) = bundle.get_message(key).and_then(|m| m.value()) {
            let mut errors = Vec::new();
            return bundle.format_pattern(pattern, args.as_ref(), &mut errors).into_owned();
        }
    }
    key.to_owned()
}

/// The text of message `key` in the reader's language.
pub fn text(key: &str, args: &[(&str, FluentValue<'_>)]) -> String {
    text_in(crate::http::page::lang(), key, args)
}

/// Every message id of `lang`'s catalogue.
pub fn keys(lang: Lang) -> Vec<String> {
    let mut keys = Vec::new();
    for resource in lang.resources() {
        keys.extend(resource.entries().filter_map(|entry| match entry {
            fluent_syntax::ast::Entry::Message(message) => Some(message.id.name.to_owned()),
            _ => None,
        }));
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalogue_parses_and_has_every_message_of_every_other() {
        for lang in Lang::ALL {
            for text in lang.files() {
                FluentResource::try_new((*text).to_owned())
                    .unwrap_or_else(|(_, errors)| panic!("{} does not parse: {errors:?}", lang.as_str()));
            }
            let keys = keys(lang);
            let unique: std::collections::BTreeSet<&String> = keys.iter().collect();
            assert_eq!(unique.len(), keys.len(), "{}: a message is defined twice", lang.as_str());
        }
        let english = keys(Lang::En);
        for lang in Lang::ALL {
            let theirs = keys(lang);
            let missing: Vec<&String> = english.iter().filter(|k| !theirs.contains(k)).collect();
            let extra: Vec<&String> = theirs.iter().filter(|k| !english.contains(k)).collect();
            assert!(missing.is_empty() && extra.is_empty(), "{}: missing {missing:?}, not in English {extra:?}", lang.as_str());
        }
    }

    #[test]
    fn every_message_formats_without_errors_in_every_language() {
        let samples = [("name", FluentValue::from("X")), ("count", FluentValue::from(2)), ("email", FluentValue::from("a@b"))];
        for lang in Lang::ALL {
            let bundle = &catalogue(lang).bundle;
            for key in keys(lang) {
                let pattern = bundle.get_message(&key).and_then(|m| m.value()).unwrap_or_else(|| panic!("{key} has a value"));
                let mut args = FluentArgs::new();
                for (name, value) in &samples {
                    args.set(*name, value.clone());
                }
                let mut errors = Vec::new();
                bundle.format_pattern(pattern, Some(&args), &mut errors);
                assert!(errors.is_empty(), "{} {key}: {errors:?}", lang.as_str());
            }
        }
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
        let english = keys(Lang::En);
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
        let english = keys(Lang::En);
        for done in crate::http::portal::NOTICES {
            assert!(english.contains(&format!("notice-{done}")), "notice-{done}");
        }
    }

    #[test]
    fn the_best_shipped_language_is_chosen() {
        assert_eq!(Lang::negotiate("de-CH, de;q=0.9, en;q=0.8"), Lang::De);
        assert_eq!(Lang::negotiate("fr-FR, en;q=0.5"), Lang::En);
        assert_eq!(Lang::negotiate("fr"), Lang::En);
        assert_eq!(Lang::negotiate("de"), Lang::De);
        assert_eq!(Lang::negotiate(""), Lang::En);
    }
}
