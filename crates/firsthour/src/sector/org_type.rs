//! Reads an organisation-type answer ("Federal Government", "State
//! (non-federal)", "Government contractor", "K-12"…) as sector evidence.
//!
//! One pass over the words, no allocation: each word is looked up (ASCII,
//! case-insensitive) and sets a signal; a few two- and three-word phrases are
//! read from the previous words; negations ("non-", "not", "other than…")
//! cancel what they apply to. The signals are then weighed in a fixed order,
//! which is what makes "Federal contractor" commercial and "Non-Federal
//! Agency" (the .gov registry's own wording) state/local.

use super::Sector;

/// What one word of an answer can say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Word {
    /// Not a word this matcher knows.
    Unknown,
    /// `a`, `an`, `the`, `of`, `for`: a negation passes over them.
    Filler,
    /// `non`, `not`, `no`, `ex`, `former`: negates the next word.
    Negator,
    /// `except`, `excluding`, or `than` after `other`: negates to the end of
    /// the group (a closing bracket, comma, semicolon or `|`).
    NegateGroup,
    Other,
    Than,
    Federal,
    /// `nonfederal`, written as one word.
    NonFederal,
    /// A military service or the defence department by itself.
    Military,
    /// `usg`.
    UsGovernment,
    /// `u`: with a following `s`, "U.S.".
    U,
    S,
    United,
    States,
    Air,
    Space,
    Armed,
    Force,
    Marine,
    Corps,
    Coast,
    National,
    Guard,
    Department,
    Defense,
    Intelligence,
    Community,
    Government,
    /// `public`: government in "public sector", not in "public company".
    Public,
    Agency,
    /// `nongovernmental`, `ngo`.
    NonGovernmental,
    /// State, county, city, tribal…: a level of government by name.
    StateLocal,
    /// District, authority, territory, interstate, regional: state/local
    /// bodies, but not a level that contradicts "federal".
    LocalBody,
    Education,
    Higher,
    Ed,
    /// `k`, `pk`, `prek`: with a following `12`, "K-12".
    K,
    Twelve,
    /// Contractors, integrators, resellers, vendors, consultants: companies
    /// that work for a government, not the government.
    Contractor,
    /// Federal grantees and recipients: not the federal government either,
    /// but no telling what they are.
    Grantee,
    /// An incorporated business of any kind.
    Company,
    /// `owned` ("veteran-owned", "state-owned"): a business.
    Owned,
    Credit,
    Union,
    SelfPrefix,
    Employed,
    Profit,
    Nonprofit,
    /// Private sector words that say "not government" but little else.
    Commercial,
    /// Foreign or international.
    Foreign,
    /// An embassy or a consulate: a foreign government.
    Embassy,
    /// Makes an "agency" a business: marketing, advertising, staffing…
    BusinessKind,
}

/// The longest keyword below; longer words are [`Word::Unknown`].
const MAX_WORD: usize = 20;

fn word(text: &str) -> Word {
    let mut buf = [0u8; MAX_WORD];
    let Some(lower) = buf.get_mut(..text.len()) else {
        return Word::Unknown;
    };
    for (to, from) in lower.iter_mut().zip(text.bytes()) {
        *to = from.to_ascii_lowercase();
    }
    match &*lower {
        b"a" | b"an" | b"the" | b"of" | b"for" => Word::Filler,
        b"non" | b"not" | b"no" | b"ex" | b"former" | b"formerly" | b"retired" => Word::Negator,
        b"except" | b"excluding" | b"excl" => Word::NegateGroup,
        b"other" => Word::Other,
        b"than" => Word::Than,
        b"federal" | b"fed" => Word::Federal,
        b"nonfederal" => Word::NonFederal,
        b"military" | b"army" | b"navy" | b"dod" | b"usmc" | b"usaf" | b"uscg" | b"ussf"
        | b"marines" | b"pentagon" => Word::Military,
        b"usg" => Word::UsGovernment,
        b"u" => Word::U,
        b"s" => Word::S,
        b"us" | b"usa" => Word::States,
        b"united" => Word::United,
        b"states" => Word::States,
        b"air" => Word::Air,
        b"space" => Word::Space,
        b"armed" => Word::Armed,
        b"force" | b"forces" => Word::Force,
        b"marine" => Word::Marine,
        b"corps" => Word::Corps,
        b"coast" => Word::Coast,
        b"national" => Word::National,
        b"guard" => Word::Guard,
        b"department" | b"dept" => Word::Department,
        b"defense" | b"defence" => Word::Defense,
        b"intelligence" => Word::Intelligence,
        b"community" => Word::Community,
        b"government" | b"governments" | b"governmental" | b"gov" | b"govt"
        | b"intergovernmental" | b"ministry" => Word::Government,
        b"public" => Word::Public,
        b"agency" | b"agencies" => Word::Agency,
        b"nongovernmental" | b"nongovernment" | b"ngo" | b"ngos" => Word::NonGovernmental,
        b"state" | b"local" | b"county" | b"counties" | b"city" | b"cities" | b"municipal"
        | b"municipality" | b"municipalities" | b"town" | b"township" | b"village" | b"borough"
        | b"parish" | b"tribal" | b"tribally" | b"tribe" | b"tribes" | b"slg" | b"sltt"
        | b"sled" => Word::StateLocal,
        b"district" | b"authority" | b"territory" | b"territories" | b"territorial"
        | b"interstate" | b"regional" => Word::LocalBody,
        b"education" | b"educational" | b"edu" | b"university" | b"universities" | b"college"
        | b"colleges" | b"school" | b"schools" | b"k12" | b"academic" | b"academia"
        | b"highered" => Word::Education,
        b"higher" => Word::Higher,
        b"ed" => Word::Ed,
        b"k" | b"pk" | b"prek" => Word::K,
        b"12" => Word::Twelve,
        b"contractor" | b"contractors" | b"subcontractor" | b"subcontractors" | b"integrator"
        | b"integrators" | b"reseller" | b"resellers" | b"vendor" | b"vendors" | b"supplier"
        | b"suppliers" | b"consultant" | b"consultants" | b"consultancy" | b"consulting"
        | b"govcon" => Word::Contractor,
        b"grantee" | b"grantees" | b"recipient" | b"recipients" | b"awardee" | b"awardees" => {
            Word::Grantee
        }
        b"company" | b"companies" | b"corporation" | b"corp" | b"business" | b"businesses"
        | b"firm" | b"startup" | b"llc" | b"inc" | b"plc" | b"ltd" | b"gmbh" | b"publicly"
        | b"bank" | b"proprietor" | b"proprietorship" | b"freelance" | b"freelancer"
        | b"selfemployed" => Word::Company,
        b"owned" => Word::Owned,
        b"credit" => Word::Credit,
        b"union" => Word::Union,
        b"self" => Word::SelfPrefix,
        b"employed" => Word::Employed,
        b"profit" => Word::Profit,
        b"nonprofit" | b"nonprofits" | b"npo" | b"charity" | b"charitable" | b"foundation"
        | b"501c3" => Word::Nonprofit,
        b"commercial" | b"private" | b"enterprise" | b"corporate" | b"smb" | b"sme"
        | b"individual" | b"consumer" | b"industry" => Word::Commercial,
        b"foreign" | b"international" | b"overseas" | b"nonus" => Word::Foreign,
        b"embassy" | b"consulate" => Word::Embassy,
        b"marketing" | b"advertising" | b"digital" | b"creative" | b"media" | b"staffing"
        | b"recruiting" | b"recruitment" | b"insurance" | b"travel" | b"talent" | b"design"
        | b"branding" | b"seo" | b"relations" | b"estate" | b"employment" => Word::BusinessKind,
        _ => Word::Unknown,
    }
}

/// What the words of an answer said, taken together.
#[derive(Debug, Default, Clone, Copy)]
struct Signals {
    federal: bool,
    federal_negated: bool,
    state_local: bool,
    local_body: bool,
    education: bool,
    /// Government by name: government, agency, ministry, embassy.
    government: bool,
    /// "Public": government in "public sector", a charity in "public charity".
    public: bool,
    non_governmental: bool,
    nonprofit: bool,
    foreign: bool,
    contractor: bool,
    grantee: bool,
    company: bool,
    business_kind: bool,
    commercial: bool,
}

/// Where a negation reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Negation {
    None,
    NextWord,
    /// To the end of the group: "(Other than Institution of Higher Education)".
    Group,
}

impl Signals {
    fn read(value: &str) -> Self {
        let mut signals = Signals::default();
        let mut negation = Negation::None;
        // The two previous words, and whether the last one was negated.
        let (mut prev2, mut prev, mut prev_negated) = (Word::Unknown, Word::Unknown, false);
        let mut start = None;
        // A trailing separator flushes the last word.
        for (at, c) in value
            .char_indices()
            .chain(std::iter::once((value.len(), ' ')))
        {
            if c.is_alphanumeric() {
                start.get_or_insert(at);
                continue;
            }
            if let Some(from) = start.take() {
                let current = word(value.get(from..at).unwrap_or_default());
                let negated = negation != Negation::None;
                match current {
                    Word::Negator => negation = negation.max_with(Negation::NextWord),
                    Word::NegateGroup => negation = Negation::Group,
                    Word::Than if prev == Word::Other => negation = Negation::Group,
                    // A negation passes over these (and over the "u" of "non-U.S.").
                    Word::Filler | Word::U | Word::Other => {}
                    _ => {
                        signals.take(prev2, prev, prev_negated, current, negated);
                        if negation == Negation::NextWord {
                            negation = Negation::None;
                        }
                    }
                }
                prev_negated = negated;
                prev2 = prev;
                prev = current;
            }
            if matches!(c, ')' | ']' | '}' | ',' | ';' | '|') {
                negation = Negation::None;
            }
        }
        signals
    }

    /// Records one word, read with the two before it.
    fn take(&mut self, prev2: Word, prev: Word, prev_negated: bool, current: Word, negated: bool) {
        use Word::*;
        match (prev2, prev, current) {
            (_, Air | Space | Armed, Force)
            | (_, Marine, Corps)
            | (_, Coast | National, Guard)
            | (Department, _, Defense)
            | (_, Defense, Department)
            | (_, Intelligence, Community) => self.federal |= !negated,
            // "Non-U.S.", "non-United States": the negation reached the first word.
            (_, U, S) | (_, United, States) if negated || prev_negated => self.foreign = true,
            (_, _, States) if negated => self.foreign = true,
            (_, S | States, Government | Federal) if !prev_negated => self.federal |= !negated,
            (_, _, UsGovernment | Military) => self.federal |= !negated,
            (_, Higher, Ed) | (_, K, Twelve) => self.education |= !negated,
            (_, Credit, Union) | (_, SelfPrefix, Employed) => self.company = true,
            _ => {}
        }
        match current {
            Federal if negated => self.federal_negated = true,
            Federal => self.federal = true,
            NonFederal => self.federal_negated = true,
            Government if negated => self.non_governmental = true,
            Government | Agency | Embassy if !negated => self.government = true,
            Public if !negated => self.public = true,
            NonGovernmental => self.non_governmental = true,
            StateLocal if !negated => self.state_local = true,
            LocalBody if !negated => self.local_body = true,
            Education if !negated => self.education = true,
            Contractor if !negated => self.contractor = true,
            Grantee if !negated => self.grantee = true,
            Company | Owned if !negated => self.company = true,
            Profit if negated => self.nonprofit = true,
            Profit => self.commercial = true,
            Nonprofit if !negated => self.nonprofit = true,
            Commercial if !negated => self.commercial = true,
            BusinessKind if !negated => self.business_kind = true,
            _ => {}
        }
        if matches!(current, Foreign | Embassy) && !negated {
            self.foreign = true;
        }
    }

    /// The signals weighed, strongest first.
    fn sector(self) -> Option<Sector> {
        let government = self.government || self.public || self.federal || self.state_local;
        if self.contractor {
            // A federal contractor is a company working for the government.
            Some(Sector::Commercial)
        } else if self.company {
            // "Public company", "Local business", "Federal credit union".
            Some(Sector::Commercial)
        } else if self.foreign && government {
            // Foreign governments and militaries: government, but not ours to place.
            Some(Sector::GovernmentUnverified)
        } else if self.grantee {
            // A federal grantee is by definition not federal; what else it is
            // the other words may say.
            Self {
                federal: false,
                grantee: false,
                ..self
            }
            .sector()
        } else if self.federal && (self.state_local || self.federal_negated) {
            // A combined option ("Federal, State & Local Government"), or
            // an answer that says federal and not federal ("Non-federal
            // fed"): a government, level unknown; never federal on the
            // word that was denied.
            Some(Sector::GovernmentUnverified)
        } else if self.federal {
            Some(Sector::Federal)
        } else if self.education {
            // Before state/local: "State University", "County school district".
            Some(Sector::Education)
        } else if self.state_local
            || self.local_body
            || (self.federal_negated && (self.government || self.public))
        {
            // "Non-Federal Agency": what the .gov registry calls every
            // state, local, tribal and territorial body.
            Some(Sector::StateLocal)
        } else if self.business_kind {
            // A "marketing agency" is a business.
            Some(Sector::Commercial)
        } else if self.government {
            // Before non-profits: "Government / Non-profit" is a public-sector option.
            Some(Sector::GovernmentUnverified)
        } else if self.nonprofit || self.non_governmental {
            // Non-profits and NGOs are commercial in this vocabulary.
            Some(Sector::Commercial)
        } else if self.public {
            Some(Sector::GovernmentUnverified)
        } else if self.commercial {
            Some(Sector::Commercial)
        } else {
            None
        }
    }
}

impl Negation {
    /// A word negation does not shorten a group negation already running.
    fn max_with(self, other: Negation) -> Negation {
        if self == Negation::Group { self } else { other }
    }
}

/// Reads an organisation-type answer ("Federal Government", "State/Local",
/// "Higher Education", "Private sector", "Non-federal"…); `None` when it
/// says nothing about the sector. Linear in the answer, no allocation, and
/// any string is an answer.
pub fn classify_org_type(value: &str) -> Option<Sector> {
    Signals::read(value).sector()
}
