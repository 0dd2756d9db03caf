//! Message templates a company may edit, rendered with MiniJinja in a
//! sandbox: no file or network access, a fuel limit so no template can
//! loop for ever, undefined variables as errors (a typo shows at preview,
//! not in a customer's inbox), and HTML auto-escaping, so customer data
//! can never become markup. A subject is one line: newlines and control
//! characters are dropped, so no value can add a header.

use serde::Serialize;
use vouch_store::Store;

use crate::Result;

/// The most characters in one part of a template.
pub const MAX_TEMPLATE_CHARS: usize = 20_000;

/// The longest subject sent, after rendering.
const MAX_SUBJECT_CHARS: usize = 200;

/// Template instructions one rendering may run (loops, filters, output).
const FUEL: u64 = 200_000;

/// The messages whose templates a company may replace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
pub enum TemplateName {
    /// A survey invitation, and its reminder (`reminder` is true).
    #[serde(rename = "survey.email")]
    SurveyEmail,
}

impl TemplateName {
    pub const ALL: &'static [TemplateName] = &[TemplateName::SurveyEmail];

    pub fn as_str(self) -> &'static str {
        match self {
            TemplateName::SurveyEmail => "survey.email",
        }
    }
}

impl std::str::FromStr for TemplateName {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        TemplateName::ALL
            .iter()
            .copied()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| format!("unknown template {s:?} (expected survey.email)"))
    }
}

/// A template's three parts, as MiniJinja source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct MessageTemplate {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// A rendered message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Why a template cannot be used, naming the part and the line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("the {part} template{}: {reason}", line.map(|l| format!(", line {l}")).unwrap_or_default())]
    Invalid {
        part: &'static str,
        line: Option<usize>,
        reason: String,
    },
    #[error("the {part} template is {chars} characters long; the limit is {MAX_TEMPLATE_CHARS}")]
    TooLong { part: &'static str, chars: usize },
}

/// Renders each part with `context`.
pub fn render(
    template: &MessageTemplate,
    context: &serde_json::Value,
) -> std::result::Result<Rendered, TemplateError> {
    let subject = render_part("subject", &template.subject, context, false)?;
    let subject: String = subject
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_SUBJECT_CHARS)
        .collect();
    Ok(Rendered {
        subject,
        text: render_part("text", &template.text, context, false)?,
        html: render_part("html", &template.html, context, true)?,
    })
}

fn render_part(
    part: &'static str,
    source: &str,
    context: &serde_json::Value,
    html: bool,
) -> std::result::Result<String, TemplateError> {
    let chars = source.chars().count();
    if chars > MAX_TEMPLATE_CHARS {
        return Err(TemplateError::TooLong { part, chars });
    }
    let mut env = minijinja::Environment::new();
    env.set_fuel(Some(FUEL));
    env.set_recursion_limit(20);
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.set_auto_escape_callback(move |_| {
        if html {
            minijinja::AutoEscape::Html
        } else {
            minijinja::AutoEscape::None
        }
    });
    env.render_str(source, context)
        .map_err(|e| TemplateError::Invalid {
            part,
            line: e.line(),
            reason: e
                .detail()
                .map_or_else(|| e.kind().to_string(), str::to_owned),
        })
}

/// The company's own template for `name` in `language`, if it has one.
pub async fn custom(
    store: &Store,
    name: TemplateName,
    language: &str,
) -> Result<Option<MessageTemplate>> {
    Ok(store
        .mail_template(name.as_str(), language)
        .await?
        .map(|(subject, text, html)| MessageTemplate {
            subject,
            text,
            html,
        }))
}

/// Saves the company's template for `name` in `language` after rendering
/// it with `sample` (what a real message would get), so a broken template
/// is refused here, not found in a customer's inbox.
pub async fn save(
    store: &Store,
    name: TemplateName,
    language: &str,
    template: &MessageTemplate,
    sample: &serde_json::Value,
) -> Result<std::result::Result<Rendered, TemplateError>> {
    let rendered = match render(template, sample) {
        Ok(rendered) => rendered,
        Err(e) => return Ok(Err(e)),
    };
    store
        .set_mail_template(
            name.as_str(),
            language,
            (&template.subject, &template.text, &template.html),
            chrono::Utc::now(),
        )
        .await?;
    Ok(Ok(rendered))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn template(subject: &str, text: &str, html: &str) -> MessageTemplate {
        MessageTemplate {
            subject: subject.into(),
            text: text.into(),
            html: html.into(),
        }
    }

    #[test]
    fn customer_data_never_becomes_markup_or_a_header() {
        let context =
            json!({"name": "<script>alert(1)</script>\r\nBcc: all@example.com", "company": "Acme"});
        let out = render(
            &template(
                "Hi {{ name }} from {{ company }}",
                "Hi {{ name }}",
                "<p>Hi {{ name }}</p>",
            ),
            &context,
        )
        .unwrap();
        assert!(!out.html.contains("<script>"), "{}", out.html);
        assert!(out.html.contains("&lt;script&gt;"), "{}", out.html);
        assert!(
            !out.subject.contains('\n') && !out.subject.contains('\r'),
            "{:?}",
            out.subject
        );
        assert_eq!(
            out.text,
            "Hi <script>alert(1)</script>\r\nBcc: all@example.com"
        );
    }

    #[test]
    fn broken_and_runaway_templates_are_refused_with_their_part_and_line() {
        let context = json!({"company": "Acme"});
        let typo = render(&template("ok", "line one\n{{ compnay }}", "x"), &context).unwrap_err();
        assert!(
            matches!(
                typo,
                TemplateError::Invalid {
                    part: "text",
                    line: Some(2),
                    ..
                }
            ),
            "{typo}"
        );
        let syntax = render(&template("{% if %}", "x", "x"), &context).unwrap_err();
        assert!(
            matches!(
                syntax,
                TemplateError::Invalid {
                    part: "subject",
                    ..
                }
            ),
            "{syntax}"
        );
        let runaway = render(
            &template(
                "x",
                "{% for a in range(10000) %}{% for b in range(10000) %}.{% endfor %}{% endfor %}",
                "x",
            ),
            &context,
        )
        .unwrap_err();
        assert!(runaway.to_string().contains("fuel"), "{runaway}");
        let long = "x".repeat(MAX_TEMPLATE_CHARS + 1);
        assert!(matches!(
            render(&template("x", "x", &long), &context),
            Err(TemplateError::TooLong { part: "html", .. })
        ));
        // No file or include loading: there is no loader.
        let include = render(&template("x", "{% include '/etc/passwd' %}", "x"), &context);
        assert!(include.is_err());
    }
}
