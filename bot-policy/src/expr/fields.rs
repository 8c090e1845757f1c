//! The fields a rule can read, with their names and types.

/// A field of the Rules language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Field {
    Method,
    Host,
    Path,
    Query,
    Uri,
    FullUri,
    UserAgent,
    Referer,
    Cookie,
    XForwardedFor,
    Version,
    Ssl,
    IpSrc,
    Country,
    Asn,
    Score,
    VerifiedBot,
    VerifiedBotCategory,
    ClientBot,
    StaticResource,
    BotName,
    BotOperator,
    BotCategory,
    BotClaimed,
    BotVerified,
    BotSigned,
    BotSpoofed,
    BotSignatureAgent,
    Headers,
    HeaderNames,
    HeaderValues,
}

/// The type of a field's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldType {
    Bool,
    Int,
    Bytes,
    Ip,
    /// `Array<String>`
    Array,
    /// `Map<Array<String>>`
    Map,
}

/// Every field: its names (the first is canonical) and type.
const FIELDS: &[(Field, &[&str], FieldType)] = &[
    (Field::Method, &["http.request.method"], FieldType::Bytes),
    (Field::Host, &["http.host"], FieldType::Bytes),
    (Field::Path, &["http.request.uri.path"], FieldType::Bytes),
    (Field::Query, &["http.request.uri.query"], FieldType::Bytes),
    (Field::Uri, &["http.request.uri"], FieldType::Bytes),
    (Field::FullUri, &["http.request.full_uri"], FieldType::Bytes),
    (Field::UserAgent, &["http.user_agent"], FieldType::Bytes),
    (Field::Referer, &["http.referer"], FieldType::Bytes),
    (Field::Cookie, &["http.cookie"], FieldType::Bytes),
    (
        Field::XForwardedFor,
        &["http.x_forwarded_for"],
        FieldType::Bytes,
    ),
    (Field::Version, &["http.request.version"], FieldType::Bytes),
    (Field::Ssl, &["ssl"], FieldType::Bool),
    (Field::IpSrc, &["ip.src"], FieldType::Ip),
    (
        Field::Country,
        &["ip.src.country", "ip.geoip.country"],
        FieldType::Bytes,
    ),
    (
        Field::Asn,
        &["ip.src.asnum", "ip.geoip.asnum"],
        FieldType::Int,
    ),
    (Field::Score, &["cf.bot_management.score"], FieldType::Int),
    (
        Field::VerifiedBot,
        &["cf.bot_management.verified_bot"],
        FieldType::Bool,
    ),
    (
        Field::VerifiedBotCategory,
        &["cf.verified_bot_category"],
        FieldType::Bytes,
    ),
    (Field::ClientBot, &["cf.client.bot"], FieldType::Bool),
    (
        Field::StaticResource,
        &["cf.bot_management.static_resource"],
        FieldType::Bool,
    ),
    (Field::BotName, &["bot.name"], FieldType::Bytes),
    (Field::BotOperator, &["bot.operator"], FieldType::Bytes),
    (Field::BotCategory, &["bot.category"], FieldType::Bytes),
    (Field::BotClaimed, &["bot.claimed"], FieldType::Bool),
    (Field::BotVerified, &["bot.verified"], FieldType::Bool),
    (Field::BotSigned, &["bot.signed"], FieldType::Bool),
    (Field::BotSpoofed, &["bot.spoofed"], FieldType::Bool),
    (
        Field::BotSignatureAgent,
        &["bot.signature_agent"],
        FieldType::Bytes,
    ),
    (Field::Headers, &["http.request.headers"], FieldType::Map),
    (
        Field::HeaderNames,
        &["http.request.headers.names"],
        FieldType::Array,
    ),
    (
        Field::HeaderValues,
        &["http.request.headers.values"],
        FieldType::Array,
    ),
];

impl Field {
    /// The field with this name.
    pub(crate) fn from_name(name: &str) -> Option<Field> {
        FIELDS
            .iter()
            .find(|(_, names, _)| names.contains(&name))
            .map(|(field, _, _)| *field)
    }

    /// The canonical name.
    pub(crate) fn name(self) -> &'static str {
        FIELDS
            .iter()
            .find(|(field, _, _)| *field == self)
            .and_then(|(_, names, _)| names.first().copied())
            .unwrap_or("?")
    }

    pub(crate) fn ty(self) -> FieldType {
        FIELDS
            .iter()
            .find(|(field, _, _)| *field == self)
            .map_or(FieldType::Bytes, |(_, _, ty)| *ty)
    }

    /// Every field name, for suggestions.
    pub(crate) fn all_names() -> impl Iterator<Item = &'static str> {
        FIELDS
            .iter()
            .flat_map(|(_, names, _)| names.iter().copied())
    }

    /// Fields whose value comes from the `User-Agent` alone (spoofable by anyone).
    pub(crate) fn is_user_agent_derived(self) -> bool {
        matches!(
            self,
            Field::UserAgent
                | Field::BotName
                | Field::BotOperator
                | Field::BotCategory
                | Field::BotClaimed
        )
    }

    /// Fields that carry a verification result (a signature, an address in published ranges).
    pub(crate) fn is_verification(self) -> bool {
        matches!(
            self,
            Field::VerifiedBot
                | Field::ClientBot
                | Field::VerifiedBotCategory
                | Field::BotVerified
                | Field::BotSigned
                | Field::BotSignatureAgent
                | Field::IpSrc
                | Field::Asn
        )
    }
}

/// Every field.
pub(crate) fn all_fields() -> impl Iterator<Item = Field> {
    FIELDS.iter().map(|(field, _, _)| *field)
}

/// The closest known field name to `name`, if one is close enough to suggest.
pub(crate) fn suggest(
    name: &str,
    candidates: impl Iterator<Item = &'static str>,
) -> Option<&'static str> {
    candidates
        .map(|candidate| (edit_distance(name, candidate), candidate))
        .filter(|(distance, candidate)| *distance <= candidate.len() / 4 + 1)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for name in Field::all_names() {
            let field = Field::from_name(name);
            assert!(field.is_some(), "{name}");
        }
        assert_eq!(Field::from_name("ip.geoip.asnum"), Some(Field::Asn));
        assert_eq!(Field::Asn.name(), "ip.src.asnum");
        assert_eq!(
            suggest("http.user_agnet", Field::all_names()),
            Some("http.user_agent")
        );
        assert_eq!(suggest("completely.different", Field::all_names()), None);
    }
}
