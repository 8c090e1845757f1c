//! Presets: rule sets shipped with the crate, included by name (`include = ["baseline"]`). Their
//! text is in the crate's `presets/` directory.

/// The presets: name and TOML text.
pub const PRESETS: &[(&str, &str)] = &[
    ("baseline", include_str!("../../presets/baseline.toml")),
    (
        "mcp-passthrough",
        include_str!("../../presets/mcp-passthrough.toml"),
    ),
];

pub(crate) fn preset(name: &str) -> Option<(&'static str, &'static str)> {
    PRESETS.iter().find(|(n, _)| *n == name).copied()
}
