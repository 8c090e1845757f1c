//! Component identifiers (RFC 9421 §2): a derived component (`"@method"`) or a header field
//! (`"content-type"`), with parameters (`;sf`, `;key="m"`, `;bs`, `;req`, `;tr`, `;name="q"`).
//!
//! An identifier keeps its parameters in the order received and serializes back to exactly that.

use std::fmt;

use sfv::{BareItem, FieldType, Item, Key, Parameters};

/// A derived component of RFC 9421 §2.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DerivedComponent {
    /// `@method`
    Method,
    /// `@target-uri`
    TargetUri,
    /// `@authority`
    Authority,
    /// `@scheme`
    Scheme,
    /// `@request-target`
    RequestTarget,
    /// `@path`
    Path,
    /// `@query`
    Query,
    /// `@query-param` (with `;name`)
    QueryParam,
    /// `@status` (responses only)
    Status,
}

impl DerivedComponent {
    const ALL: [DerivedComponent; 9] = [
        DerivedComponent::Method,
        DerivedComponent::TargetUri,
        DerivedComponent::Authority,
        DerivedComponent::Scheme,
        DerivedComponent::RequestTarget,
        DerivedComponent::Path,
        DerivedComponent::Query,
        DerivedComponent::QueryParam,
        DerivedComponent::Status,
    ];

    /// The component name, with its `@`.
    pub fn name(self) -> &'static str {
        match self {
            DerivedComponent::Method => "@method",
            DerivedComponent::TargetUri => "@target-uri",
            DerivedComponent::Authority => "@authority",
            DerivedComponent::Scheme => "@scheme",
            DerivedComponent::RequestTarget => "@request-target",
            DerivedComponent::Path => "@path",
            DerivedComponent::Query => "@query",
            DerivedComponent::QueryParam => "@query-param",
            DerivedComponent::Status => "@status",
        }
    }

    /// Looks a name up (with its `@`).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.name() == name)
    }
}

/// What a component identifier names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ComponentName {
    /// A derived component.
    Derived(DerivedComponent),
    /// A header (or trailer) field, lowercase.
    Field(String),
}

/// One covered component: a name and its parameters.
#[derive(Clone)]
pub struct ComponentIdentifier {
    name: ComponentName,
    params: Parameters,
    serialized: String,
    flags: Flags,
}

#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct Flags {
    pub(crate) sf: bool,
    pub(crate) bs: bool,
    pub(crate) req: bool,
    pub(crate) tr: bool,
    pub(crate) key: Option<String>,
    pub(crate) name: Option<String>,
}

impl PartialEq for ComponentIdentifier {
    /// Two identifiers are the same when their names are and their parameters are, in any order
    /// (RFC 9421 §2).
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.params == other.params
    }
}

impl Eq for ComponentIdentifier {}

impl fmt::Debug for ComponentIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.serialized)
    }
}

impl fmt::Display for ComponentIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.serialized)
    }
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn key(name: &str) -> Key {
    // Every name passed here is one of this module's lowercase ASCII literals.
    #[allow(clippy::expect_used)]
    Key::from_string(name.to_owned()).expect("parameter names in this module are valid keys")
}

fn sf_string(value: &str) -> Result<sfv::String, String> {
    sfv::String::from_string(value.to_owned())
        .map_err(|_| format!("{value:?} is not a valid structured-field string"))
}

impl ComponentIdentifier {
    /// A derived component without parameters.
    pub fn derived(component: DerivedComponent) -> Self {
        Self::assemble(
            ComponentName::Derived(component),
            Parameters::new(),
            Flags::default(),
        )
    }

    /// A header field (the name is lowercased). Fails on a name that is not an HTTP token.
    pub fn field(name: &str) -> Result<Self, String> {
        let lower = name.to_ascii_lowercase();
        if lower.is_empty() || !lower.bytes().all(is_tchar) {
            return Err(format!("{name:?} is not a field name"));
        }
        Ok(Self::assemble(
            ComponentName::Field(lower),
            Parameters::new(),
            Flags::default(),
        ))
    }

    /// `"@query-param";name="…"`: `name` is given decoded and is encoded as RFC 9421 §2.2.8 says.
    pub fn query_param(name: &str) -> Self {
        let encoded = crate::derived::form_encode(name.as_bytes());
        let mut id = Self::derived(DerivedComponent::QueryParam);
        // form_encode yields only unreserved ASCII and `%XX`: always a valid sf-string.
        if let Ok(s) = sf_string(&encoded) {
            id.params.insert(key("name"), BareItem::String(s));
        }
        id.flags.name = Some(encoded);
        id.reserialize();
        id
    }

    /// Adds `;req`: take the value from the request this response answers.
    pub fn with_req(self) -> Self {
        self.with_flag("req")
    }

    /// Adds `;sf`: strict structured-field serialization (the field type must be known).
    pub fn with_sf(self) -> Self {
        self.with_flag("sf")
    }

    /// Adds `;bs`: wrap each field value as a byte sequence.
    pub fn with_bs(self) -> Self {
        self.with_flag("bs")
    }

    /// Adds `;tr`: take the value from the trailers.
    pub fn with_tr(self) -> Self {
        self.with_flag("tr")
    }

    /// Adds `;key="member"`: one member of a dictionary field.
    pub fn with_key(mut self, member: &str) -> Result<Self, String> {
        if matches!(self.name, ComponentName::Derived(_)) {
            return Err("`key` applies to fields only".into());
        }
        if sfv::KeyRef::from_str(member).is_err() {
            return Err(format!("{member:?} is not a dictionary key"));
        }
        self.params
            .insert(key("key"), BareItem::String(sf_string(member)?));
        self.flags.key = Some(member.to_owned());
        self.reserialize();
        Ok(self)
    }

    fn with_flag(mut self, name: &'static str) -> Self {
        self.params.insert(key(name), BareItem::Boolean(true));
        match name {
            "req" => self.flags.req = true,
            "sf" => self.flags.sf = true,
            "bs" => self.flags.bs = true,
            _ => self.flags.tr = true,
        }
        self.reserialize();
        self
    }

    fn assemble(name: ComponentName, params: Parameters, flags: Flags) -> Self {
        let mut id = ComponentIdentifier {
            name,
            params,
            serialized: String::new(),
            flags,
        };
        id.reserialize();
        id
    }

    fn reserialize(&mut self) {
        let name = match &self.name {
            ComponentName::Derived(d) => d.name(),
            ComponentName::Field(f) => f.as_str(),
        };
        // Names are validated tokens or derived names: valid sf-strings.
        let bare = match sf_string(name) {
            Ok(s) => BareItem::String(s),
            Err(_) => return,
        };
        self.serialized = Item::with_params(bare, self.params.clone()).serialize();
    }

    /// Reads a component identifier from a parsed structured-field item, checking its name and
    /// parameters (RFC 9421 §2: unknown parameters and incompatible ones are errors).
    pub fn from_item(item: &Item) -> Result<Self, String> {
        let (name, flags) = Self::check(item)?;
        Ok(ComponentIdentifier {
            name,
            params: item.params.clone(),
            serialized: item.serialize(),
            flags,
        })
    }

    /// As [`ComponentIdentifier::from_item`], taking the item by value (no copies).
    pub fn from_owned_item(item: Item) -> Result<Self, String> {
        let (name, flags) = Self::check(&item)?;
        let serialized = item.serialize();
        Ok(ComponentIdentifier {
            name,
            params: item.params,
            serialized,
            flags,
        })
    }

    fn check(item: &Item) -> Result<(ComponentName, Flags), String> {
        let BareItem::String(name) = &item.bare_item else {
            return Err("not a string".into());
        };
        Self::check_parts(name.as_str(), &item.params)
    }

    /// A component identifier from its name and parameters (as a parser visits them).
    pub(crate) fn from_parts(name: &sfv::StringRef, params: Parameters) -> Result<Self, String> {
        let (component, flags) = Self::check_parts(name.as_str(), &params)?;
        let mut serialized = String::with_capacity(name.as_str().len() + 8);
        let _ = sfv::ItemSerializer::with_buffer(&mut serialized)
            .bare_item(name)
            .parameters(&params);
        Ok(ComponentIdentifier {
            name: component,
            params,
            serialized,
            flags,
        })
    }

    fn check_parts(name: &str, item_params: &Parameters) -> Result<(ComponentName, Flags), String> {
        let component = if name.starts_with('@') {
            ComponentName::Derived(
                DerivedComponent::from_name(name)
                    .ok_or_else(|| format!("unknown derived component {name:?}"))?,
            )
        } else {
            if name.is_empty() || !name.bytes().all(|b| is_tchar(b) && !b.is_ascii_uppercase()) {
                return Err(format!("{name:?} is not a lowercase field name"));
            }
            ComponentName::Field(name.to_owned())
        };
        let mut flags = Flags::default();
        for (k, v) in item_params {
            let flag = |v: &BareItem| match v {
                BareItem::Boolean(true) => Ok(true),
                _ => Err(format!("parameter `{}` must be a true boolean", k.as_str())),
            };
            let string = |v: &BareItem| match v {
                BareItem::String(s) => Ok(s.as_str().to_owned()),
                _ => Err(format!("parameter `{}` must be a string", k.as_str())),
            };
            match k.as_str() {
                "sf" => flags.sf = flag(v)?,
                "bs" => flags.bs = flag(v)?,
                "req" => flags.req = flag(v)?,
                "tr" => flags.tr = flag(v)?,
                "key" => flags.key = Some(string(v)?),
                "name" => flags.name = Some(string(v)?),
                other => return Err(format!("unknown parameter `{other}`")),
            }
        }
        match &component {
            ComponentName::Derived(d) => {
                if flags.sf || flags.bs || flags.tr || flags.key.is_some() {
                    return Err(format!("{} takes no field parameters", d.name()));
                }
                match (d, &flags.name) {
                    (DerivedComponent::QueryParam, None) => {
                        return Err("@query-param needs a `name` parameter".into());
                    }
                    (DerivedComponent::QueryParam, Some(_)) => {}
                    (_, Some(_)) => return Err(format!("{} takes no `name`", d.name())),
                    _ => {}
                }
                if *d == DerivedComponent::Status && flags.req {
                    return Err("@status cannot come from the request".into());
                }
            }
            ComponentName::Field(_) => {
                if flags.name.is_some() {
                    return Err("`name` applies to @query-param only".into());
                }
                if flags.bs && (flags.sf || flags.key.is_some()) {
                    return Err("`bs` cannot be combined with `sf` or `key`".into());
                }
            }
        }
        Ok((component, flags))
    }

    /// The component name.
    pub fn name(&self) -> &ComponentName {
        &self.name
    }

    /// The derived component, if this is one.
    pub fn derived_component(&self) -> Option<DerivedComponent> {
        match self.name {
            ComponentName::Derived(d) => Some(d),
            ComponentName::Field(_) => None,
        }
    }

    /// The field name, if this names a field.
    pub fn field_name(&self) -> Option<&str> {
        match &self.name {
            ComponentName::Field(f) => Some(f),
            ComponentName::Derived(_) => None,
        }
    }

    /// The `;key` member, if any.
    pub fn key(&self) -> Option<&str> {
        self.flags.key.as_deref()
    }

    /// Whether `;req` is set.
    pub fn is_req(&self) -> bool {
        self.flags.req
    }

    /// The parameters, in the order received.
    pub fn params(&self) -> &Parameters {
        &self.params
    }

    /// The identifier serialized as a structured-field item (`"name";param…`).
    pub fn as_str(&self) -> &str {
        &self.serialized
    }

    pub(crate) fn flags(&self) -> &Flags {
        &self.flags
    }

    pub(crate) fn to_item(&self) -> Item {
        let name = match &self.name {
            ComponentName::Derived(d) => d.name(),
            ComponentName::Field(f) => f.as_str(),
        };
        let bare = sf_string(name)
            .map(BareItem::String)
            .unwrap_or(BareItem::Boolean(false));
        Item::with_params(bare, self.params.clone())
    }
}

impl From<DerivedComponent> for ComponentIdentifier {
    fn from(d: DerivedComponent) -> Self {
        ComponentIdentifier::derived(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sfv::Parser;

    fn parse(s: &str) -> Result<ComponentIdentifier, String> {
        let item: Item = Parser::new(s).parse().map_err(|e| e.to_string())?;
        ComponentIdentifier::from_item(&item)
    }

    #[test]
    fn keeps_parameter_order() {
        let id = parse(r#""example-dict";key="a";req"#).unwrap();
        assert_eq!(id.as_str(), r#""example-dict";key="a";req"#);
        let id = parse(r#""example-dict";req;key="a""#).unwrap();
        assert_eq!(id.as_str(), r#""example-dict";req;key="a""#);
    }

    #[test]
    fn equality_ignores_parameter_order() {
        assert_eq!(
            parse(r#""foo";sf;req"#).unwrap(),
            parse(r#""foo";req;sf"#).unwrap()
        );
        assert_ne!(parse(r#""foo";sf"#).unwrap(), parse(r#""foo""#).unwrap());
    }

    #[test]
    fn rejects_bad_identifiers() {
        for bad in [
            r#""@unknown""#,
            r#""Content-Type""#,
            r#""""#,
            r#""@method";sf"#,
            r#""@query-param""#,
            r#""@path";name="x""#,
            r#""foo";bs;sf"#,
            r#""foo";bs;key="a""#,
            r#""foo";bar"#,
            r#""foo";sf=?0"#,
            r#""foo";key=1"#,
            r#""@status";req"#,
            r#"foo"#,
        ] {
            assert!(parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn builders_serialize() {
        assert_eq!(
            ComponentIdentifier::field("Signature-Agent")
                .unwrap()
                .with_key("agent2")
                .unwrap()
                .as_str(),
            r#""signature-agent";key="agent2""#
        );
        assert_eq!(
            ComponentIdentifier::derived(DerivedComponent::Authority)
                .with_req()
                .as_str(),
            r#""@authority";req"#
        );
        assert_eq!(
            ComponentIdentifier::query_param("façade\": ").as_str(),
            r#""@query-param";name="fa%C3%A7ade%22%3A%20""#
        );
        assert!(ComponentIdentifier::field("bad name").is_err());
    }
}
