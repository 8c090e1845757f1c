//! Fuzz target: the HTTP/1.1 message parser must never panic, whatever the input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = web_bot_auth::http1::parse(data, &web_bot_auth::http1::Http1Limits::default());
});
