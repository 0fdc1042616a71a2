//! Languages and Fluent message catalogues (SPEC §16), for the pages (`tessera-server`'s
//! `http::i18n`, whose catalogues are its own) and the mail this crate sends (`locales/`
//! beside this crate). English and German ship; a message a language lacks falls back to
//! English, and each crate tests that none does.

use std::sync::LazyLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use tessera_core::message::{Arg, Message};
use unic_langid::LanguageIdentifier;

/// A language Tessera ships in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
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

    /// The language's own name, as a language switch offers it.
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
        let chosen =
            fluent_langneg::negotiate_languages(&requested, &available, Some(&default), fluent_langneg::NegotiationStrategy::Lookup);
        chosen.first().and_then(|id| Lang::parse(id.language.as_str())).unwrap_or(Lang::En)
    }
}

/// The catalogues of every language: `files(lang)` gives a language's Fluent files.
pub struct Catalogues {
    files: fn(Lang) -> &'static [&'static str],
    bundles: Vec<FluentBundle<FluentResource>>,
}

fn resources(text: &[&str]) -> Vec<FluentResource> {
    text.iter().map(|t| FluentResource::try_new((*t).to_owned()).unwrap_or_else(|(resource, _)| resource)).collect()
}

impl Catalogues {
    pub fn new(files: fn(Lang) -> &'static [&'static str]) -> Self {
        let bundles = Lang::ALL
            .iter()
            .map(|lang| {
                let id: LanguageIdentifier = lang.as_str().parse().unwrap_or_default();
                let mut bundle = FluentBundle::new_concurrent(vec![id]);
                // The text goes into HTML escaped by askama, or into plain-text mail: no Unicode
                // isolation marks around arguments.
                bundle.set_use_isolating(false);
                for resource in resources(files(*lang)) {
                    // A message defined twice keeps its first text; the tests refuse duplicates.
                    let _ = bundle.add_resource(resource);
                }
                bundle
            })
            .collect();
        Catalogues { files, bundles }
    }

    fn bundle(&self, lang: Lang) -> &FluentBundle<FluentResource> {
        &self.bundles[Lang::ALL.iter().position(|l| *l == lang).unwrap_or(0)]
    }

    /// Message `key` in `lang` with `args`; English when `lang` lacks it, the key itself when
    /// English does too (the tests make sure that never ships).
    pub fn text(&self, lang: Lang, key: &str, args: &[(&str, FluentValue<'_>)]) -> String {
        let args = (!args.is_empty()).then(|| {
            let mut fluent = FluentArgs::new();
            for (name, value) in args {
                fluent.set(*name, value.clone());
            }
            fluent
        });
        for bundle in [self.bundle(lang), self.bundle(Lang::En)] {
            if let Some(pattern) = bundle.get_message(key).and_then(|m| m.value()) {
                let mut errors = Vec::new();
                return bundle.format_pattern(pattern, args.as_ref(), &mut errors).into_owned();
            }
        }
        key.to_owned()
    }

    /// Message `key` in `lang` alone, with `args`: `None` when that language lacks it.
    pub fn get(&self, lang: Lang, key: &str, args: &[(&str, FluentValue<'_>)]) -> Option<String> {
        let bundle = self.bundle(lang);
        let pattern = bundle.get_message(key).and_then(|m| m.value())?;
        let mut fluent = FluentArgs::new();
        for (name, value) in args {
            fluent.set(*name, value.clone());
        }
        let mut errors = Vec::new();
        Some(bundle.format_pattern(pattern, Some(&fluent), &mut errors).into_owned())
    }

    /// The variables each message of `lang` names.
    pub fn variables_of(&self, lang: Lang) -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
        self.variables(lang)
    }

    /// The variables each message of `lang` names.
    fn variables(&self, lang: Lang) -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
        use fluent_syntax::ast::{Entry, Expression, InlineExpression, Pattern, PatternElement};
        fn inline(expression: &InlineExpression<&str>, found: &mut std::collections::BTreeSet<String>) {
            match expression {
                InlineExpression::VariableReference { id } => {
                    found.insert(id.name.to_owned());
                }
                InlineExpression::Placeable { expression } => walk(expression, found),
                InlineExpression::FunctionReference { arguments, .. } => {
                    arguments.positional.iter().for_each(|a| inline(a, found));
                    arguments.named.iter().for_each(|a| inline(&a.value, found));
                }
                _ => {}
            }
        }
        fn walk(expression: &Expression<&str>, found: &mut std::collections::BTreeSet<String>) {
            match expression {
                Expression::Inline(expression) => inline(expression, found),
                Expression::Select { selector, variants } => {
                    inline(selector, found);
                    variants.iter().for_each(|v| pattern(&v.value, found));
                }
            }
        }
        fn pattern(p: &Pattern<&str>, found: &mut std::collections::BTreeSet<String>) {
            for element in &p.elements {
                if let PatternElement::Placeable { expression } = element {
                    walk(expression, found);
                }
            }
        }
        let mut all = std::collections::BTreeMap::new();
        for resource in resources((self.files)(lang)) {
            for entry in resource.entries() {
                if let Entry::Message(message) = entry {
                    let mut found = std::collections::BTreeSet::new();
                    if let Some(value) = &message.value {
                        pattern(value, &mut found);
                    }
                    all.insert(message.id.name.to_owned(), found);
                }
            }
        }
        all
    }

    /// Every message id of `lang`'s files, in order (a duplicate shows twice).
    pub fn keys(&self, lang: Lang) -> Vec<String> {
        let mut keys = Vec::new();
        for resource in resources((self.files)(lang)) {
            keys.extend(resource.entries().filter_map(|entry| match entry {
                fluent_syntax::ast::Entry::Message(message) => Some(message.id.name.to_owned()),
                _ => None,
            }));
        }
        keys
    }

    /// What is wrong with the catalogues: a file that does not parse, a message defined twice,
    /// one that a language has and English lacks or the other way round, one that names a
    /// variable English's does not (the code passes English's), one whose formatting reports an
    /// error. Empty when all is well (each crate's tests assert it).
    pub fn problems(&self) -> Vec<String> {
        let english_variables = self.variables(Lang::En);
        let mut problems = Vec::new();
        let english = self.keys(Lang::En);
        for lang in Lang::ALL {
            for text in (self.files)(lang) {
                if let Err((_, errors)) = FluentResource::try_new((*text).to_owned()) {
                    problems.push(format!("{}: does not parse: {errors:?}", lang.as_str()));
                }
            }
            let keys = self.keys(lang);
            let unique: std::collections::BTreeSet<&String> = keys.iter().collect();
            if unique.len() != keys.len() {
                problems.push(format!("{}: a message is defined twice", lang.as_str()));
            }
            problems.extend(english.iter().filter(|k| !keys.contains(k)).map(|k| format!("{}: no {k}", lang.as_str())));
            problems.extend(keys.iter().filter(|k| !english.contains(k)).map(|k| format!("{}: {k} is not in English", lang.as_str())));
            let bundle = self.bundle(lang);
            let variables = self.variables(lang);
            for key in &keys {
                let named = variables.get(key).cloned().unwrap_or_default();
                let english = english_variables.get(key).cloned().unwrap_or_default();
                problems.extend(
                    named.difference(&english).map(|v| format!("{} {key}: ${v} is not given to the English message", lang.as_str())),
                );
                // Every variable given, as a number (a plural may select on it).
                let mut args = FluentArgs::new();
                for name in &english {
                    args.set(name.clone(), FluentValue::from(2));
                }
                match bundle.get_message(key).and_then(|m| m.value()) {
                    None => problems.push(format!("{}: {key} has no value", lang.as_str())),
                    Some(pattern) => {
                        let mut errors = Vec::new();
                        bundle.format_pattern(pattern, Some(&args), &mut errors);
                        if !errors.is_empty() {
                            problems.push(format!("{} {key}: {errors:?}", lang.as_str()));
                        }
                    }
                }
            }
        }
        problems
    }
}

/// An argument as Fluent takes it: a number stays a number, so a message can choose its plural
/// form by it; only a text that is exactly a number's own writing ("007", a client named so,
/// stays text).
pub fn fluent_value(text: String) -> FluentValue<'static> {
    match text.parse::<i64>() {
        Ok(number) if number.to_string() == text => FluentValue::from(number),
        _ => FluentValue::from(text),
    }
}

/// The catalogues of the service's messages to people ([`Message`]) in the languages other than
/// English, whose text is written at each rule (`tessera_core::message!`).
fn message_files(lang: Lang) -> &'static [&'static str] {
    match lang {
        Lang::En => &[],
        Lang::De => &[
            include_str!("../locales/de/messages.ftl"),
            include_str!("../locales/de/messages-admin.ftl"),
            include_str!("../locales/de/messages-people.ftl"),
        ],
    }
}

static MESSAGES: LazyLock<Catalogues> = LazyLock::new(|| Catalogues::new(message_files));

/// `message` in `lang`: its English when that is asked for or when the catalogue lacks it (the
/// tests make sure none is lacking).
pub fn tell(message: &Message, lang: Lang) -> String {
    if lang == Lang::En {
        return message.english.clone();
    }
    let args: Vec<(&str, FluentValue<'_>)> = message
        .args
        .iter()
        .map(|(name, value)| {
            let value = match value {
                Arg::Text(text) => fluent_value(text.clone()),
                Arg::Told(inner) => FluentValue::from(tell(inner, lang)),
            };
            (*name, value)
        })
        .collect();
    MESSAGES.get(lang, message.id, &args).unwrap_or_else(|| message.english.clone())
}

/// What a [`crate::ServiceError::NotFound`] names ("client", "user") in `lang`: message
/// `thing-NOUN` (spaces as dashes).
pub fn thing(noun: &str, lang: Lang) -> String {
    if lang == Lang::En {
        return noun.to_owned();
    }
    MESSAGES.get(lang, &format!("thing-{}", noun.replace(' ', "-")), &[]).unwrap_or_else(|| noun.to_owned())
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;

    /// The `.rs` files under `dir`, recursively.
    fn sources(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        let mut found = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                found.extend(sources(&path))
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(path)
            }
        }
        found
    }

    /// The string literal at the start of `text` (after blanks): its content and the rest.
    fn literal(text: &str) -> Option<(String, &str)> {
        let text = text.trim_start().strip_prefix('"')?;
        let mut content = String::new();
        let mut chars = text.char_indices();
        while let Some((at, c)) = chars.next() {
            match c {
                '"' => return Some((content, &text[at + 1..])),
                '\\' => match chars.next() {
                    // A line continuation: the line break and the next line's indentation go.
                    Some((_, '\n')) => {
                        let rest = &text[at + 2..];
                        let skipped = rest.len() - rest.trim_start().len();
                        for _ in 0..skipped {
                            chars.next();
                        }
                    }
                    Some((_, escaped)) => content.push(escaped),
                    None => return None,
                },
                c => content.push(c),
            }
        }
        None
    }

    /// The names `name = value` given after a `message!`'s English, up to its closing bracket.
    fn argument_names(mut text: &str) -> BTreeSet<String> {
        let mut names = BTreeSet::new();
        let mut depth = 0usize;
        let mut start = true;
        while let Some(c) = text.chars().next() {
            if start && depth == 0 {
                let trimmed = text.trim_start();
                let ident: String = trimmed.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if !ident.is_empty() && trimmed[ident.len()..].trim_start().starts_with('=') {
                    names.insert(ident);
                }
                start = false;
            }
            match c {
                '"' => {
                    let Some((_, rest)) = literal(text) else { break };
                    text = rest;
                    continue;
                }
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' if depth == 0 => break,
                ')' | ']' | '}' => depth -= 1,
                ',' if depth == 0 => start = true,
                _ => {}
            }
            text = &text[c.len_utf8()..];
        }
        names
    }

    /// The placeholders `{name}` / `{name:?}` of an English text.
    fn placeholders(english: &str) -> BTreeSet<String> {
        let mut names = BTreeSet::new();
        let mut rest = english;
        while let Some(at) = rest.find('{') {
            rest = &rest[at + 1..];
            if let Some(stripped) = rest.strip_prefix('{') {
                rest = stripped;
                continue;
            }
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            names.insert(name);
        }
        names
    }

    /// Where the code makes a message: its English, the argument names given, the file.
    type Use = (String, BTreeSet<String>, String);

    /// Every message the code that makes messages (core, the service, the server) writes with
    /// the `message!` macro: id → (English, the names given); and every noun a `NotFound` names.
    fn code() -> (BTreeMap<String, Vec<Use>>, BTreeSet<String>) {
        let crates = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned();
        let mut messages: BTreeMap<String, Vec<Use>> = BTreeMap::new();
        let mut nouns = BTreeSet::new();
        for krate in ["core", "service", "server"] {
            // (core's `message.rs` holds the macro and its own examples.)
            for path in sources(&crates.join(krate).join("src")).into_iter().filter(|p| !p.ends_with("core/src/message.rs")) {
                let text = std::fs::read_to_string(&path).unwrap();
                let place = path.strip_prefix(&crates).unwrap().display().to_string();
                for (at, found) in text.match_indices("message!(") {
                    if text[..at].ends_with("macro_rules! ") {
                        continue;
                    }
                    let rest = &text[at + found.len()..];
                    let Some((id, rest)) = literal(rest) else { continue };
                    let Some(rest) = rest.trim_start().strip_prefix(',') else { continue };
                    let Some((english, rest)) = literal(rest) else { continue };
                    messages.entry(id).or_default().push((english, argument_names(rest), place.clone()));
                }
                for (at, found) in text.match_indices("NotFound(\"") {
                    let rest = &text[at + found.len() - 1..];
                    if let Some((noun, _)) = literal(rest) {
                        nouns.insert(noun);
                    }
                }
            }
        }
        (messages, nouns)
    }

    /// Every message the code makes has its German, naming only arguments the code gives; the
    /// English names every argument it is given and nothing else; one id is one message; the
    /// catalogue holds nothing the code no longer says.
    #[test]
    fn every_message_of_the_code_is_in_every_language() {
        let (messages, nouns) = code();
        assert!(messages.len() > 100, "the scan found only {} messages", messages.len());
        let mut problems = Vec::new();
        for (id, uses) in &messages {
            let (english, names, place) = &uses[0];
            for (other, other_names, other_place) in &uses[1..] {
                if other != english || other_names != names {
                    problems.push(format!("{id}: said differently at {place} and {other_place}"));
                }
            }
            if &placeholders(english) != names {
                problems.push(format!("{id} at {place}: the English names {:?} but is given {names:?}", placeholders(english)));
            }
        }
        for lang in Lang::ALL.into_iter().filter(|l| *l != Lang::En) {
            let keys = MESSAGES.keys(lang);
            let unique: BTreeSet<&String> = keys.iter().collect();
            if unique.len() != keys.len() {
                problems.push(format!("{}: a message is defined twice", lang.as_str()));
            }
            let variables = MESSAGES.variables_of(lang);
            for (id, uses) in &messages {
                let names = &uses[0].1;
                match variables.get(id) {
                    None => problems.push(format!("{}: no {id} (\"{}\")", lang.as_str(), uses[0].0)),
                    Some(named) => {
                        problems.extend(named.difference(names).map(|v| format!("{} {id}: ${v} is not given", lang.as_str())));
                        let args: Vec<(&str, FluentValue<'_>)> = names.iter().map(|n| (n.as_str(), FluentValue::from(2))).collect();
                        if MESSAGES.get(lang, id, &args).is_none() {
                            problems.push(format!("{} {id}: has no value", lang.as_str()));
                        }
                    }
                }
            }
            for noun in &nouns {
                let key = format!("thing-{}", noun.replace(' ', "-"));
                if !variables.contains_key(&key) {
                    problems.push(format!("{}: no {key}", lang.as_str()));
                }
            }
            let things: BTreeSet<String> = nouns.iter().map(|noun| format!("thing-{}", noun.replace(' ', "-"))).collect();
            for key in variables.keys() {
                let known = messages.contains_key(key) || things.contains(key);
                if !known {
                    problems.push(format!("{}: {key} is said nowhere in the code", lang.as_str()));
                }
            }
            for text in message_files(lang) {
                if let Err((_, errors)) = FluentResource::try_new((*text).to_owned()) {
                    problems.push(format!("{}: does not parse: {errors:?}", lang.as_str()));
                }
            }
        }
        assert!(problems.is_empty(), "{problems:#?}");
    }

    #[test]
    fn a_message_is_told_in_the_asked_language_and_falls_back_to_english() {
        let m = Message { id: "no-such-id-anywhere", english: "plain English".into(), args: vec![] };
        assert_eq!(tell(&m, Lang::De), "plain English");
        assert_eq!(tell(&m, Lang::En), "plain English");
        assert_eq!(thing("client", Lang::En), "client");
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
