//! Survey emails: written in the customer's language from the locale files,
//! with the score scale as one-click links, a plain-text part and an
//! unsubscribe link; sent over SMTP by the job workers.

use askama::Template;
use lettre::message::{Mailbox, MultiPart, SinglePart, header};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use vouch_app::outreach::SurveyEmail;

use crate::locale::texts_for;
use crate::pages::Ui;

/// Where and as whom survey emails go out; see docs/CONFIG.md.
#[derive(Debug, Clone, Default)]
pub struct MailSettings {
    /// `smtp://HOST:PORT` (plain), `smtp://HOST:PORT?tls=required` (STARTTLS),
    /// `smtps://USER:PASSWORD@HOST:465` (TLS). None: emails wait and retry.
    pub smtp_url: Option<String>,
    /// The From address, e.g. `Acme <surveys@acme.example>`.
    pub from: String,
    /// The server's address as customers reach it, for links: `https://vouch.acme.example`.
    pub public_url: String,
}

#[derive(Template)]
#[template(path = "email.txt")]
struct EmailText<'a> {
    question: &'a str,
    pick: &'a str,
    links: &'a [(u8, String)],
    comment_hint: &'a str,
    unsubscribe_text: &'a str,
    unsubscribe: &'a str,
}

#[derive(Template)]
#[template(path = "email.html")]
struct EmailHtml<'a> {
    lang: &'a str,
    question: &'a str,
    pick: &'a str,
    links: &'a [(u8, String)],
    colour: &'a str,
    low: &'a str,
    high: &'a str,
    comment_hint: &'a str,
    unsubscribe_text: &'a str,
    unsubscribe: &'a str,
}

/// Why a send did not happen.
#[derive(Debug)]
pub enum SendError {
    /// Worth retrying: the server was away, or answered 4xx.
    Transient(String),
    /// The address was refused for good (5xx): stop mailing it.
    Permanent(String),
}

impl MailSettings {
    /// Refuses settings that could never send: a malformed `smtp_url` or
    /// `from`, so `vouch serve` stops at start instead of retrying forever.
    pub fn check(&self) -> Result<(), String> {
        if let Some(url) = &self.smtp_url {
            AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                .map_err(|e| format!("smtp_url is not usable: {e}"))?;
        }
        self.from
            .parse::<Mailbox>()
            .map_err(|e| format!("mail_from {:?} is not an address: {e}", self.from))?;
        Ok(())
    }
}

pub struct Mailer {
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
    from: Option<Mailbox>,
    public_url: String,
}

impl Mailer {
    pub fn new(settings: &MailSettings) -> Mailer {
        let transport = settings.smtp_url.as_deref().and_then(|url| {
            AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                .map(|b| b.build())
                .map_err(|e| tracing::error!(error = %e, "the SMTP URL is not usable"))
                .ok()
        });
        let from = settings
            .from
            .parse()
            .map_err(|e| tracing::error!(error = %e, "mail_from is not an address"))
            .ok();
        Mailer {
            transport,
            from,
            public_url: settings.public_url.trim_end_matches('/').to_owned(),
        }
    }

    /// The domain of the From address, for Message-IDs.
    pub fn domain(&self) -> String {
        self.from
            .as_ref()
            .map(|f| f.email.domain().to_owned())
            .unwrap_or_else(|| "vouch.invalid".to_owned())
    }

    /// Renders and sends a survey email that the mail layer has cleared
    /// (`vouch_app::outreach::prepare_survey_email`), as its Message-ID.
    pub async fn send_survey(&self, prepared: &SurveyEmail) -> Result<(), SendError> {
        let invitation = &prepared.invitation;
        let design = &prepared.design;
        let email = &prepared.to;
        let token = &prepared.token;
        let (Some(transport), Some(from)) = (&self.transport, &self.from) else {
            return Err(SendError::Transient(
                "no SMTP server is configured (smtp_url)".to_owned(),
            ));
        };
        let brand = &prepared.branding;
        let (lang, t) = texts_for(invitation.locale.language())
            .or_else(|| texts_for("en"))
            .expect("English texts exist");
        let ui = Ui(t);
        let company = brand.company_name.as_str();
        let question = design.texts.question_in(lang, company);
        let (min, max) = design.survey.kind.scale();
        let links: Vec<(u8, String)> = (min..=max)
            .map(|n| (n, format!("{}/s/{token}?score={n}", self.public_url)))
            .collect();
        let unsubscribe = format!("{}/u/{token}", self.public_url);
        let (low, high) = match design.survey.kind {
            vouch_domain::SurveyKind::Nps => ("scale_low_nps", "scale_high_nps"),
            vouch_domain::SurveyKind::Csat => ("scale_low_csat", "scale_high_csat"),
            vouch_domain::SurveyKind::Ces => ("scale_low_ces", "scale_high_ces"),
        };
        let text = EmailText {
            question: &question,
            pick: ui.t("email_pick"),
            links: &links,
            comment_hint: ui.t("email_comment"),
            unsubscribe_text: ui.t("email_unsubscribe"),
            unsubscribe: &unsubscribe,
        }
        .render()
        .map_err(|e| SendError::Transient(e.to_string()))?;
        let html = EmailHtml {
            lang,
            question: &question,
            pick: ui.t("email_pick"),
            links: &links,
            colour: &brand.colour,
            low: ui.t(low),
            high: ui.t(high),
            comment_hint: ui.t("email_comment"),
            unsubscribe_text: ui.t("email_unsubscribe"),
            unsubscribe: &unsubscribe,
        }
        .render()
        .map_err(|e| SendError::Transient(e.to_string()))?;
        let subject_key = if prepared.reminder {
            "email_reminder_subject"
        } else {
            "email_subject"
        };
        let to: Mailbox = email
            .as_str()
            .parse()
            .map_err(|e| SendError::Permanent(format!("{e}")))?;
        let message = Message::builder()
            .from(from.clone())
            .to(to)
            .message_id(Some(prepared.message_id.clone()))
            .subject(ui.t(subject_key).replace("{company}", company))
            .header(ListUnsubscribe(format!("<{unsubscribe}>")))
            .header(ListUnsubscribePost)
            .multipart(
                MultiPart::alternative()
                    .singlepart(SinglePart::plain(text))
                    .singlepart(SinglePart::html(html)),
            )
            .map_err(|e| SendError::Permanent(e.to_string()))?;
        match transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(SendError::Permanent(e.to_string())),
            Err(e) => Err(SendError::Transient(e.to_string())),
        }
    }
}

impl Mailer {
    /// Whether an SMTP server is configured.
    pub fn can_send(&self) -> bool {
        self.transport.is_some() && self.from.is_some()
    }

    /// Mails a staff invitation: the single-use link that sets a password.
    pub async fn send_staff_invitation(
        &self,
        to: &str,
        token: &str,
        days: u32,
    ) -> Result<(), SendError> {
        let (Some(transport), Some(from)) = (&self.transport, &self.from) else {
            return Err(SendError::Transient(
                "no SMTP server is configured (smtp_url)".to_owned(),
            ));
        };
        let link = format!("{}/invite/{token}", self.public_url);
        let to: Mailbox = to
            .parse()
            .map_err(|e| SendError::Permanent(format!("{e}")))?;
        let body = format!(
            "You are invited to Vouch, where your team follows what customers say.\n\n\
             Choose your password here (the link works once, for {days} days):\n{link}\n\n\
             If you did not expect this, ignore this email.\n"
        );
        let message = Message::builder()
            .from(from.clone())
            .to(to)
            .subject("Your invitation to Vouch")
            .singlepart(SinglePart::plain(body))
            .map_err(|e| SendError::Permanent(e.to_string()))?;
        transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| SendError::Transient(e.to_string()))
    }
}

/// `List-Unsubscribe`, for mail clients' own unsubscribe button (RFC 2369).
#[derive(Clone)]
struct ListUnsubscribe(String);

impl header::Header for ListUnsubscribe {
    fn name() -> header::HeaderName {
        header::HeaderName::new_from_ascii_str("List-Unsubscribe")
    }
    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribe(s.to_owned()))
    }
    fn display(&self) -> header::HeaderValue {
        header::HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058).
#[derive(Clone)]
struct ListUnsubscribePost;

impl header::Header for ListUnsubscribePost {
    fn name() -> header::HeaderName {
        header::HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }
    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribePost)
    }
    fn display(&self) -> header::HeaderValue {
        header::HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".to_owned())
    }
}
