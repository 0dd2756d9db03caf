//! Schemas of the OpenAPI document built from the domain's closed lists
//! and the checks the server makes, so the document names exactly what
//! the server takes: a generated client (or Schemathesis) that follows it
//! is never refused, and one that strays is.

use utoipa::openapi::schema::{Object, ObjectBuilder, Type};
use vouch_domain as domain;

/// Every character text may not hold (see `is_forbidden_control`), as a
/// regex class body: C0 controls except tab, LF and CR, DEL, C1 controls.
pub const FORBIDDEN: &str = "\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F";

/// Every control character, as a regex class body: what a URL and a
/// one-line text may not hold (tab and line breaks included).
pub const CONTROLS: &str = "\\u0000-\\u001F\\u007F-\\u009F";

/// The White_Space characters that are not controls, for one-line text.
macro_rules! spaces {
    () => {
        " \\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000"
    };
}

/// What Rust's `trim` takes away (the Unicode White_Space characters),
/// spelled out: regex engines disagree on `\s` (ECMAScript adds U+FEFF).
/// U+0085 (NEL) is left out: a C1 control, refused in any text.
pub const WHITESPACE: &str = concat!("\\t\\n\\r", spaces!());

/// `en`, `ro`, `en-GB`, `pt_BR`: what `Locale::parse` takes.
const LOCALE: &str = "^[A-Za-z]{2,3}([-_][A-Za-z]{2})?$";

/// A date or an RFC 3339 time, as `parse_time` takes them (days 29–31
/// are left out so that no generated example names a day a month lacks).
const TIME: &str = "^20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])(T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](Z|[+-]0[0-9]:00))?$";

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

/// A regex alternative matching exactly one of `names`.
fn alternatives<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    names
        .into_iter()
        .map(|n| n.replace('.', "\\."))
        .collect::<Vec<_>>()
        .join("|")
}

/// One of `names`.
fn one_of<'a>(names: impl IntoIterator<Item = &'a str>) -> Object {
    string()
        .enum_values(Some(names.into_iter().map(str::to_owned)))
        .build()
}

/// A comma-separated list of `names`.
fn list_of<'a>(names: impl IntoIterator<Item = &'a str>) -> Object {
    let one = alternatives(names);
    string()
        .pattern(Some(format!("^({one})(,({one}))*$")))
        .build()
}

/// Text with at least one character that is not a space, at most `max`.
pub fn nonblank(max: usize) -> Object {
    string()
        .max_length(Some(max))
        // Leading spaces, then the first other character: one way to match,
        // so generators and validators need no backtracking.
        .pattern(Some(format!(
            "^[{WHITESPACE}]*[^{WHITESPACE}{FORBIDDEN}][^{FORBIDDEN}]*$"
        )))
        .build()
}

pub fn channel() -> Object {
    one_of(domain::Channel::ALL.iter().map(|c| c.as_str()))
}

pub fn channels() -> Object {
    list_of(domain::Channel::ALL.iter().map(|c| c.as_str()))
}

/// Survey names, comma-separated (a name cannot hold a comma here, nor,
/// in a URL, any control character).
pub fn survey_names() -> Object {
    let spaces = spaces!();
    let name = format!("[{spaces}]*[^,{spaces}{CONTROLS}][^,{CONTROLS}]*");
    string()
        .pattern(Some(format!("^{name}(,{name})*$")))
        .build()
}

/// One line of at most `max` characters: no control character at all.
pub fn one_line(max: usize) -> Object {
    string()
        .max_length(Some(max))
        .pattern(Some(format!("^[^{CONTROLS}]*$")))
        .build()
}

/// An address as `Email::parse` takes it: something, `@`, two or more
/// dot-separated labels that neither start nor end with `-`.
pub fn email() -> Object {
    let c = format!("{WHITESPACE}{CONTROLS}");
    let label = format!("[^.@{c}-]([^.@{c}]*[^.@{c}-])?");
    string()
        .max_length(Some(domain::Email::MAX_CHARS))
        .pattern(Some(format!("^[^@{c}]+@{label}(\\.{label})+$")))
        .build()
}

/// An address, or empty (no address).
pub fn email_or_empty() -> Object {
    let mut schema = email();
    schema.pattern = schema.pattern.map(|p| format!("^$|{p}"));
    schema
}

pub fn event_kinds() -> Object {
    list_of(domain::EventKind::ALL.iter().map(|k| k.as_str()))
}

pub fn source() -> Object {
    one_of(domain::Source::ALL.iter().map(|s| s.as_str()))
}

pub fn sources() -> Object {
    list_of(domain::Source::ALL.iter().map(|s| s.as_str()))
}

/// The purposes consent is recorded for: all but `service`, which needs none.
pub fn purpose() -> Object {
    one_of(
        domain::Purpose::ALL
            .iter()
            .filter(|p| **p != domain::Purpose::Service)
            .map(|p| p.as_str()),
    )
}

pub fn consent_basis() -> Object {
    one_of(domain::ConsentBasis::ALL.iter().map(|b| b.as_str()))
}

pub fn template_name() -> Object {
    one_of(
        vouch_app::templates::TemplateName::ALL
            .iter()
            .map(|n| n.as_str()),
    )
}

/// The languages messages are written in.
pub fn message_language() -> Object {
    one_of(crate::locale::languages())
}

pub fn locale() -> Object {
    string().pattern(Some(LOCALE)).build()
}

/// Two-letter language codes, comma-separated: `en,ro`.
pub fn languages() -> Object {
    string()
        .pattern(Some("^[A-Za-z]{2}(,[A-Za-z]{2})*$"))
        .build()
}

pub fn time() -> Object {
    string().pattern(Some(TIME)).build()
}

/// A short field of a feedback item (title, name, handle, URL…): any
/// text of at most `MAX_FIELD_CHARS` characters.
pub fn short_field() -> Object {
    string()
        .max_length(Some(vouch_domain::text::MAX_FIELD_CHARS))
        .build()
}

/// What `logo_url_ok` takes, or blank for no logo.
pub fn logo_url() -> Object {
    let punctuation = vouch_app::surveys::LOGO_URL_PUNCTUATION;
    let spaces = spaces!();
    string()
        .max_length(Some(2000))
        .pattern(Some(format!(
            "^[\\t\\n\\r{spaces}]*$|^https://[A-Za-z0-9.-]+(:[0-9]{{1,5}})?([/?][A-Za-z0-9{punctuation}]*)?$"
        )))
        .build()
}

/// What the webhook handler's `url_shape_ok` takes: `http(s)://`, a DNS
/// name whose last label starts with a letter, a dotted IPv4 address or a
/// bracketed IPv6 one (RFC 3986's forms, as `Ipv6Addr` parses them), a
/// port of 1–65535, then a path and a query of URL characters.
pub fn webhook_url() -> Object {
    let label = "[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
    let last = "[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
    let octet = "(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])";
    let ipv4 = format!("({octet}\\.){{3}}{octet}");
    let h16 = "[0-9A-Fa-f]{1,4}";
    let ls32 = format!("({h16}:{h16}|{ipv4})");
    let before = |n: usize| format!("(({h16}:){{0,{n}}}{h16})?");
    let ipv6 = [
        format!("({h16}:){{6}}{ls32}"),
        format!("::({h16}:){{5}}{ls32}"),
        format!("({h16})?::({h16}:){{4}}{ls32}"),
        format!("{}::({h16}:){{3}}{ls32}", before(1)),
        format!("{}::({h16}:){{2}}{ls32}", before(2)),
        format!("{}::{h16}:{ls32}", before(3)),
        format!("{}::{ls32}", before(4)),
        format!("{}::{h16}", before(5)),
        format!("{}::", before(6)),
    ]
    .join("|");
    let port =
        "([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])";
    let chars = "A-Za-z0-9._~!$&'()*+,;=:@%/";
    string()
        .max_length(Some(2000))
        .pattern(Some(format!(
            "^https?://((({label}\\.)*{last})|(\\[({ipv6})\\])|{ipv4})(:{port})?(/[{chars}-]*)?([?][{chars}?-]*)?$"
        )))
        .build()
}

/// An IANA time zone, as chrono-tz knows them.
pub fn time_zone() -> Object {
    one_of(chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()))
}

/// What an NPS can be broken down by (`vouch_app::params::parse_breakdown`).
pub fn breakdown() -> Object {
    let periods = alternatives(
        vouch_domain::analytics::Granularity::ALL
            .iter()
            .map(|g| g.as_str())
            .chain(["survey", "channel", "lang", "language"]),
    );
    string()
        .pattern(Some(format!(
            "^({periods}|attr:[^{WHITESPACE}{FORBIDDEN}]+)$"
        )))
        .build()
}

/// `NAME=VALUE`, an attribute a customer must have (`parse_attribute`
/// takes more; the document keeps to names and values of these characters).
pub fn attribute() -> Object {
    string()
        .pattern(Some("^[A-Za-z0-9_]+=[A-Za-z0-9_ -]*$"))
        .build()
}

/// A window such as `90d` or `12w` (`parse_window`).
pub fn window() -> Object {
    string().pattern(Some("^[1-9][0-9]{0,3}[dw]$")).build()
}

/// A confidence level strictly between 0 and 1 (`parse_level`).
pub fn level() -> Object {
    string()
        .pattern(Some("^0?\\.[0-9]{0,8}[1-9][0-9]{0,8}$"))
        .build()
}

/// Wording per language: `{"en": "…", "ro": "…"}`, each 1–500 characters.
pub fn wording() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .property_names(Some(locale()))
        .additional_properties(Some(utoipa::openapi::schema::Schema::Object(nonblank(500))))
        .build()
}

/// Marker types, one per schema above, named as the document shows them.
macro_rules! schema_types {
    ($($type:ident = $schema:expr;)+) => {$(
        pub struct $type;
        impl utoipa::PartialSchema for $type {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::Schema::Object($schema).into()
            }
        }
        impl utoipa::ToSchema for $type {}
    )+};
}

schema_types! {
    Channel = channel();
    Channels = channels();
    SurveyNames = survey_names();
    EventKinds = event_kinds();
    Source = source();
    Sources = sources();
    Purpose = purpose();
    ConsentBasis = consent_basis();
    TemplateName = template_name();
    MessageLanguage = message_language();
    Locale = locale();
    Languages = languages();
    Time = time();
    TimeZone = time_zone();
    Breakdown = breakdown();
    Window = window();
    Attribute = attribute();
    Level = level();
    Wording = wording();
    Email = email();
    EmailOrEmpty = email_or_empty();
    SurveyName = nonblank(200);
    Text = nonblank(vouch_domain::text::MAX_TEXT_CHARS);
    ShortField = short_field();
    CompanyName = nonblank(100);
    PostalAddress = one_line(300);
    LogoUrl = logo_url();
    WebhookUrl = webhook_url();
}

/// Customers by id (a number) or by email or external id (a string): at least one.
pub struct CustomerKeys;

impl utoipa::PartialSchema for CustomerKeys {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ArrayBuilder, OneOfBuilder};
        use utoipa::openapi::{KnownFormat, SchemaFormat};
        let id = ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)));
        ArrayBuilder::new()
            .min_items(Some(1))
            .items(OneOfBuilder::new().item(id).item(nonblank(320)))
            .build()
            .into()
    }
}

impl utoipa::ToSchema for CustomerKeys {}
