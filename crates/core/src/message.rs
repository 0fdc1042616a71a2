//! A message for people that can be told in every language Tessera ships: its English text,
//! written where the rule is, and an id with the arguments, by which `tessera-service`'s
//! catalogues (`locales/*/messages.ftl`) tell it in another language. The CLI, the admin API and
//! the logs show the English; a page shows it in its reader's language.

/// A message: `Display` writes the English.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The message's id in the catalogues.
    pub id: &'static str,
    /// The English text, arguments filled in.
    pub english: String,
    /// The arguments by name, for the other languages.
    pub args: Vec<(&'static str, Arg)>,
}

/// An argument of a message: a text (a name, a number, a URI) or a message of its own (a reason
/// inside a sentence), told in the same language as the message around it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    Text(String),
    Told(Box<Message>),
}

impl std::fmt::Display for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.english)
    }
}

impl Message {
    /// The text argument called `name`, when the message has one.
    pub fn arg(&self, name: &str) -> Option<&str> {
        self.args.iter().find(|(n, _)| *n == name).and_then(|(_, v)| match v {
            Arg::Text(text) => Some(text.as_str()),
            Arg::Told(_) => None,
        })
    }
}

/// What a value is as an argument of a [`message!`]: its text, or a message of its own.
pub trait IntoArg {
    fn into_arg(self) -> Arg;
}

impl IntoArg for Message {
    fn into_arg(self) -> Arg {
        Arg::Told(Box::new(self))
    }
}

impl IntoArg for &Message {
    fn into_arg(self) -> Arg {
        Arg::Told(Box::new(self.clone()))
    }
}

/// Values that are an argument by their `Display` text.
macro_rules! text_args {
    ($($t:ty),*) => {
        $(impl IntoArg for $t {
            fn into_arg(self) -> Arg {
                Arg::Text(self.to_string())
            }
        })*
    };
}
text_args!(&str, String, &String, &&str, char, u8, u16, u32, u64, usize, i32, i64, &u32, &u64, &usize, &i64);

/// A [`Message`]: `message!("id", "English text with {name}", name = value)`. The English is
/// `format!`ted from the arguments (so the compiler checks it names only given arguments), and
/// each argument is kept as text for the other languages.
#[macro_export]
macro_rules! message {
    ($id:literal, $english:literal $(, $name:ident = $value:expr)* $(,)?) => {{
        // `name = name` is the usual call: the binding only gives the value its argument's name.
        $( #[allow(clippy::redundant_locals)] let $name = $value; )*
        $crate::message::Message {
            id: $id,
            english: format!($english),
            args: vec![$( (stringify!($name), $crate::message::IntoArg::into_arg($name)) ),*],
        }
    }};
}

#[cfg(test)]
mod tests {
    #[test]
    fn english_is_formatted_and_the_arguments_kept_by_name() {
        let name = "read";
        let m = crate::message!("scope-unknown", "scope '{name}' is not known ({count} tries)", name = name, count = 3);
        assert_eq!(m.to_string(), "scope 'read' is not known (3 tries)");
        assert_eq!(m.id, "scope-unknown");
        assert_eq!(m.arg("name"), Some("read"));
        assert_eq!(m.arg("count"), Some("3"));
        let plain = crate::message!("plain", "nothing to fill in");
        assert!(plain.args.is_empty());
        let inner = crate::message!("inner", "must be absolute");
        let outer = crate::message!("outer", "URI {uri:?}: {why}", uri = "x", why = inner.clone());
        assert_eq!(outer.to_string(), "URI \"x\": must be absolute");
        assert_eq!(outer.args[1], ("why", super::Arg::Told(Box::new(inner))));
    }
}
