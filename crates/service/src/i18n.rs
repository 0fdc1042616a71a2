//! Languages and Fluent message catalogues (SPEC §16), for the pages (`tessera-server`'s
//! `http::i18n`, whose catalogues are its own) and the mail this crate sends (`locales/`
//! beside this crate). English and German ship; a message a language lacks falls back to
//! English, and each crate tests that none does.

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_best_shipped_language_is_chosen() {
        assert_eq!(Lang::negotiate("de-CH, de;q=0.9, en;q=0.8"), Lang::De);
        assert_eq!(Lang::negotiate("fr-FR, en;q=0.5"), Lang::En);
        assert_eq!(Lang::negotiate("fr"), Lang::En);
        assert_eq!(Lang::negotiate("de"), Lang::De);
        assert_eq!(Lang::negotiate(""), Lang::En);
    }
}
