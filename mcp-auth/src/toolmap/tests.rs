use proptest::prelude::*;

use super::*;
use crate::AuthMode;
use crate::jsonrpc::{Call, PeekLimits, Position, peek};
use crate::scope::Scopes;

fn call(body: &str) -> Call {
    peek(body.as_bytes(), &PeekLimits::default())
        .unwrap()
        .calls()[0]
        .clone()
}

fn shop() -> ToolMap {
    ToolMap::builder()
        .with_mcp_defaults()
        .scope_implies("orders:write", ["orders:read"])
        .tool("catalogue.list", Require::anonymous())
        .tool("inventory.check", Require::api_token(["inventory:read"]))
        .tool(
            "order.history",
            Require::api_token(["orders:read"]).or_oauth(["profile", "orders:read"]),
        )
        .tool(
            "order.intent",
            Require::oauth(["orders:write"]).class("write"),
        )
        .method("initialize", Require::oauth(Vec::<String>::new()))
        .method("notifications/cancelled", Require::api_token(["x"]))
        .method("notifications/tasks/*", Require::api_token(["y"]))
        .method("resources/read", Require::anonymous().or_oauth(["files"]))
        .build()
        .unwrap()
}

#[test]
fn looks_up_tools_methods_patterns_and_responses() {
    let map = shop();
    let tool = |body: &str| map.requirement_for(&call(body));
    let history =
        tool(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"order.history"}}"#)
            .unwrap();
    assert_eq!(
        history.modes().collect::<Vec<_>>(),
        [AuthMode::ApiToken, AuthMode::OAuth]
    );
    assert_eq!(
        history.scopes_for(AuthMode::OAuth).unwrap().to_string(),
        "orders:read profile"
    );
    assert_eq!(history.scopes_for(AuthMode::Anonymous), None);
    assert_eq!(history.all_scopes().to_string(), "orders:read profile");
    assert_eq!(history.rate_limit_class().as_str(), "read");
    assert_eq!(
        tool(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"order.cancel"}}"#),
        Err(Unlisted::UnknownTool)
    );
    // An unknown tool named like a method is still an unknown tool.
    assert_eq!(
        tool(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"ping"}}"#),
        Err(Unlisted::UnknownTool)
    );

    // A declaration replaces its default; other defaults stay.
    let initialize = tool(r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#).unwrap();
    assert_eq!(initialize.modes().collect::<Vec<_>>(), [AuthMode::OAuth]);
    assert!(initialize.scopes_for(AuthMode::OAuth).unwrap().is_empty());
    assert!(
        tool(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#)
            .unwrap()
            .accepts(AuthMode::Anonymous)
    );
    // Exact entry, then the longest pattern, then the default pattern.
    let modes = |method: &str| {
        map.requirement_for_method(method)
            .map(|r| r.all_scopes().to_string())
    };
    assert_eq!(modes("notifications/cancelled").as_deref(), Ok("x"));
    assert_eq!(modes("notifications/tasks/status").as_deref(), Ok("y"));
    assert_eq!(modes("notifications/initialized").as_deref(), Ok(""));
    assert_eq!(
        modes("notifications").as_deref(),
        Err(&Unlisted::UnknownMethod)
    );
    assert_eq!(
        modes("resources/list").as_deref(),
        Err(&Unlisted::UnknownMethod)
    );
    assert_eq!(modes("tools/call"), Err(Unlisted::UnknownTool));
    assert_eq!(
        tool(r#"{"jsonrpc":"2.0","method":"notifications/progress"}"#)
            .unwrap()
            .modes()
            .collect::<Vec<_>>(),
        [AuthMode::Anonymous]
    );
    let read =
        tool(r#"{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"a"}}"#).unwrap();
    assert!(read.accepts(AuthMode::Anonymous) && read.accepts(AuthMode::OAuth));
    assert!(!read.accepts(AuthMode::ApiToken));

    assert!(
        tool(r#"{"jsonrpc":"2.0","id":5,"result":{}}"#)
            .unwrap()
            .accepts(AuthMode::Anonymous)
    );
    assert_eq!(map.requirement_for_get(), Err(Unlisted::Get));
    assert_eq!(map.requirement_for_delete(), Err(Unlisted::Delete));
    assert_eq!(
        map.scopes_supported().to_string(),
        "files inventory:read orders:read orders:write profile x y"
    );
    let mut tools: Vec<&str> = map.tools().map(|(name, _)| name).collect();
    tools.sort_unstable();
    assert_eq!(
        tools,
        [
            "catalogue.list",
            "inventory.check",
            "order.history",
            "order.intent"
        ]
    );
    let write = Scopes::parse("orders:write").unwrap();
    assert!(
        map.hierarchy()
            .satisfies(&write, &Scopes::parse("orders:read").unwrap())
    );
}

#[test]
fn nothing_is_allowed_by_default() {
    let map = ToolMap::builder().build().unwrap();
    for body in [
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize"}"#,
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#,
    ] {
        assert_eq!(
            map.requirement_for(&call(body)),
            Err(Unlisted::UnknownMethod)
        );
    }
    assert_eq!(
        map.requirement_for(&call(r#"{"jsonrpc":"2.0","id":1,"result":{}}"#)),
        Err(Unlisted::Response)
    );
    assert_eq!(Unlisted::UnknownTool.code(), -32602);
    assert_eq!(Unlisted::UnknownMethod.code(), -32601);
    assert_eq!(Unlisted::Response.code(), -32600);
    let served = ToolMap::builder()
        .get(Require::oauth(["s"]))
        .delete(Require::anonymous())
        .responses(Require::api_token(["r"]))
        .build()
        .unwrap();
    assert_eq!(
        served
            .requirement_for_get()
            .unwrap()
            .all_scopes()
            .to_string(),
        "s"
    );
    assert!(
        served
            .requirement_for_delete()
            .unwrap()
            .accepts(AuthMode::Anonymous)
    );
    assert!(
        served
            .requirement_for_response()
            .unwrap()
            .accepts(AuthMode::ApiToken)
    );
}

fn build_error(builder: ToolMapBuilder) -> ToolMapError {
    builder.build().unwrap_err()
}

#[test]
fn builder_errors_name_the_path() {
    let cases: Vec<(ToolMapBuilder, ToolMapErrorKind, &str)> = vec![
        (
            ToolMap::builder().tool("t", Require::default().class("write")),
            ToolMapErrorKind::NoModes,
            r#"tools.t"#,
        ),
        (
            ToolMap::builder().tool("a.b", Require::oauth(["ok", "not ok"])),
            ToolMapErrorKind::InvalidScope {
                scope: "not ok".into(),
            },
            r#"tools."a.b".oauth[1]"#,
        ),
        (
            ToolMap::builder().tool("t", Require::anonymous().class("Write")),
            ToolMapErrorKind::InvalidClass {
                name: "Write".into(),
            },
            "tools.t.class",
        ),
        (
            ToolMap::builder().tool("", Require::anonymous()),
            ToolMapErrorKind::InvalidToolName { name: "".into() },
            r#"tools."""#,
        ),
        (
            ToolMap::builder()
                .tool("t", Require::anonymous())
                .tool("t", Require::oauth(["a"])),
            ToolMapErrorKind::DuplicateTool { name: "t".into() },
            "tools.t",
        ),
        (
            ToolMap::builder()
                .method("ping", Require::anonymous())
                .method("ping", Require::anonymous()),
            ToolMapErrorKind::DuplicateMethod {
                method: "ping".into(),
            },
            "methods.ping",
        ),
        (
            ToolMap::builder().method("tools/call", Require::anonymous()),
            ToolMapErrorKind::ToolsCallAsMethod,
            r#"methods."tools/call""#,
        ),
        (
            ToolMap::builder()
                .scope_implies("a", ["b"])
                .scope_implies("b", ["a"]),
            ToolMapErrorKind::ScopeCycle { scope: "a".into() },
            "scopes.implies.a",
        ),
        (
            ToolMap::builder().scope_implies("a", ["b", "c\\"]),
            ToolMapErrorKind::InvalidScope {
                scope: "c\\".into(),
            },
            "scopes.implies.a[1]",
        ),
        (
            ToolMap::builder().responses(Require::api_token([""])),
            ToolMapErrorKind::InvalidScope { scope: "".into() },
            "responses.api_token[0]",
        ),
    ];
    for (builder, kind, path) in cases {
        let err = build_error(builder);
        assert_eq!(err.kind(), &kind, "{err}");
        assert_eq!(err.path(), path, "{err}");
        assert_eq!(err.position(), None);
    }
    let long = "x".repeat(MAX_NAME_LEN + 1);
    assert!(matches!(
        build_error(ToolMap::builder().tool(&long, Require::anonymous())).kind(),
        ToolMapErrorKind::InvalidToolName { .. }
    ));
    assert!(
        ToolMap::builder()
            .tool(&long[1..], Require::anonymous())
            .build()
            .is_ok()
    );
    for bad in [
        "",
        "*",
        "/*",
        "a*",
        "a/*/b",
        "a/**",
        "a/b*",
        "notifications*",
        &long,
    ] {
        assert!(
            matches!(
                build_error(ToolMap::builder().method(bad, Require::anonymous())).kind(),
                ToolMapErrorKind::InvalidMethod { .. }
            ),
            "{bad:?}"
        );
    }
    let via_try_from = ToolRequirement::try_from(Require::default()).unwrap_err();
    assert_eq!(via_try_from.kind(), &ToolMapErrorKind::NoModes);
    assert_eq!(
        via_try_from.to_string(),
        "no authentication mode accepted (give anonymous, api_token or oauth)"
    );
}

const SHOP_TOML: &str = r#"mcp_defaults = true

[scopes]
implies = { "orders:write" = ["orders:read"] }

[tools."catalogue.list"]
anonymous = true

[tools."inventory.check"]
api_token = ["inventory:read"]

[tools."order.status"]
oauth = ["orders:read"]

[tools."order.intent"]
oauth = ["orders:write"]
class = "write"
"#;

#[test]
fn toml_and_json_forms_agree() {
    let toml = ToolMap::from_toml_str(SHOP_TOML).unwrap();
    let json = ToolMap::from_json_str(
        r#"{"mcp_defaults": true,
            "scopes": {"implies": {"orders:write": ["orders:read"]}},
            "tools": {
              "catalogue.list": {"anonymous": true},
              "inventory.check": {"api_token": ["inventory:read"]},
              "order.status": {"oauth": ["orders:read"]},
              "order.intent": {"oauth": ["orders:write"], "class": "write"}
            }}"#,
    )
    .unwrap();
    for map in [&toml, &json] {
        for (name, modes, scopes, class) in [
            ("catalogue.list", vec![AuthMode::Anonymous], "", "read"),
            (
                "inventory.check",
                vec![AuthMode::ApiToken],
                "inventory:read",
                "read",
            ),
            ("order.status", vec![AuthMode::OAuth], "orders:read", "read"),
            (
                "order.intent",
                vec![AuthMode::OAuth],
                "orders:write",
                "write",
            ),
        ] {
            let r = map.requirement_for_tool(name).unwrap();
            assert_eq!(r.modes().collect::<Vec<_>>(), modes, "{name}");
            assert_eq!(r.all_scopes().to_string(), scopes, "{name}");
            assert_eq!(r.rate_limit_class().as_str(), class, "{name}");
        }
        assert!(map.requirement_for_method("ping").is_ok());
        assert!(map.hierarchy().satisfies(
            &Scopes::parse("orders:write").unwrap(),
            &Scopes::parse("orders:read").unwrap()
        ));
    }
    let minimal = ToolMap::from_toml_str("").unwrap();
    assert_eq!(
        minimal.requirement_for_method("ping"),
        Err(Unlisted::UnknownMethod)
    );
    let off = ToolMap::from_toml_str("[tools.t]\nanonymous = false\noauth = []\n").unwrap();
    assert_eq!(
        off.requirement_for_tool("t")
            .unwrap()
            .modes()
            .collect::<Vec<_>>(),
        [AuthMode::OAuth]
    );
}

fn toml_error(src: &str) -> ToolMapError {
    ToolMap::from_toml_str(src).unwrap_err()
}

#[test]
fn toml_errors_carry_line_and_column() {
    let at = |line, column| Some(Position { line, column });

    let err = toml_error("[tools.a]\noauth = [\"orders:read\", \"bad scope\"]\n");
    assert_eq!(
        err.kind(),
        &ToolMapErrorKind::InvalidScope {
            scope: "bad scope".into()
        }
    );
    assert_eq!(err.path(), "tools.a.oauth[1]");
    assert_eq!(err.position(), at(2, 25));
    assert_eq!(
        err.to_string(),
        r#"line 2, column 25: tools.a.oauth[1]: invalid scope "bad scope""#
    );

    let err = toml_error("[tools.\"a.b\"]\nanonymous = [\"x\"]\n");
    assert_eq!(err.kind(), &ToolMapErrorKind::AnonymousWithScopes);
    assert_eq!(err.position(), at(2, 13));

    let err = toml_error("[tools.a]\nanonymous = true\nclass = \"Very Fast\"\n");
    assert_eq!(
        err.kind(),
        &ToolMapErrorKind::InvalidClass {
            name: "Very Fast".into()
        }
    );
    assert_eq!(err.position(), at(3, 9));

    let err = toml_error("[methods]\nping = { anonymous = true }\n\"x*\" = { anonymous = true }\n");
    assert!(matches!(err.kind(), ToolMapErrorKind::InvalidMethod { .. }));
    assert_eq!(err.position().map(|p| p.line), Some(3));

    let err = toml_error("[tools.a]\nclass = \"write\"\n");
    assert_eq!(err.kind(), &ToolMapErrorKind::NoModes);
    assert_eq!(err.position().map(|p| p.line), Some(1));

    let err = toml_error("[scopes]\nimplies = { a = [\"b\"], b = [\"a\"] }\n");
    assert!(matches!(err.kind(), ToolMapErrorKind::ScopeCycle { .. }));
    assert_eq!(err.position().map(|p| p.line), Some(2));

    // Shape errors come from the TOML parser, with its span.
    for (src, line) in [
        ("[tools.a]\nanonymous = true\nscopes = [\"x\"]\n", 3),
        ("mcp_defaults = true\nmcp_default = true\n", 2),
        ("[tools.a]\noauth = \"orders:read\"\n", 2),
        ("[tools.a]\nanonymous = 1\n", 2),
        ("[tools.a]\nanonymous = true\n[tools.a]\noauth = []\n", 3),
        ("[tools.a]\nanonymous = true\n[tools.\"a\"]\n", 3),
        (
            "[tools]\na = { anonymous = true }\na = { anonymous = true }\n",
            3,
        ),
        ("[tools.a\n", 1),
    ] {
        let err = toml_error(src);
        assert!(
            matches!(err.kind(), ToolMapErrorKind::Syntax { .. }),
            "{src}: {err}"
        );
        assert_eq!(err.position().map(|p| p.line), Some(line), "{src}: {err}");
        assert_eq!(err.path(), "");
    }
}

#[test]
fn json_duplicates_and_unknown_keys_are_refused() {
    for src in [
        r#"{"tools": {"a": {"anonymous": true}, "a": {"oauth": []}}}"#,
        r#"{"methods": {"ping": {"anonymous": true}, "ping": {"anonymous": true}}}"#,
        r#"{"tools": {"a": {"anonymous": true, "anonymous": false}}}"#,
        r#"{"tools": {}, "tools": {}}"#,
        r#"{"tools": {"a": {"anonymous": true, "scope": []}}}"#,
        r#"{"tool": {}}"#,
        r#"{"tools": []}"#,
        r#"{"tools": {"a": {"anonymous": true}}"#,
    ] {
        let err = ToolMap::from_json_str(src).unwrap_err();
        assert!(
            matches!(err.kind(), ToolMapErrorKind::Syntax { .. }),
            "{src}: {err}"
        );
        assert!(err.position().is_some(), "{src}: {err}");
        assert!(!err.to_string().contains(" at line "), "{err}");
    }
    let err = ToolMap::from_json_str(r#"{"tools": {"a": {"oauth": ["é"]}}}"#).unwrap_err();
    assert_eq!(err.path(), "tools.a.oauth[0]");
    assert_eq!(err.position(), None);
}

proptest! {
    #[test]
    fn toml_loading_never_panics(src in "[\\[\\]a-z_.=\"{}, \n0-9:*/]{0,80}") {
        if let Err(err) = ToolMap::from_toml_str(&src)
            && let Some(at) = err.position()
        {
            prop_assert!(at.line >= 1 && at.line <= src.lines().count().max(1) + 1);
        }
    }

    #[test]
    fn every_declared_tool_is_found_and_no_other(
        tools in prop::collection::btree_map("[a-z][a-z0-9_.-]{0,20}", (any::<bool>(), prop::collection::vec("[a-z]{1,5}(:[a-z]{1,5})?", 0..3)), 1..8),
        probe in "[a-z][a-z0-9_.-]{0,20}",
    ) {
        let mut builder = ToolMap::builder();
        for (name, (anonymous, scopes)) in &tools {
            let require = if *anonymous {
                Require::anonymous().or_oauth(scopes)
            } else {
                Require::oauth(scopes)
            };
            builder = builder.tool(name, require);
        }
        let map = builder.build().unwrap();
        for (name, (anonymous, scopes)) in &tools {
            let r = map.requirement_for_tool(name).unwrap();
            prop_assert_eq!(r.accepts(AuthMode::Anonymous), *anonymous);
            prop_assert_eq!(r.scopes_for(AuthMode::OAuth), Some(&Scopes::from_strs(scopes).unwrap()));
        }
        prop_assert_eq!(map.requirement_for_tool(&probe).is_ok(), tools.contains_key(&probe));
    }
}
