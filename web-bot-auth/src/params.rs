//! Signature parameters (RFC 9421 §2.3): the covered components and the metadata of one
//! signature, kept exactly as received so that `@signature-params` is reproduced byte for byte.

use std::fmt;
use std::sync::OnceLock;

use sfv::{BareItem, Integer, ItemSerializer, Key, ListEntry, Parameters};

use crate::alg::Algorithm;
use crate::component::{ComponentIdentifier, DerivedComponent};
use crate::error::ParamsError;

/// Most covered components one signature may list.
pub const MAX_COMPONENTS: usize = 64;

/// The covered components and parameters of one signature.
#[derive(Clone)]
pub struct SignatureParams {
    pub(crate) components: Vec<ComponentIdentifier>,
    /// The `@signature-params` value: everything else follows from it.
    pub(crate) value: String,
    pub(crate) created: Option<u64>,
    pub(crate) expires: Option<u64>,
    pub(crate) keyid: Option<String>,
    pub(crate) alg: Option<String>,
    pub(crate) nonce: Option<String>,
    pub(crate) tag: Option<String>,
    /// All parameters as a map, built when first asked for.
    pub(crate) params: OnceLock<Parameters>,
}

impl PartialEq for SignatureParams {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value && self.components == other.components
    }
}

impl fmt::Debug for SignatureParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.value)
    }
}

impl fmt::Display for SignatureParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.value)
    }
}

fn bad(name: &str, reason: &'static str) -> ParamsError {
    ParamsError::BadParameter {
        name: name.to_owned(),
        reason,
    }
}

impl SignatureParams {
    /// Reads one `Signature-Input` member.
    pub fn from_entry(entry: &ListEntry) -> Result<Self, ParamsError> {
        Self::from_owned_entry(entry.clone())
    }

    /// As [`SignatureParams::from_entry`], taking the member by value (no copies).
    pub fn from_owned_entry(entry: ListEntry) -> Result<Self, ParamsError> {
        let ListEntry::InnerList(list) = entry else {
            return Err(ParamsError::NotInnerList);
        };
        if list.items.len() > MAX_COMPONENTS {
            return Err(bad("components", "too many covered components"));
        }
        let mut components = Vec::with_capacity(list.items.len());
        for (index, item) in list.items.into_iter().enumerate() {
            if !matches!(item.bare_item, BareItem::String(_)) {
                return Err(ParamsError::ComponentNotString { index });
            }
            let id = ComponentIdentifier::from_owned_item(item)
                .map_err(|reason| ParamsError::BadComponent { index, reason })?;
            components.push(id);
        }
        Self::assemble(components, list.params)
    }

    fn assemble(
        components: Vec<ComponentIdentifier>,
        params: Parameters,
    ) -> Result<Self, ParamsError> {
        for (i, c) in components.iter().enumerate() {
            if components.iter().take(i).any(|earlier| earlier == c) {
                return Err(ParamsError::DuplicateComponent(c.as_str().to_owned()));
            }
        }
        let mut created = None;
        let mut expires = None;
        let mut strings: [Option<String>; 4] = [None, None, None, None];
        for (k, v) in &params {
            let name = k.as_str();
            match name {
                "created" | "expires" => {
                    let BareItem::Integer(i) = v else {
                        return Err(bad(name, "must be an integer"));
                    };
                    let t = u64::try_from(i64::from(*i))
                        .map_err(|_| bad(name, "must not be negative"))?;
                    if name == "created" {
                        created = Some(t);
                    } else {
                        expires = Some(t);
                    }
                }
                "keyid" | "alg" | "nonce" | "tag" => {
                    let BareItem::String(v) = v else {
                        return Err(bad(name, "must be a string"));
                    };
                    let slot = match name {
                        "keyid" => 0,
                        "alg" => 1,
                        "nonce" => 2,
                        _ => 3,
                    };
                    if let Some(s) = strings.get_mut(slot) {
                        *s = Some(v.as_str().to_owned());
                    }
                }
                _ => {}
            }
        }
        // The inner list, serialized strictly: the identifiers as they serialize on their own,
        // then the parameters in their order.
        let mut value = String::with_capacity(
            2 + components
                .iter()
                .map(|c| c.as_str().len() + 1)
                .sum::<usize>()
                + 32 * params.len(),
        );
        value.push('(');
        for (i, c) in components.iter().enumerate() {
            if i > 0 {
                value.push(' ');
            }
            value.push_str(c.as_str());
        }
        value.push(')');
        for (k, v) in &params {
            value.push(';');
            value.push_str(k.as_str());
            if !matches!(v, BareItem::Boolean(true)) {
                value.push('=');
                let _ = ItemSerializer::with_buffer(&mut value).bare_item(v);
            }
        }
        let [keyid, alg, nonce, tag] = strings;
        Ok(SignatureParams {
            components,
            value,
            created,
            expires,
            keyid,
            alg,
            nonce,
            tag,
            params: OnceLock::from(params),
        })
    }

    /// Starts building parameters for a new signature.
    pub fn builder() -> SignatureParamsBuilder {
        SignatureParamsBuilder::default()
    }

    /// The covered components, in order.
    pub fn components(&self) -> &[ComponentIdentifier] {
        &self.components
    }

    /// Whether `id` is among the covered components.
    pub fn covers(&self, id: &ComponentIdentifier) -> bool {
        self.components.iter().any(|c| c == id)
    }

    /// Whether the derived component `d`, without parameters, is among the covered components.
    pub fn covers_derived(&self, d: DerivedComponent) -> bool {
        self.components
            .iter()
            .any(|c| c.derived_component() == Some(d) && c.params().is_empty())
    }

    /// All parameters, in the order received (known and unknown).
    pub fn params(&self) -> &Parameters {
        self.params.get_or_init(|| {
            // `value` is a strict serialization of an inner list: it parses.
            match sfv::Parser::new(&self.value).parse::<sfv::List>() {
                Ok(list) => match list.into_iter().next() {
                    Some(ListEntry::InnerList(il)) => il.params,
                    _ => Parameters::new(),
                },
                Err(_) => Parameters::new(),
            }
        })
    }

    /// `created`, seconds since the epoch.
    pub fn created(&self) -> Option<u64> {
        self.created
    }

    /// `expires`, seconds since the epoch.
    pub fn expires(&self) -> Option<u64> {
        self.expires
    }

    /// `keyid`.
    pub fn keyid(&self) -> Option<&str> {
        self.keyid.as_deref()
    }

    /// `alg`, as sent.
    pub fn alg(&self) -> Option<&str> {
        self.alg.as_deref()
    }

    /// `nonce`.
    pub fn nonce(&self) -> Option<&str> {
        self.nonce.as_deref()
    }

    /// `tag`.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The `@signature-params` value: also the `Signature-Input` member value.
    pub fn as_str(&self) -> &str {
        &self.value
    }
}

/// Builds [`SignatureParams`] for signing. Parameters appear in the order they are set.
#[derive(Debug, Default, Clone)]
pub struct SignatureParamsBuilder {
    components: Vec<ComponentIdentifier>,
    params: Parameters,
    error: Option<ParamsError>,
}

impl SignatureParamsBuilder {
    /// Adds a covered component.
    pub fn component(mut self, id: impl Into<ComponentIdentifier>) -> Self {
        self.components.push(id.into());
        self
    }

    /// Adds several covered components.
    pub fn components(mut self, ids: impl IntoIterator<Item = ComponentIdentifier>) -> Self {
        self.components.extend(ids);
        self
    }

    /// Sets `created`.
    pub fn created(self, t: u64) -> Self {
        self.integer("created", t)
    }

    /// Sets `expires`.
    pub fn expires(self, t: u64) -> Self {
        self.integer("expires", t)
    }

    /// Sets `keyid`.
    pub fn keyid(self, keyid: &str) -> Self {
        self.string("keyid", keyid)
    }

    /// Sets `alg`.
    pub fn alg(self, alg: Algorithm) -> Self {
        self.string("alg", alg.name())
    }

    /// Sets `nonce`.
    pub fn nonce(self, nonce: &str) -> Self {
        self.string("nonce", nonce)
    }

    /// Sets `tag`.
    pub fn tag(self, tag: &str) -> Self {
        self.string("tag", tag)
    }

    /// Sets any other parameter.
    pub fn param(mut self, name: &str, value: BareItem) -> Self {
        match Key::from_string(name.to_owned()) {
            Ok(k) => {
                self.params.insert(k, value);
            }
            Err(_) => self.error = Some(bad(name, "is not a valid parameter name")),
        }
        self
    }

    fn integer(self, name: &str, t: u64) -> Self {
        match i64::try_from(t)
            .ok()
            .and_then(|t| Integer::try_from(t).ok())
        {
            Some(i) => self.param(name, BareItem::Integer(i)),
            None => {
                let mut s = self;
                s.error = Some(bad(name, "is out of range"));
                s
            }
        }
    }

    fn string(self, name: &str, value: &str) -> Self {
        match sfv::String::from_string(value.to_owned()) {
            Ok(s) => self.param(name, BareItem::String(s)),
            Err(_) => {
                let mut s = self;
                s.error = Some(bad(name, "must be printable ASCII"));
                s
            }
        }
    }

    /// Checks and returns the parameters.
    pub fn build(self) -> Result<SignatureParams, ParamsError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        if self.components.len() > MAX_COMPONENTS {
            return Err(bad("components", "too many covered components"));
        }
        // Identifiers made with the builder methods get the same checks as received ones
        // (unknown or incompatible parameters, `;req` on `@status`, …).
        for (index, c) in self.components.iter().enumerate() {
            ComponentIdentifier::from_item(&c.to_item())
                .map_err(|reason| ParamsError::BadComponent { index, reason })?;
        }
        SignatureParams::assemble(self.components, self.params)
    }
}
