//! Outgoing mail (SPEC §11): password-reset and email-verification links, over SMTP with
//! lettre.
//!
//! A request never waits for a mail server: a use case puts a [`Letter`] on the outbox and goes
//! on; one delivery task sends it, retrying with backoff while the server is unreachable or
//! answers with a temporary failure. A letter holds a credential (its link), so it is never
//! logged: a log line names the kind of mail and the recipient's user id, nothing more.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use askama::Template;
use fluent_bundle::FluentValue;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tessera_core::message;
use tessera_core::model::UserId;
use tokio::sync::{Semaphore, mpsc};

use crate::error::{Result, ServiceError};
use crate::i18n::{Catalogues, Lang};

/// How to reach the mail server, and the sender's address.
#[derive(Clone)]
pub struct MailSettings {
    /// `smtp://HOST[:PORT]` (STARTTLS when the server offers it) or `smtps://HOST[:PORT]`
    /// (TLS from the first byte); a user and password may be in the URL.
    pub smtp_url: String,
    /// The password when the URL names a user without one (`TESSERA_SMTP_PASSWORD`).
    pub password: Option<String>,
    /// The `From` address.
    pub from: String,
    /// A PEM certificate to trust besides the public roots (a relay with an internal CA).
    pub extra_root_pem: Option<Vec<u8>>,
}

impl std::fmt::Debug for MailSettings {
    /// The URL may hold a password: only its host is shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let host = url::Url::parse(&self.smtp_url).ok().and_then(|u| u.host_str().map(str::to_owned));
        f.debug_struct("MailSettings").field("host", &host).field("from", &self.from).finish_non_exhaustive()
    }
}

impl MailSettings {
    /// Checks the settings and builds the transport (no connection is made yet).
    fn transport(&self) -> Result<(AsyncSmtpTransport<Tokio1Executor>, Mailbox)> {
        let invalid = |why: tessera_core::Message| ServiceError::invalid(message!("mail-smtp-url-bad", "smtp_url: {why}", why = why));
        let url = url::Url::parse(&self.smtp_url)
            .map_err(|_| invalid(message!("mail-smtp-url-not-url", "not a URL (smtp://HOST:PORT or smtps://HOST:PORT)")))?;
        let host =
            url.host_str().filter(|h| !h.is_empty()).ok_or_else(|| invalid(message!("mail-smtp-url-no-host", "no host")))?.to_owned();
        let mut tls = TlsParameters::builder(host.clone());
        if let Some(pem) = &self.extra_root_pem {
            let root = Certificate::from_pem(pem)
                .map_err(|_| ServiceError::invalid(message!("mail-smtp-ca-file-not-pem", "smtp_ca_file: not a PEM certificate")))?;
            tls = tls.add_root_certificate(root);
        }
        let tls = tls.build_rustls().map_err(|e| ServiceError::Internal(format!("cannot set up TLS for SMTP: {e}")))?;
        let (tls, default_port) = match url.scheme() {
            "smtp" => (Tls::Opportunistic(tls), 587),
            "smtps" => (Tls::Wrapper(tls), 465),
            _ => return Err(invalid(message!("mail-smtp-url-scheme", "the scheme must be smtp:// or smtps://"))),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(url.port().unwrap_or(default_port))
            .tls(tls)
            .timeout(Some(Duration::from_secs(30)));
        if !url.username().is_empty() {
            let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
            let password = url.password().map(decode).or_else(|| self.password.clone()).unwrap_or_default();
            builder = builder.credentials(Credentials::new(decode(url.username()), password));
        }
        let from: Mailbox =
            self.from.parse().map_err(|_| ServiceError::invalid(message!("mail-from-not-address", "mail_from: not an email address")))?;
        Ok((builder.build(), from))
    }
}

/// What a letter is, for the log and the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LetterKind {
    PasswordReset,
    EmailVerification,
    Invitation,
}

impl LetterKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PasswordReset => "password_reset",
            Self::EmailVerification => "email_verification",
            Self::Invitation => "invitation",
        }
    }
}

/// A mail ready to send: plain text and HTML, each holding the one link.
pub struct Letter {
    pub kind: LetterKind,
    /// The recipient's user id, for the log; for an invitation, whose recipient may have none
    /// yet, the invitation's id.
    pub user: UserId,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl std::fmt::Debug for Letter {
    /// The bodies hold a credential: never shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Letter").field("kind", &self.kind).field("user", &self.user).finish_non_exhaustive()
    }
}

/// Every letter is one message of a kind: a line naming the brand, what happened, the one link,
/// and what to do if it was not you; in the plain-text and the HTML part alike.
#[derive(Template)]
#[template(path = "mail/letter.txt")]
struct LetterText<'a> {
    brand: &'a str,
    intro: &'a str,
    link: &'a str,
    outro: &'a str,
}

#[derive(Template)]
#[template(path = "mail/letter.html")]
struct LetterHtml<'a> {
    lang: &'a str,
    brand: &'a str,
    subject: &'a str,
    intro: &'a str,
    link: &'a str,
    link_text: &'a str,
    outro: &'a str,
}

fn rendered(template: &impl Template) -> Result<String> {
    template.render().map_err(|e| ServiceError::Internal(format!("cannot render a mail: {e}")))
}

/// Mail's catalogues, `locales/LANG/mail.ftl`.
fn mail_files(lang: Lang) -> &'static [&'static str] {
    match lang {
        Lang::En => &[include_str!("../locales/en/mail.ftl")],
        Lang::De => &[include_str!("../locales/de/mail.ftl")],
    }
}

static MAIL: LazyLock<Catalogues> = LazyLock::new(|| Catalogues::new(mail_files));

/// A letter's texts in `lang`: messages `mail-KIND-subject`, `-intro`, `-link` and `-outro`.
struct Words {
    subject: String,
    intro: String,
    link_text: String,
    outro: String,
}

impl Words {
    fn of(lang: Lang, kind: &str, args: &[(&str, FluentValue<'_>)]) -> Self {
        let text = |part: &str| MAIL.text(lang, &format!("mail-{kind}-{part}"), args);
        Words { subject: text("subject"), intro: text("intro"), link_text: text("link"), outro: text("outro") }
    }
}

/// How a letter is addressed and what it says, in the recipient's language (`lang`: the language
/// of the page that caused it) and under the operator's `brand`.
pub(crate) struct Envelope<'a> {
    pub lang: Lang,
    pub brand: &'a str,
    pub to: &'a str,
    pub link: &'a str,
}

impl Letter {
    fn written(kind: LetterKind, user: UserId, envelope: &Envelope<'_>, words: Words) -> Result<Self> {
        let Envelope { lang, brand, to, link } = *envelope;
        Ok(Self {
            kind,
            user,
            to: to.to_owned(),
            text: rendered(&LetterText { brand, intro: &words.intro, link, outro: &words.outro })?,
            html: rendered(&LetterHtml {
                lang: lang.as_str(),
                brand,
                subject: &words.subject,
                intro: &words.intro,
                link,
                link_text: &words.link_text,
                outro: &words.outro,
            })?,
            subject: words.subject,
        })
    }

    pub(crate) fn password_reset(envelope: &Envelope<'_>, user: UserId, minutes: i64) -> Result<Self> {
        let words = Words::of(envelope.lang, "reset", &[("brand", envelope.brand.into()), ("minutes", minutes.into())]);
        Self::written(LetterKind::PasswordReset, user, envelope, words)
    }

    /// `inviter`: an email, or `None` for the operator.
    pub(crate) fn invitation(envelope: &Envelope<'_>, invitation: &str, org: &str, role: &str, inviter: Option<&str>) -> Result<Self> {
        let inviter = inviter.map_or_else(|| MAIL.text(envelope.lang, "mail-invite-operator", &[]), str::to_owned);
        // The role in the letter's language: `mail-role-owner`, `-admin`, `-member`.
        let role = MAIL.text(envelope.lang, &format!("mail-role-{role}"), &[]);
        let args = [("brand", envelope.brand.into()), ("org", org.into()), ("role", role.into()), ("inviter", inviter.into())];
        Self::written(LetterKind::Invitation, UserId::new(invitation), envelope, Words::of(envelope.lang, "invite", &args))
    }

    pub(crate) fn email_verification(envelope: &Envelope<'_>, user: UserId) -> Result<Self> {
        let words = Words::of(envelope.lang, "verify", &[("brand", envelope.brand.into()), ("email", envelope.to.into())]);
        Self::written(LetterKind::EmailVerification, user, envelope, words)
    }
}

/// Letters waiting for the delivery task; past this, new ones are dropped (and logged) rather
/// than holding memory while the mail server is down.
const QUEUE: usize = 1000;
/// Letters being sent (or waiting for a retry) at once.
const IN_FLIGHT: usize = 8;
/// Waits between attempts: about 40 minutes in all before a letter is given up.
const BACKOFF: [u64; 7] = [5, 15, 30, 60, 300, 600, 1200];

/// Where use cases put letters. Off when no mail server is configured: the pages say email is
/// off and the CLI prints links instead.
#[derive(Debug, Clone, Default)]
pub struct Outbox {
    queue: Option<mpsc::Sender<Letter>>,
}

impl Outbox {
    /// Checks the settings, and starts the delivery task on the current runtime.
    pub fn start(settings: &MailSettings) -> Result<Self> {
        let (transport, from) = settings.transport()?;
        let (queue, letters) = mpsc::channel(QUEUE);
        tokio::spawn(deliver(Arc::new(transport), from, letters));
        Ok(Self { queue: Some(queue) })
    }

    pub fn enabled(&self) -> bool {
        self.queue.is_some()
    }

    /// Queues `letter` without waiting. `false` when mail is off or the queue is full.
    pub(crate) fn post(&self, letter: Letter) -> bool {
        let Some(queue) = &self.queue else { return false };
        let (kind, user) = (letter.kind, letter.user.clone());
        match queue.try_send(letter) {
            Ok(()) => true,
            Err(_) => {
                tracing::warn!(kind = kind.as_str(), user = %user, "the mail queue is full or closed; a mail was dropped");
                false
            }
        }
    }
}

async fn deliver(transport: Arc<AsyncSmtpTransport<Tokio1Executor>>, from: Mailbox, mut letters: mpsc::Receiver<Letter>) {
    let in_flight = Arc::new(Semaphore::new(IN_FLIGHT));
    while let Some(letter) = letters.recv().await {
        let Ok(permit) = in_flight.clone().acquire_owned().await else { return };
        let (transport, from) = (transport.clone(), from.clone());
        tokio::spawn(async move {
            send_with_retries(&transport, from, letter).await;
            drop(permit);
        });
    }
}

async fn send_with_retries(transport: &AsyncSmtpTransport<Tokio1Executor>, from: Mailbox, letter: Letter) {
    let (kind, user) = (letter.kind.as_str(), letter.user.to_string());
    let to: Mailbox = match letter.to.parse() {
        Ok(to) => to,
        Err(_) => {
            tracing::warn!(kind, user, "a mail was not sent: the recipient's address is not valid");
            return;
        }
    };
    let message =
        Message::builder().from(from).to(to).subject(letter.subject).multipart(MultiPart::alternative_plain_html(letter.text, letter.html));
    let message = match message {
        Ok(message) => message,
        Err(e) => {
            tracing::warn!(kind, user, error = %e, "a mail could not be built");
            return;
        }
    };
    for (attempt, wait) in std::iter::once(0).chain(BACKOFF).enumerate() {
        tokio::time::sleep(Duration::from_secs(wait)).await;
        match transport.send(message.clone()).await {
            Ok(_) => {
                tracing::info!(kind, user, attempt = attempt + 1, "mail sent");
                return;
            }
            // A permanent refusal (5xx: no such mailbox, relaying denied) will not change.
            Err(e) if e.is_permanent() => {
                tracing::warn!(kind, user, error = %e, "the mail server refused a mail");
                return;
            }
            Err(e) => tracing::warn!(kind, user, attempt = attempt + 1, error = %e, "a mail could not be sent yet; retrying"),
        }
    }
    tracing::warn!(kind, user, "a mail was given up after its retries");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mail_message_is_in_every_language_once_and_formats() {
        let problems = MAIL.problems();
        assert!(problems.is_empty(), "{problems:#?}");
    }

    #[test]
    fn a_letter_is_written_in_the_language_asked() {
        let envelope = |lang| Envelope { lang, brand: "Acme", to: "a@example.test", link: "https://id.example/l/x" };
        let english = Letter::password_reset(&envelope(Lang::En), UserId::new("u"), 30).unwrap();
        assert_eq!(english.subject, "Reset your Acme password");
        assert!(english.text.contains("within 30 minutes:\n\nhttps://id.example/l/x\n"), "{}", english.text);
        let german = Letter::password_reset(&envelope(Lang::De), UserId::new("u"), 30).unwrap();
        assert_eq!(german.subject, "Ihr Passwort für Acme zurücksetzen");
        assert!(german.html.contains(r#"<html lang="de">"#) && german.html.contains(">Neues Passwort wählen</a>"), "{}", german.html);
        let invited = Letter::invitation(&envelope(Lang::De), "inv", "Acme Labs", "admin", None).unwrap();
        assert!(invited.text.starts_with("Acme\n\nDer Betreiber hat Sie zu Acme Labs bei Acme eingeladen, als Admin."), "{}", invited.text);
        for role in ["owner", "admin", "member"] {
            let english = Letter::invitation(&envelope(Lang::En), "inv", "Acme Labs", role, None).unwrap();
            assert!(english.text.contains(&format!("as {role}.")), "{}", english.text);
        }
    }
}
