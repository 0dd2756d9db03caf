//! The mail path every message takes: a template rendered (MiniJinja,
//! auto-escaped) into a message with Vouch's From, then one transport.
//! Survey emails are written in the customer's language from the locale
//! files, with the score scale as one-click links, a plain-text part and
//! RFC 8058 unsubscribe headers; staff invitations are plain text.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use lettre::message::{Mailbox, MessageBuilder, MultiPart, SinglePart, header};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use vouch_app::outreach::SurveyEmail;
use vouch_app::templates::MessageTemplate;

use crate::locale::Ui;
use crate::locale::texts_or_english;

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

/// Vouch's own survey email, used in every language (its words come from
/// the locale files as `t`) unless the company saved its own.
pub fn builtin_survey_template() -> MessageTemplate {
    MessageTemplate {
        subject: include_str!("../templates/mail/survey.email.subject")
            .trim()
            .to_owned(),
        text: include_str!("../templates/mail/survey.email.txt").to_owned(),
        html: include_str!("../templates/mail/survey.email.html").to_owned(),
    }
}

/// What a survey email template is rendered with; `survey_email_sample`
/// gives the same shape for previews.
#[allow(clippy::too_many_arguments)]
fn survey_context(
    lang: &str,
    kind: vouch_domain::SurveyKind,
    company: &str,
    colour: &str,
    question: &str,
    links: &[(u8, String)],
    unsubscribe: &str,
    reminder: bool,
    customer_name: Option<&str>,
    postal_address: Option<&str>,
) -> serde_json::Value {
    let (_, texts) = texts_or_english(lang);
    let ui = Ui(texts);
    let (low, high) = match kind {
        vouch_domain::SurveyKind::Nps => ("scale_low_nps", "scale_high_nps"),
        vouch_domain::SurveyKind::Csat => ("scale_low_csat", "scale_high_csat"),
        vouch_domain::SurveyKind::Ces => ("scale_low_ces", "scale_high_ces"),
    };
    serde_json::json!({
        "lang": lang,
        "company": company,
        "colour": colour,
        "question": question,
        "reminder": reminder,
        "links": links.iter().map(|(n, url)| serde_json::json!({"score": n, "url": url})).collect::<Vec<_>>(),
        "low": ui.t(low),
        "high": ui.t(high),
        "unsubscribe_url": unsubscribe,
        "customer": {"name": customer_name},
        "postal_address": postal_address,
        "t": {
            "subject": ui.t("email_subject").replace("{company}", company),
            "reminder_subject": ui.t("email_reminder_subject").replace("{company}", company),
            "pick": ui.t("email_pick"),
            "comment": ui.t("email_comment"),
            "unsubscribe": ui.t("email_unsubscribe"),
        },
    })
}

/// A survey email's context with sample values, for previews and for
/// checking a template before it is saved.
pub fn survey_email_sample(
    lang: &str,
    company: &str,
    colour: &str,
    public_url: &str,
) -> serde_json::Value {
    let links: Vec<(u8, String)> = (0..=10)
        .map(|n| (n, format!("{public_url}/s/SAMPLE?score={n}")))
        .collect();
    let question = vouch_domain::SurveyTexts::defaults(vouch_domain::SurveyKind::Nps)
        .question_in(lang, company);
    survey_context(
        lang,
        vouch_domain::SurveyKind::Nps,
        company,
        colour,
        &question,
        &links,
        &format!("{public_url}/u/SAMPLE"),
        false,
        Some("Ana Popescu"),
        Some("Str. Exemplu 1, 500001 Brașov, România"),
    )
}

/// A survey's own email with sample links, as the send page previews it
/// in `lang` (the survey's kind and wording; links to `public_url`).
pub fn survey_email_preview(
    design: &vouch_domain::SurveyDesign,
    lang: &str,
    company: &str,
    colour: &str,
    public_url: &str,
) -> serde_json::Value {
    let kind = design.survey.kind;
    let scores = match kind {
        vouch_domain::SurveyKind::Nps => 0..=10,
        vouch_domain::SurveyKind::Csat => 1..=5,
        vouch_domain::SurveyKind::Ces => 1..=7,
    };
    let links: Vec<(u8, String)> = scores
        .map(|n| (n, format!("{public_url}/s/SAMPLE?score={n}")))
        .collect();
    survey_context(
        lang,
        kind,
        company,
        colour,
        &design.texts.question_in(lang, company),
        &links,
        &format!("{public_url}/u/SAMPLE"),
        false,
        Some("Ana Popescu"),
        None,
    )
}

/// Why a send did not happen.
#[derive(Debug)]
pub enum SendError {
    /// Worth retrying: the server was away, or answered 4xx.
    Transient(String),
    /// The address was refused for good (5xx): stop mailing it.
    Permanent(String),
}

/// How composed messages leave. SMTP is the one Vouch has; the mail path
/// (render, compose, send, classify the outcome) does not depend on it.
pub trait MailTransport: Send + Sync {
    fn send<'a>(
        &'a self,
        message: Message,
    ) -> Pin<Box<dyn Future<Output = Result<(), SendError>> + Send + 'a>>;
}

/// SMTP, from `smtp_url`: 5xx answers are permanent, the rest transient.
struct Smtp(AsyncSmtpTransport<Tokio1Executor>);

impl MailTransport for Smtp {
    fn send<'a>(
        &'a self,
        message: Message,
    ) -> Pin<Box<dyn Future<Output = Result<(), SendError>> + Send + 'a>> {
        Box::pin(async move {
            match self.0.send(message).await {
                Ok(_) => Ok(()),
                Err(e) if e.is_permanent() => Err(SendError::Permanent(e.to_string())),
                Err(e) => Err(SendError::Transient(e.to_string())),
            }
        })
    }
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
    transport: Option<Arc<dyn MailTransport>>,
    from: Option<Mailbox>,
    public_url: String,
}

impl Mailer {
    pub fn new(settings: &MailSettings) -> Mailer {
        let transport = settings.smtp_url.as_deref().and_then(|url| {
            AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                .map(|b| Arc::new(Smtp(b.build())) as Arc<dyn MailTransport>)
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
        let brand = &prepared.branding;
        let (lang, _) = texts_or_english(invitation.locale.language());
        let company = brand.company_name.as_str();
        let question = design.texts.question_in(lang, company);
        let (min, max) = design.survey.kind.scale();
        let links: Vec<(u8, String)> = (min..=max)
            .map(|n| (n, format!("{}/s/{token}?score={n}", self.public_url)))
            .collect();
        let unsubscribe = format!("{}/u/{token}", self.public_url);
        let context = survey_context(
            lang,
            design.survey.kind,
            company,
            &brand.colour,
            &question,
            &links,
            &unsubscribe,
            prepared.reminder,
            prepared.customer_name.as_deref(),
            brand.postal_address.as_deref(),
        );
        let template = prepared
            .template
            .clone()
            .unwrap_or_else(builtin_survey_template);
        // A saved template was checked when saved; one that fails now
        // (a built-in variable gone) waits for a fix rather than going out broken.
        let rendered = vouch_app::templates::render(&template, &context)
            .map_err(|e| SendError::Transient(e.to_string()))?;
        self.send(email.as_str(), rendered, |message| {
            message
                .message_id(Some(prepared.message_id.clone()))
                .header(ListUnsubscribe(format!("<{unsubscribe}>")))
                .header(ListUnsubscribePost)
        })
        .await
    }

    /// Sends a playbook message the mail layer has cleared
    /// (`vouch_app::playbooks::prepare_message`), as its Message-ID, with
    /// RFC 8058 one-click unsubscribe unless it is a service message.
    pub async fn send_playbook(
        &self,
        email: &vouch_app::playbooks::PlaybookEmail,
    ) -> Result<(), SendError> {
        let unsubscribe = email.unsubscribe_url.clone();
        self.send(email.to.as_str(), email.rendered.clone(), |message| {
            let message = message.message_id(Some(email.message_id.clone()));
            match unsubscribe {
                Some(url) => message
                    .header(ListUnsubscribe(format!("<{url}>")))
                    .header(ListUnsubscribePost),
                None => message,
            }
        })
        .await
    }

    /// Sends a staff reply the mail layer has cleared, as plain text: the
    /// words are the agent's own, so nothing in them is a template.
    pub async fn send_reply(
        &self,
        email: &vouch_app::playbooks::ReplyEmail,
    ) -> Result<(), SendError> {
        let rendered = plain(&email.subject, &email.body);
        let id = email.message_id.clone();
        self.send(email.to.as_str(), rendered, |message| {
            message.message_id(Some(id))
        })
        .await
    }

    /// The one way out: `rendered` to `to` from Vouch's From, with the
    /// headers `headers` adds, as plain text and (when the template has
    /// one) HTML, through the transport.
    async fn send(
        &self,
        to: &str,
        rendered: vouch_app::templates::Rendered,
        headers: impl FnOnce(MessageBuilder) -> MessageBuilder,
    ) -> Result<(), SendError> {
        self.send_with_images(to, rendered, &[], headers).await
    }

    /// `send`, with images the HTML shows by `cid:NAME` (the report's
    /// charts), in a multipart/related beside the HTML.
    async fn send_with_images(
        &self,
        to: &str,
        rendered: vouch_app::templates::Rendered,
        images: &[(String, Vec<u8>)],
        headers: impl FnOnce(MessageBuilder) -> MessageBuilder,
    ) -> Result<(), SendError> {
        let (Some(transport), Some(from)) = (&self.transport, &self.from) else {
            return Err(SendError::Transient(
                "no SMTP server is configured (smtp_url)".to_owned(),
            ));
        };
        let to: Mailbox = to
            .parse()
            .map_err(|e| SendError::Permanent(format!("{e}")))?;
        let builder =
            headers(Message::builder().from(from.clone()).to(to)).subject(rendered.subject);
        let message = if rendered.html.is_empty() {
            builder.singlepart(SinglePart::plain(rendered.text))
        } else if images.is_empty() {
            builder.multipart(
                MultiPart::alternative()
                    .singlepart(SinglePart::plain(rendered.text))
                    .singlepart(SinglePart::html(rendered.html)),
            )
        } else {
            let png: header::ContentType = "image/png".parse().expect("a content type");
            let related = images.iter().fold(
                MultiPart::related().singlepart(SinglePart::html(rendered.html)),
                |related, (name, bytes)| {
                    related.singlepart(
                        lettre::message::Attachment::new_inline(name.clone())
                            .body(bytes.clone(), png.clone()),
                    )
                },
            );
            builder.multipart(
                MultiPart::alternative()
                    .singlepart(SinglePart::plain(rendered.text))
                    .multipart(related),
            )
        }
        .map_err(|e| SendError::Permanent(e.to_string()))?;
        transport.send(message).await
    }
}

impl Mailer {
    /// Mails the periodic report to a colleague: a service message (no
    /// consent, suppression or contact budget applies: those are about
    /// customers), its chart as a PNG beside the HTML, with a plain-text twin.
    pub async fn send_report(
        &self,
        to: &str,
        report: &vouch_app::periodic::PeriodicReport,
        language: &str,
    ) -> Result<(), SendError> {
        let (html, text, images) = crate::report_pages::report_document(report, language, true);
        let (_, t) = crate::locale::texts_or_english(language);
        let subject = format!(
            "{} {}",
            crate::locale::Ui(t).t("report_title"),
            report.period
        );
        let rendered = vouch_app::templates::Rendered {
            subject,
            text,
            html,
        };
        self.send_with_images(to, rendered, &images, |message| message)
            .await
    }

    /// Whether an SMTP server is configured.
    pub fn can_send(&self) -> bool {
        self.transport.is_some() && self.from.is_some()
    }

    /// Mails a playbook's notice to a colleague (a `notify` step), as
    /// plain text.
    pub async fn send_staff_notice(
        &self,
        to: &str,
        subject: &str,
        text: &str,
    ) -> Result<(), SendError> {
        self.send(to, plain(subject, text), |message| message).await
    }

    /// Mails a member their portal sign-in link, in their language (a
    /// service message: it is what they asked for).
    pub async fn send_portal_link(
        &self,
        email: &vouch_app::portal::LinkEmail,
    ) -> Result<(), SendError> {
        self.send_portal_mail(email, "portal_mail_subject", "portal_mail_body")
            .await
    }

    /// Mails a customer the link that lets them join the program (they
    /// asked for it on the open join page).
    pub async fn send_join_link(
        &self,
        email: &vouch_app::portal::LinkEmail,
    ) -> Result<(), SendError> {
        self.send_portal_mail(email, "portal_join_mail_subject", "portal_join_mail_body")
            .await
    }

    async fn send_portal_mail(
        &self,
        email: &vouch_app::portal::LinkEmail,
        subject: &str,
        body: &str,
    ) -> Result<(), SendError> {
        let (_, t) = crate::locale::texts_or_english(&email.language);
        let ui = crate::locale::Ui(t);
        let text = ui
            .t(body)
            .replace("{name}", email.name.as_deref().unwrap_or(""))
            .replace("{company}", &email.company)
            .replace("{link}", &email.link);
        self.send(email.to.as_str(), plain(ui.t(subject), &text), |message| {
            message
        })
        .await
    }

    /// Mails a staff invitation: the single-use link that sets a password.
    pub async fn send_staff_invitation(
        &self,
        to: &str,
        token: &str,
        days: u32,
    ) -> Result<(), SendError> {
        // A service message to a colleague: no consent, suppression or
        // contact budget applies (those are about customers).
        let template = MessageTemplate {
            subject: include_str!("../templates/mail/staff_invitation.subject")
                .trim()
                .to_owned(),
            text: include_str!("../templates/mail/staff_invitation.txt").to_owned(),
            html: String::new(),
        };
        let context = serde_json::json!({
            "link": format!("{}/invite/{token}", self.public_url),
            "days": days,
        });
        let rendered = vouch_app::templates::render(&template, &context)
            .map_err(|e| SendError::Permanent(e.to_string()))?;
        self.send(to, rendered, |message| message).await
    }
}

/// A plain-text message written by staff: the subject on one line, at
/// most 200 characters.
fn plain(subject: &str, text: &str) -> vouch_app::templates::Rendered {
    vouch_app::templates::Rendered {
        subject: subject
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .take(200)
            .collect(),
        text: text.to_owned(),
        html: String::new(),
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
