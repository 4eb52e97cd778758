//! Recognises which submitted field is the email, the phone, the name…
//! from the field names the common form tools use, or from a per-source
//! mapping in the config file for anything else.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use crate::lead::{
    normalise_field_name as normalise_name, normalised_field_name_bytes as normalised_bytes,
};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::body::{FieldKind, SubmittedField};

/// A field of the normalised lead that a submitted field can fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeadField {
    Email,
    FirstName,
    LastName,
    FullName,
    Company,
    Phone,
    JobTitle,
    Message,
    PageUrl,
    Referrer,
    UtmSource,
    UtmMedium,
    UtmCampaign,
    UtmTerm,
    UtmContent,
    /// What kind of organisation ("Federal Government", "Education"…): sector evidence.
    OrganizationType,
    /// The thank-you page a browser form asks to be sent to.
    RedirectUrl,
    /// Recognised only to be left alone (e.g. a mapped field that is noise).
    Ignore,
}

impl LeadField {
    pub const ALL: [LeadField; 18] = [
        Self::Email,
        Self::FirstName,
        Self::LastName,
        Self::FullName,
        Self::Company,
        Self::Phone,
        Self::JobTitle,
        Self::Message,
        Self::PageUrl,
        Self::Referrer,
        Self::UtmSource,
        Self::UtmMedium,
        Self::UtmCampaign,
        Self::UtmTerm,
        Self::UtmContent,
        Self::OrganizationType,
        Self::RedirectUrl,
        Self::Ignore,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::FirstName => "first_name",
            Self::LastName => "last_name",
            Self::FullName => "full_name",
            Self::Company => "company",
            Self::Phone => "phone",
            Self::JobTitle => "job_title",
            Self::Message => "message",
            Self::PageUrl => "page_url",
            Self::Referrer => "referrer",
            Self::UtmSource => "utm_source",
            Self::UtmMedium => "utm_medium",
            Self::UtmCampaign => "utm_campaign",
            Self::UtmTerm => "utm_term",
            Self::UtmContent => "utm_content",
            Self::OrganizationType => "organization_type",
            Self::RedirectUrl => "redirect_url",
            Self::Ignore => "ignore",
        }
    }
}

impl fmt::Display for LeadField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for LeadField {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|f| f.name()).collect();
                format!(
                    "unknown lead field {s:?}; expected one of {}",
                    names.join(", ")
                )
            })
    }
}

/// Field names of plain HTML forms, Salesforce Web-to-Lead, HubSpot,
/// Webflow, Gravity Forms (labels), Unbounce, Elementor, Typeform contact
/// blocks and Zapier-style flat JSON, compared after [`normalise_name`].
const ALIASES: &[(LeadField, &[&str])] = &[
    (
        LeadField::Email,
        &[
            "email",
            "emailaddress",
            "mail",
            "youremail",
            "workemail",
            "businessemail",
            "contactemail",
            "emailaddr",
            "useremail",
            "emailid",
            "hsemail",
        ],
    ),
    (
        LeadField::FirstName,
        &[
            "firstname",
            "fname",
            "givenname",
            "first",
            "forename",
            "yourfirstname",
            "namefirst",
        ],
    ),
    (
        LeadField::LastName,
        &[
            "lastname",
            "lname",
            "surname",
            "familyname",
            "last",
            "yourlastname",
            "namelast",
        ],
    ),
    (
        LeadField::FullName,
        &[
            "name",
            "fullname",
            "yourname",
            "contactname",
            "namefull",
            "contact",
            "fullnames",
        ],
    ),
    (
        LeadField::Company,
        &[
            "company",
            "companyname",
            "organization",
            "organisation",
            "org",
            "orgname",
            "organizationname",
            "organisationname",
            "business",
            "businessname",
            "yourcompany",
            "employer",
            "agency",
            "agencyname",
            "account",
            "accountname",
        ],
    ),
    (
        LeadField::Phone,
        &[
            "phone",
            "phonenumber",
            "tel",
            "telephone",
            "telephonenumber",
            "mobile",
            "mobilephone",
            "mobilenumber",
            "cell",
            "cellphone",
            "workphone",
            "businessphone",
            "yourphone",
            "contactnumber",
            "phoneno",
        ],
    ),
    (
        LeadField::JobTitle,
        &[
            "jobtitle",
            "title",
            "position",
            "role",
            "jobrole",
            "designation",
            "yourtitle",
        ],
    ),
    (
        LeadField::Message,
        &[
            "message",
            "comments",
            "comment",
            "description",
            "inquiry",
            "enquiry",
            "notes",
            "note",
            "details",
            "question",
            "questions",
            "yourmessage",
            "howcanwehelp",
            "howcanwehelpyou",
            "request",
            "body",
            "additionalinformation",
            "moreinfo",
        ],
    ),
    (
        LeadField::PageUrl,
        &[
            "pageurl",
            "pageuri",
            "sourceurl",
            "landingpage",
            "landingpageurl",
            "pagelocation",
            "formurl",
            "conversionpage",
            "hsurl",
        ],
    ),
    (
        LeadField::Referrer,
        &[
            "referrer",
            "referer",
            "httpreferer",
            "httpreferrer",
            "documentreferrer",
        ],
    ),
    (LeadField::UtmSource, &["utmsource"]),
    (LeadField::UtmMedium, &["utmmedium"]),
    (LeadField::UtmCampaign, &["utmcampaign"]),
    (LeadField::UtmTerm, &["utmterm"]),
    (LeadField::UtmContent, &["utmcontent"]),
    (
        LeadField::OrganizationType,
        &[
            "organizationtype",
            "organisationtype",
            "orgtype",
            "typeoforganization",
            "typeoforganisation",
            "sector",
            "companytype",
            "agencytype",
            "entitytype",
            "customertype",
            "accounttype",
            "organizationcategory",
        ],
    ),
    (
        LeadField::RedirectUrl,
        &[
            "redirect",
            "redirecturl",
            "redirectto",
            "next",
            "returl",
            "returnurl",
            "thankyouurl",
            "successurl",
        ],
    ),
];

/// Email names that say whose address it is, other than the lead's own
/// (`work_email` beside `email`): still the email when alone, but a plainly
/// named one in the same form is the lead's own.
const QUALIFIED_EMAIL_ALIASES: &[&str] = &["workemail", "businessemail"];

/// How plainly a field recognised as the email is the lead's own address,
/// plainest first. A form can carry several (a work address beside the
/// plain one, a colleague's, `manager.email`): the plainest decides the
/// lead's email, and so its sector; the first in the form among equals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EmailNaming {
    /// The source's field mapping names it the email.
    Mapped,
    /// The form or vendor calls it the email: `email`, `Email Address`,
    /// HubSpot's `email`, `contact.email`, Elementor's `fields[email]`.
    Plain,
    /// A plain email name under a parent that may say whose it is (`manager.email`).
    Nested,
    /// A qualified name (`work_email`), or only a vendor's email type.
    Qualified,
}

/// Weaker matches for question-style labels ("What's your work email?"),
/// used only when no field matched by name and only if the value fits.
const LABEL_HINTS: &[(LeadField, &[&str])] = &[
    (LeadField::Email, &["email"]),
    (LeadField::Phone, &["phone", "mobilenumber"]),
    (LeadField::FirstName, &["firstname", "givenname"]),
    (LeadField::LastName, &["lastname", "surname", "familyname"]),
    (
        LeadField::Company,
        &["company", "organization", "organisation", "agency"],
    ),
    (LeadField::JobTitle, &["jobtitle"]),
];

/// The last segment of a flattened name: `contact.email` → `email`,
/// `fields[3].value` → `value`.
fn leaf(name: &str) -> &str {
    name.rsplit(['.', '[', ']'])
        .find(|s| !s.is_empty())
        .unwrap_or(name)
}

/// No alias is longer than this (checked by a test): a longer name is no alias.
const MAX_ALIAS_LEN: usize = 32;

/// [`ALIASES`] by alias; where two fields list the same alias, the first wins.
/// Unkeyed hashing is safe: senders only look names up, they never add any.
fn alias_table() -> &'static FxHashMap<&'static str, LeadField> {
    static TABLE: OnceLock<FxHashMap<&'static str, LeadField>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table = FxHashMap::default();
        for (field, aliases) in ALIASES {
            for alias in *aliases {
                table.entry(*alias).or_insert(*field);
            }
        }
        table
    })
}

/// Exact alias match on a name, after [`normalise_name`] (done here on the
/// stack: every submitted field goes through this, often more than once).
fn by_alias(name: &str) -> Option<LeadField> {
    with_alias_key(name, |key| {
        let table = alias_table();
        table
            .get(key)
            .or_else(|| {
                // Only a key with digits can carry a builder's numbering.
                key.bytes()
                    .any(|b| b.is_ascii_digit())
                    .then(|| without_numbering(key).and_then(|bare| table.get(bare)))
                    .flatten()
            })
            // Contact Form 7's `your-` on any field (`your-organisation`).
            .or_else(|| key.strip_prefix("your").and_then(|bare| table.get(bare)))
            .copied()
    })
    .flatten()
}

/// An alias key without a form builder's numbering: Jotform's `q4_email`
/// (`q4email` → `email`), Contact Form 7's `tel-942` (`tel942` → `tel`).
fn without_numbering(key: &str) -> Option<&str> {
    let unnumbered = |text: &str| text.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let mut bare = key;
    if let Some(rest) = bare.strip_prefix('q')
        && unnumbered(rest) < rest.len()
    {
        bare = rest.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    bare = bare.trim_end_matches(|c: char| c.is_ascii_digit());
    (bare.len() != key.len() && !bare.is_empty()).then_some(bare)
}

/// Path segments of a flattened name that hold someone other than the
/// person asking: a booking's host or organiser (Calendly's
/// `event_memberships`, Cal.com's `organizer`), the meeting itself, an
/// owner or admin a tool assigned. Their addresses and names are kept as
/// submitted but never taken for the lead's.
const SOMEONE_ELSE: &[&str] = &[
    "organizer",
    "organiser",
    "host",
    "hosts",
    "eventmemberships",
    "scheduledevent",
    "owner",
    "assignee",
    "admin",
    "admins",
    "teammate",
    "createdby",
];

/// Whether a flattened name (`payload.organizer.email`) sits under one of
/// [`SOMEONE_ELSE`].
pub fn about_someone_else(name: &str) -> bool {
    // Only a flattened JSON path (`payload.organizer.email`) has a parent
    // to be someone else's; form names (`fields[email][value]` is unwrapped
    // before) are flat.
    if memchr::memchr(b'.', name.as_bytes()).is_none() {
        return false;
    }
    let mut segments = name.split(['.', '[', ']']).filter(|s| !s.is_empty());
    // The leaf is the field itself (an `owner` field is a value, not a parent).
    segments.next_back();
    segments
        .any(|segment| with_alias_key(segment, |key| SOMEONE_ELSE.contains(&key)).unwrap_or(false))
}

/// `read` of a name as an alias key, normalised on the stack; `None` when
/// it is longer than any alias.
fn with_alias_key<T>(name: &str, read: impl FnOnce(&str) -> T) -> Option<T> {
    let mut key = [0u8; MAX_ALIAS_LEN];
    let mut len = 0;
    for byte in normalised_bytes(name) {
        *key.get_mut(len)? = byte;
        len += 1;
    }
    let key = std::str::from_utf8(&key[..len]).ok()?;
    Some(read(key))
}

/// Whether a name, normalised as alias keys are, is one of `keys` (one
/// normalisation on the stack, however many keys).
pub(super) fn is_one_of(name: &str, keys: &[&str]) -> bool {
    with_alias_key(name, |key| keys.contains(&key)).unwrap_or(false)
}

/// Whether a key names a contact field in its own right (`email`,
/// `phone`, `company`…): an object holding one is a contact, not an answer.
pub(super) fn names_contact_field(key: &str) -> bool {
    matches!(
        by_alias(key),
        Some(
            LeadField::Email
                | LeadField::Phone
                | LeadField::FirstName
                | LeadField::LastName
                | LeadField::Company
        )
    )
}

/// Whether a name is an email alias, and if so whether a plain one.
fn email_alias(name: &str) -> Option<bool> {
    with_alias_key(name, |key| {
        (alias_table().get(key) == Some(&LeadField::Email))
            .then(|| !QUALIFIED_EMAIL_ALIASES.contains(&key))
    })
    .flatten()
}

/// How plainly a field [`recognise`] took for the email names it, read as
/// recognition reads it (its name, its leaf, its labels); the source's
/// mapping is the caller's to know. Only asked when a form carries several.
pub fn email_naming(field: &SubmittedField) -> EmailNaming {
    let leaf = leaf(&field.name);
    let nested_leaf = (leaf.len() != field.name.len()).then_some(leaf);
    let found = email_alias(&field.name)
        .map(|plain| (plain, false))
        .or_else(|| nested_leaf.and_then(email_alias).map(|plain| (plain, true)))
        .or_else(|| {
            field
                .labels
                .iter()
                .find_map(|label| email_alias(label))
                .map(|plain| (plain, false))
        });
    match found {
        Some((true, false)) => EmailNaming::Plain,
        Some((true, true)) => EmailNaming::Nested,
        Some((false, _)) | None => EmailNaming::Qualified,
    }
}

/// What a submitted field is, by its own name, its labels, or its kind.
pub fn recognise(field: &SubmittedField) -> Option<LeadField> {
    if let Some(kind) = field.kind {
        return Some(match kind {
            FieldKind::Email => LeadField::Email,
            FieldKind::Phone => LeadField::Phone,
            FieldKind::Url => {
                return by_alias(&field.name)
                    .or_else(|| field.labels.iter().find_map(|l| by_alias(l)));
            }
        });
    }
    // What the form shows the person (its labels) says more than the key
    // a builder generated for it (`question_Zd9oQ1`, `text-318`).
    let leaf = leaf(&field.name);
    field
        .labels
        .iter()
        .find_map(|l| by_alias(l))
        .or_else(|| by_alias(&field.name))
        .or_else(|| {
            (leaf.len() != field.name.len())
                .then(|| by_alias(leaf))
                .flatten()
        })
}

/// The lead fields [`recognise_loosely`] can answer.
pub fn label_hint_fields() -> impl Iterator<Item = LeadField> {
    LABEL_HINTS.iter().map(|(field, _)| *field)
}

/// Question-style labels matched by containment, for fields [`recognise`] missed.
pub fn recognise_loosely(field: &SubmittedField) -> Option<LeadField> {
    std::iter::once(field.name.as_str())
        .chain(field.labels.iter().map(String::as_str))
        .find_map(|text| {
            let key = normalise_name(text);
            LABEL_HINTS
                .iter()
                .find(|(_, hints)| hints.iter().any(|h| key.contains(h)))
                .map(|(field, _)| *field)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(name: &str) -> SubmittedField {
        SubmittedField::new(name, "x")
    }

    #[test]
    fn vendor_field_names_are_recognised() {
        let cases = [
            ("email", LeadField::Email),
            ("Email Address", LeadField::Email),
            ("your-email", LeadField::Email),
            ("E-mail", LeadField::Email),
            ("first_name", LeadField::FirstName),
            ("firstname", LeadField::FirstName),
            ("last_name", LeadField::LastName),
            ("Name", LeadField::FullName),
            ("company", LeadField::Company),
            ("Organization Name", LeadField::Company),
            ("phone", LeadField::Phone),
            ("mobilephone", LeadField::Phone),
            ("tel", LeadField::Phone),
            ("title", LeadField::JobTitle),
            ("jobtitle", LeadField::JobTitle),
            ("description", LeadField::Message),
            ("your-message", LeadField::Message),
            ("utm_source", LeadField::UtmSource),
            ("UTM Campaign", LeadField::UtmCampaign),
            ("retURL", LeadField::RedirectUrl),
            ("_redirect", LeadField::RedirectUrl),
            ("source_url", LeadField::PageUrl),
            ("page_url", LeadField::PageUrl),
            ("0-1/email", LeadField::Email),
            ("contact.email", LeadField::Email),
            // Builders' numbering and Contact Form 7's `your-`.
            ("q4_email", LeadField::Email),
            ("q12_phoneNumber", LeadField::Phone),
            ("tel-942", LeadField::Phone),
            ("your-organisation", LeadField::Company),
            ("your-phone-2", LeadField::Phone),
        ];
        for (name, expected) in cases {
            assert_eq!(recognise(&named(name)), Some(expected), "{name}");
        }
        for unknown in [
            "00N5e00000abcde",
            "oid",
            "lead_source",
            "1.3",
            "URL",
            "website",
            "text-318",
            "menu-527",
            "q1",
            "address2",
            "yours",
        ] {
            assert_eq!(recognise(&named(unknown)), None, "{unknown}");
        }
    }

    #[test]
    fn kinds_and_labels_count() {
        let mut typed = named("abc123");
        typed.kind = Some(FieldKind::Email);
        assert_eq!(recognise(&typed), Some(LeadField::Email));
        let mut labelled = named("field_7");
        labelled.labels.push("Company".into());
        assert_eq!(recognise(&labelled), Some(LeadField::Company));
        let mut question = named("q1");
        question.labels.push("What's your work email?".into());
        assert_eq!(recognise(&question), None);
        assert_eq!(recognise_loosely(&question), Some(LeadField::Email));
    }

    #[test]
    fn every_alias_is_found_and_the_first_listing_wins() {
        for (field, aliases) in ALIASES {
            for alias in *aliases {
                assert!(alias.len() <= MAX_ALIAS_LEN, "{alias}");
                assert_eq!(
                    normalise_name(alias),
                    *alias,
                    "aliases are stored normalised"
                );
                let first = ALIASES
                    .iter()
                    .find(|(_, names)| names.contains(alias))
                    .map(|(f, _)| *f);
                assert_eq!(by_alias(alias), first, "{alias} ({field})");
            }
        }
        // Longer than any alias, and names that normalise to nothing.
        assert_eq!(by_alias(&"e".repeat(MAX_ALIAS_LEN + 1)), None);
        assert_eq!(by_alias("--"), None);
        assert_eq!(by_alias("É-mail"), by_alias("-mail"));
    }

    #[test]
    fn how_plainly_an_email_field_is_named() {
        for alias in QUALIFIED_EMAIL_ALIASES {
            assert_eq!(by_alias(alias), Some(LeadField::Email), "{alias}");
        }
        let typed = |name: &str, label: Option<&str>| {
            let mut field = named(name);
            field.kind = Some(FieldKind::Email);
            field.labels.extend(label.map(str::to_owned));
            field
        };
        let cases = [
            (named("email"), EmailNaming::Plain),
            (named("Email Address"), EmailNaming::Plain),
            (named("E-mail"), EmailNaming::Plain),
            (named("0-1/email"), EmailNaming::Plain),
            (named("contact.email"), EmailNaming::Plain),
            (named("contact_email"), EmailNaming::Plain),
            (named("manager.email"), EmailNaming::Nested),
            (named("data.email"), EmailNaming::Nested),
            (named("work_email"), EmailNaming::Qualified),
            (named("Business Email"), EmailNaming::Qualified),
            (named("data.work_email"), EmailNaming::Qualified),
            (typed("email", None), EmailNaming::Plain),
            (typed("field_7", Some("Email")), EmailNaming::Plain),
            (
                typed("field_7", Some("Manager's email")),
                EmailNaming::Qualified,
            ),
            (typed("abc123", None), EmailNaming::Qualified),
        ];
        for (field, expected) in cases {
            assert_eq!(email_naming(&field), expected, "{field:?}");
        }
        assert!(EmailNaming::Mapped < EmailNaming::Plain);
        assert!(EmailNaming::Nested < EmailNaming::Qualified);
    }

    #[test]
    fn all_lists_every_field_at_its_index() {
        for (index, field) in LeadField::ALL.into_iter().enumerate() {
            assert_eq!(field as usize, index, "{field}");
        }
    }

    #[test]
    fn lead_field_names_parse() {
        for field in LeadField::ALL {
            assert_eq!(field.name().parse::<LeadField>(), Ok(field));
        }
        assert!("nope".parse::<LeadField>().is_err());
    }
}
